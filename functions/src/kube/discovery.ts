/**
 * Every resource type the API server serves, in two requests, without waiting on an aggregated API
 * that does not answer: aggregated discovery (`/api` and `/apis` as
 * `apidiscovery.k8s.io/v2 APIGroupDiscoveryList`, Kubernetes 1.30+) lists every group, version and
 * resource at once, and marks a version whose APIService is not available as `Stale` (metrics-server
 * before it is ready, a webhook-backed API whose pods are gone). Those are named, never waited for.
 *
 * A server without aggregated discovery is asked the classic way — `/apis`, then each group's
 * preferred version — each request answered at once, without the client's retries of 503s, and a
 * version that fails is named unavailable like a stale one.
 */
import type { KubeClient } from './api-client';
import type { ApiResource } from './types';

/** What discovery found: the resource types, in kubectl's order of preference, and what did not answer. */
export interface Discovery {
  /** Core first, then each group in the server's priority order, its preferred version first. */
  resources: ApiResource[];
  /** Group/versions that did not answer (`metrics.k8s.io/v1beta1`), with why when known. */
  unavailable: Array<{ groupVersion: string; reason: string }>;
}

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

interface DiscoveryResource {
  resource: string;
  singularResource?: string;
  scope?: 'Namespaced' | 'Cluster';
  responseKind?: { kind?: string };
  verbs?: string[];
  shortNames?: string[];
}
interface GroupDiscoveryList {
  kind?: string;
  items?: Array<{
    metadata?: { name?: string };
    versions?: Array<{ version: string; freshness?: string; resources?: DiscoveryResource[] }>;
  }>;
}

function fromAggregated(list: GroupDiscoveryList, out: Discovery): void {
  for (const group of list.items ?? []) {
    const name = group.metadata?.name ?? '';
    for (const v of group.versions ?? []) {
      const groupVersion = name ? `${name}/${v.version}` : v.version;
      if (v.freshness === 'Stale') {
        out.unavailable.push({ groupVersion, reason: 'its API service is not available (discovery is stale)' });
        continue;
      }
      for (const r of v.resources ?? []) {
        if (!r.resource || r.resource.includes('/') || !r.responseKind?.kind) continue;
        out.resources.push({
          name: r.resource,
          singularName: r.singularResource || r.responseKind.kind.toLowerCase(),
          kind: r.responseKind.kind,
          group: name,
          version: v.version,
          namespaced: r.scope === 'Namespaced',
          verbs: r.verbs ?? [],
          shortNames: r.shortNames ?? [],
        });
      }
    }
  }
}

/** The classic walk, for servers without aggregated discovery: preferred versions only, no retries. */
async function classic(client: KubeClient, signal?: AbortSignal): Promise<Discovery> {
  const out: Discovery = { resources: [], unavailable: [] };
  const groups = await client.request<{ groups?: Array<{ preferredVersion?: { groupVersion?: string } }> }>(
    'GET',
    '/apis',
    { signal },
  );
  const versions = [
    'v1',
    ...(groups.groups ?? []).map((g) => g.preferredVersion?.groupVersion).filter((v): v is string => !!v),
  ];
  const lists = await Promise.all(
    versions.map(async (gv) => {
      try {
        const list = await client.request<{
          resources?: Array<Partial<ApiResource> & { namespaced?: boolean }>;
        }>('GET', gv === 'v1' ? '/api/v1' : `/apis/${gv}`, { signal, retryErrorStatus: false });
        return { gv, list };
      } catch (error) {
        signal?.throwIfAborted();
        if (gv === 'v1') throw error;
        return { gv, error };
      }
    }),
  );
  for (const { gv, list, error } of lists as Array<{
    gv: string;
    list?: { resources?: Array<Partial<ApiResource>> };
    error?: unknown;
  }>) {
    if (!list) {
      out.unavailable.push({ groupVersion: gv, reason: (error as Error)?.message ?? String(error) });
      continue;
    }
    const [group, version] = gv.includes('/') ? (gv.split('/', 2) as [string, string]) : ['', gv];
    for (const r of list.resources ?? []) {
      if (!r.name || r.name.includes('/') || !r.kind) continue;
      out.resources.push({
        name: r.name,
        singularName: r.singularName || r.kind.toLowerCase(),
        kind: r.kind,
        group,
        version,
        namespaced: !!r.namespaced,
        verbs: r.verbs ?? [],
        shortNames: r.shortNames ?? [],
      });
    }
  }
  return out;
}

/**
 * Discovers every resource type the server serves; an aggregated API that does not answer is
 * listed in `unavailable`, not waited for.
 *
 * @example
 * const { resources, unavailable } = await discoverAll(client, ctx.signal);
 */
export async function discoverAll(client: KubeClient, signal?: AbortSignal): Promise<Discovery> {
  const ask = (path: string) =>
    // Served by the API server itself, never by an aggregated API: its retries of throttling apply.
    client.request<GroupDiscoveryList>('GET', path, { accept: AGGREGATED, signal });
  const [core, groups] = await Promise.all([ask('/api'), ask('/apis')]);
  if (core.kind !== 'APIGroupDiscoveryList' || groups.kind !== 'APIGroupDiscoveryList') return classic(client, signal);
  const out: Discovery = { resources: [], unavailable: [] };
  fromAggregated(core, out);
  fromAggregated(groups, out);
  return out;
}
