/**
 * Which resource type the `Object` property names, resolved through the cluster's discovery the way
 * kubectl resolves `kind/name`.
 */
import { discoverAll, type ApiResource, type KubeClient } from '../../kube';
import { ResourceError } from '../../runtime';
import type { ObjectRef } from './schema';

/** `service/jenkins` as the property reads, or `v1 Service jenkins` for a map. */
export const describeRef = (ref: ObjectRef) =>
  'resource' in ref ? `${ref.resource}/${ref.name}` : `${ref.apiVersion} ${ref.kind} ${ref.name}`;

/**
 * The resource type `kind/name` names, as kubectl resolves it: plural, singular, short name or
 * kind, case-insensitive, optionally with `.group` or `.version.group`; the core group first, then
 * each group in the server's order, its preferred version first. Discovery never waits on an
 * aggregated API that does not answer (see kube/discovery.ts) unless the name asks for its group.
 */
async function resourceForName(
  client: KubeClient,
  spec: string,
  signal: AbortSignal,
): Promise<{ resource?: ApiResource; unavailable: string[] }> {
  const [head, ...rest] = spec.split('.');
  const wanted = head!.toLowerCase();
  let group = rest.join('.');
  let version: string | undefined;
  if (rest.length >= 2 && /^v\d+((alpha|beta)\d+)?$/.test(rest[0]!)) {
    version = rest[0];
    group = rest.slice(1).join('.');
  }
  const matches = (r: ApiResource) =>
    (r.name === wanted ||
      r.singularName === wanted ||
      r.shortNames.includes(wanted) ||
      r.kind.toLowerCase() === wanted) &&
    (!rest.length || r.group === group) &&
    (!version || r.version === version);
  const { resources, unavailable } = await discoverAll(client, signal);
  const found = resources.find(matches);
  if (found) return { resource: found, unavailable: [] };
  // The group asked for did not answer discovery: ask it directly, with the client's retries.
  const asked = unavailable.filter((u) => rest.length > 0 && u.groupVersion.startsWith(`${group}/`));
  for (const u of asked) {
    if (version && u.groupVersion !== `${group}/${version}`) continue;
    const list = await client.resources(u.groupVersion, { signal, refresh: true });
    const direct = list?.find(matches);
    if (direct) return { resource: direct, unavailable: [] };
  }
  return { unavailable: unavailable.map((u) => `${u.groupVersion} (${u.reason})`) };
}

export async function resolve(client: KubeClient, ref: ObjectRef, signal: AbortSignal): Promise<ApiResource> {
  let unavailable: string[] = [];
  let resource: ApiResource | undefined;
  if ('resource' in ref) ({ resource, unavailable } = await resourceForName(client, ref.resource, signal));
  else resource = await client.resourceFor(ref.apiVersion, ref.kind, { signal });
  if (!resource) {
    const what = 'resource' in ref ? `resource type ${ref.resource}` : `kind ${ref.kind} in ${ref.apiVersion}`;
    const notAnswering = unavailable.length
      ? `; these APIs did not answer discovery, so it may be one of theirs: ${unavailable.join(', ')}`
      : '';
    throw new ResourceError(`Object (${describeRef(ref)}): the API server does not know ${what}${notAnswering}`);
  }
  return resource;
}
