// What a control plane holds, listed through its API as a cluster admin: every object of every kind
// the server can list (discovery: /api, /apis, each group's preferred version), metadata only. The
// local cloud takes one when an EKS cluster's control plane is up and one when the cluster is
// deleted, so `npm start` and the tests can say what a stack left in its cluster after the control
// plane is gone. Direct API calls, not kubectl: a whole inventory is a few dozen list calls.
import { api } from './cluster';

/** An API server as an admin reaches it. */
export interface AdminAccess {
  server: string;
  /** PEM. */
  caData: string;
  token: string;
}

/** What a cluster held at one moment. */
export interface ClusterInventory {
  /**
   * `resource.group/namespace/name` of every object of every listable kind (the names of `kubectl
   * api-resources --verbs=list -o name`; core kinds without a group); events left out unless asked for.
   */
  api: Set<string>;
  /** `Kind/namespace/name` of the kinds a stack usually leaves behind ({@link objectKinds}). */
  objects: Set<string>;
  /** Kinds whose list failed (an APIService that is not available), with the server's answer. */
  unlistable: string[];
  /** Objects being deleted, or whose owner is gone: the garbage collector's work still to do. */
  settling: string[];
}

/** The kinds of {@link ClusterInventory.objects}, as `resource.group`. */
export const objectKinds = [
  'namespaces',
  'nodes',
  'deployments.apps',
  'statefulsets.apps',
  'daemonsets.apps',
  'jobs.batch',
  'services',
  'persistentvolumeclaims',
  'persistentvolumes',
  'storageclasses.storage.k8s.io',
  'secrets',
  'configmaps',
  'serviceaccounts',
  'customresourcedefinitions.apiextensions.k8s.io',
  'clusterroles.rbac.authorization.k8s.io',
  'clusterrolebindings.rbac.authorization.k8s.io',
  'roles.rbac.authorization.k8s.io',
  'rolebindings.rbac.authorization.k8s.io',
  'ingressclasses.networking.k8s.io',
  'mutatingwebhookconfigurations.admissionregistration.k8s.io',
  'validatingwebhookconfigurations.admissionregistration.k8s.io',
] as const;

/** What comes and goes on its own while nothing changes. */
const volatileKinds = new Set(['events', 'events.events.k8s.io']);

/** Metadata only: secrets and config maps can be large, and only names are wanted. */
const metadataOnly = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

interface Resource {
  name: string;
  kind: string;
  verbs: string[];
}

interface Meta {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    deletionTimestamp?: string;
    ownerReferences?: Array<{ uid: string; kind: string; name: string }>;
  };
}

/** Every kind the server can list, as `resource.group` with its list path and Kind. */
async function listableKinds(
  get: (path: string) => Promise<{ status: number; text: string }>,
): Promise<Array<{ name: string; kind: string; path: string }>> {
  const versions: Array<{ group: string; base: string }> = [{ group: '', base: '/api/v1' }];
  const groups = await get('/apis');
  if (groups.status !== 200) throw new Error(`GET /apis answered ${groups.status}: ${groups.text.slice(0, 200)}`);
  for (const g of (
    JSON.parse(groups.text) as { groups: Array<{ name: string; preferredVersion: { version: string } }> }
  ).groups)
    versions.push({ group: g.name, base: `/apis/${g.name}/${g.preferredVersion.version}` });
  const kinds = await Promise.all(
    versions.map(async ({ group, base }) => {
      const res = await get(base);
      // A group whose discovery fails (an aggregated API that is not available) is left out, as
      // kubectl api-resources leaves it out.
      if (res.status !== 200) return [];
      return (JSON.parse(res.text) as { resources: Resource[] }).resources
        .filter((r) => !r.name.includes('/') && r.verbs.includes('list'))
        .map((r) => ({ name: group ? `${r.name}.${group}` : r.name, kind: r.kind, path: `${base}/${r.name}` }));
    }),
  );
  return kinds.flat();
}

/**
 * Lists what the cluster holds now.
 *
 * @example
 * const { objects } = await takeInventory(cluster);
 */
export async function takeInventory(access: AdminAccess, opts: { volatile?: boolean } = {}): Promise<ClusterInventory> {
  const get = (path: string, accept?: string) =>
    api(access.server, access.caData, access.token, 'GET', path, undefined, {
      timeoutMs: 30_000,
      ...(accept ? { accept } : {}),
    });
  const kinds = (await listableKinds(get)).filter((k) => opts.volatile || !volatileKinds.has(k.name));
  const wantedObjects = new Set<string>(objectKinds);
  const inventory: ClusterInventory = { api: new Set(), objects: new Set(), unlistable: [], settling: [] };
  const uids = new Set<string>();
  const owned: Array<{ id: string; owners: string[] }> = [];
  await Promise.all(
    kinds.map(async (k) => {
      let res = await get(k.path, metadataOnly);
      // An aggregated API may not serve metadata-only lists.
      if (res.status === 406) res = await get(k.path);
      // A kind discovery still named a moment ago but gone now (its CRD deleted since): nothing to list.
      if (res.status === 404) return;
      if (res.status !== 200) {
        inventory.unlistable.push(`${k.name}: ${res.status} ${res.text.slice(0, 200)}`);
        inventory.api.add(`${k.name}/!unlistable: ${res.status}`);
        return;
      }
      for (const item of (JSON.parse(res.text) as { items: Meta[] | null }).items ?? []) {
        const m = item.metadata;
        const id = `${k.name}/${m.namespace ?? ''}/${m.name}`;
        inventory.api.add(id);
        if (wantedObjects.has(k.name)) inventory.objects.add(`${k.kind}/${m.namespace ?? ''}/${m.name}`);
        if (m.uid) uids.add(m.uid);
        if (m.deletionTimestamp) inventory.settling.push(`${id} (being deleted)`);
        else if (m.ownerReferences?.length) owned.push({ id, owners: m.ownerReferences.map((o) => o.uid) });
      }
    }),
  );
  // An object all of whose owners are gone is the garbage collector's to delete.
  for (const o of owned) if (!o.owners.some((uid) => uids.has(uid))) inventory.settling.push(`${o.id} (owner gone)`);
  inventory.unlistable.sort();
  inventory.settling.sort();
  return inventory;
}

/**
 * Whether a fresh control plane has done what its controllers do at start: every namespace has its
 * `default` service account and its `kube-root-ca.crt` config map.
 */
export function controllersCaughtUp(inventory: ClusterInventory): boolean {
  const namespaces = [...inventory.api].filter((o) => o.startsWith('namespaces//')).map((o) => o.slice(12));
  return namespaces.every(
    (ns) =>
      inventory.api.has(`serviceaccounts/${ns}/default`) && inventory.api.has(`configmaps/${ns}/kube-root-ca.crt`),
  );
}

/**
 * An inventory once the cluster has settled: nothing but pods being deleted or waiting for the
 * garbage collector, and `ready` true; after `timeoutMs` (default 15 s), whatever it holds then.
 * Pods are not waited for, and those being deleted or whose owner is gone are left out of `api`
 * (still listed in `settling`): a pod whose node went with its node group waits for the pod garbage
 * collector's 40 s quarantine, and goes on its own.
 */
export async function takeSettledInventory(
  access: AdminAccess,
  opts: { timeoutMs?: number; ready?: (inventory: ClusterInventory) => boolean } = {},
): Promise<ClusterInventory> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const inventory = await takeInventory(access);
    const waiting = inventory.settling.filter((o) => !o.startsWith('pods/'));
    if ((!waiting.length && (opts.ready?.(inventory) ?? true)) || Date.now() > deadline) {
      for (const o of inventory.settling) if (o.startsWith('pods/')) inventory.api.delete(o.replace(/ \(.*\)$/, ''));
      return inventory;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
