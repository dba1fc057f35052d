/**
 * The apply engine: server-side apply of many objects at once (a bounded pool of concurrent
 * requests over one warm client), readiness waits, and deletion that waits until objects are gone.
 * The caller decides the order (dependency levels, see objects.ts) and the time budget.
 */
import type { KubeClient } from './api-client';
import { KubeApiError, ManifestError } from './errors';
import { describeObject, type ManifestObject } from './objects';
import { needsReadinessCheck, readinessOf } from './readiness';
import type { KubeObject } from './types';

/** The field manager kubecfn applies as (`kubectl get -o yaml --show-managed-fields` shows it). */
export const FIELD_MANAGER = 'kubecfn';

/**
 * Annotation naming the resource that manages an object. A prune or delete leaves an object alone
 * when another resource has applied it since (an object moved from one manifest to another).
 */
export const OWNER_ANNOTATION = 'kubecfn.io/owner';

/** Concurrent requests per batch: enough to hide latency, few enough not to swamp an API server. */
export const DEFAULT_CONCURRENCY = 16;

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; resolves when all have settled, with
 * each result or error in input order.
 *
 * @example
 * const results = await mapPool(objects, 16, (o) => applyObject(client, o));
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The first failure (in input order) as an error naming its object; others counted after it. */
function throwFirstFailure(
  objects: readonly ManifestObject[],
  results: readonly PromiseSettledResult<unknown>[],
  what: string,
): void {
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ o: objects[i]!, error: r.reason as unknown }] : [],
  );
  if (failures.length === 0) return;
  const [{ o, error }] = failures as [{ o: ManifestObject; error: unknown }];
  if (!(error instanceof KubeApiError)) throw error;
  const more =
    failures.length > 1 ? ` (and ${failures.length - 1} more object${failures.length > 2 ? 's' : ''} failed)` : '';
  throw new ManifestError(
    `${o.source} (${describeObject(o)}): the API server ${what}: ${error.apiMessage}${more}`,
    failures.map((f) => f.o),
  );
}

export interface ApplyOptions {
  /** Written into every object's {@link OWNER_ANNOTATION}. */
  owner?: string;
  /** Validate only (`dryRun=All`): admission, schema and immutable fields are checked, nothing is stored. */
  dryRun?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
}

/** The body sent for an object: as written, plus the owner annotation. */
function applyBody(o: ManifestObject, owner: string | undefined): KubeObject {
  if (!owner) return o.body;
  return {
    ...o.body,
    metadata: { ...o.body.metadata, annotations: { ...o.body.metadata.annotations, [OWNER_ANNOTATION]: owner } },
  };
}

/**
 * Server-side applies each object (PATCH `application/apply-patch+yaml`, field manager
 * {@link FIELD_MANAGER}, `force=true`, strict field validation), all concurrently within the pool.
 * Every object must have been resolved (its `resource` known).
 *
 * @throws ManifestError naming the first object the API server rejected, with its message.
 * @example
 * await applyObjects(client, objects.filter((o) => o.level === Level.Foundation), { owner });
 */
export async function applyObjects(
  client: KubeClient,
  objects: readonly ManifestObject[],
  options: ApplyOptions = {},
): Promise<void> {
  const results = await mapPool(objects, options.concurrency ?? DEFAULT_CONCURRENCY, async (o) => {
    if (!o.resource) throw new Error(`${o.source}: kind ${o.kind} was not resolved before the apply`);
    await client.request('PATCH', client.objectPath(o.resource, o.name, o.namespace), {
      query: {
        fieldManager: FIELD_MANAGER,
        force: true,
        fieldValidation: 'Strict',
        ...(options.dryRun ? { dryRun: 'All' } : {}),
      },
      // JSON is YAML: the apply-patch content type takes it as is.
      contentType: 'application/apply-patch+yaml',
      body: applyBody(o, options.owner),
      signal: options.signal,
    });
  });
  if (options.dryRun) {
    // Objects whose namespace or kind is created by the same manifest cannot be checked yet, nor
    // can objects an admission webhook without dry-run support would see.
    const uncheckable = (e: unknown) =>
      e instanceof KubeApiError && (e.status === 404 || /does not support dry run/i.test(e.apiMessage));
    const relevant = results.map((r) =>
      r.status === 'rejected' && uncheckable(r.reason) ? ({ status: 'fulfilled', value: undefined } as const) : r,
    );
    return throwFirstFailure(objects, relevant, 'rejected it (checked before changing anything)');
  }
  throwFirstFailure(objects, results, 'rejected it');
}

/** What {@link readinessOfObjects} found for the objects that are not ready yet. */
export interface NotReady {
  object: ManifestObject;
  waitingFor: string;
}

/**
 * Reads back the objects whose kind has a readiness rule and returns those not ready yet.
 *
 * @throws ManifestError when an object has failed for good (a failed Job, a stuck rollout).
 * @example
 * const waiting = await readinessOfObjects(client, objects);
 * for (const w of waiting) console.log(`${w.object.source} is waiting for ${w.waitingFor}`);
 */
export async function readinessOfObjects(
  client: KubeClient,
  objects: readonly ManifestObject[],
  options: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<NotReady[]> {
  const checked = objects.filter((o) => o.resource && needsReadinessCheck(o.group, o.kind, o.body));
  const results = await mapPool(checked, options.concurrency ?? DEFAULT_CONCURRENCY, async (o) => {
    const live = await client.getOrUndefined(client.objectPath(o.resource!, o.name, o.namespace), options.signal);
    if (!live) return { object: o, waitingFor: 'the object to exist (it was deleted after the apply)' };
    const r = await readinessOf(o.group, o.kind, live, client, options.signal);
    if (r.state === 'failed') throw new ManifestError(`${o.source} (${describeObject(o)}): ${r.reason}`);
    return r.state === 'waiting' ? { object: o, waitingFor: r.waitingFor } : undefined;
  });
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
}

/** The state of an object being deleted. */
export type DeleteState =
  /** Not there (any more). */
  | { state: 'gone' }
  /** Applied since by another resource (its owner annotation names that one): left alone. */
  | { state: 'kept'; owner: string }
  /** Deletion requested; still there, e.g. held by finalizers or waiting for its dependents. */
  | { state: 'deleting'; uid?: string; finalizers: string[] };

/** Kinds whose objects own pods, directly or through ReplicaSets. */
const WORKLOADS = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'apps/ReplicaSet',
  'batch/Job',
  'batch/CronJob',
  '/ReplicationController',
]);

/**
 * How a deletion cascades, chosen per kind.
 *
 * Foreground for workloads: the object disappears only after the garbage collector has deleted
 * its dependents (a Deployment's ReplicaSets and Pods), so "gone" means the pods are gone too and
 * the next step of a stack delete (the node group, the load balancer controller, the VPC) never
 * races pods still terminating and holding ENIs or volumes.
 *
 * Background for everything else: those objects rarely own anything, and a foreground deletion
 * waits for the garbage collector to know the object's type — for a custom resource whose CRD was
 * created moments ago that is the collector's next discovery resync, up to half a minute later.
 *
 * @example
 * propagationPolicyFor('apps', 'Deployment'); // 'Foreground'
 */
export function propagationPolicyFor(group: string, kind: string): 'Foreground' | 'Background' {
  return WORKLOADS.has(`${group}/${kind}`) ? 'Foreground' : 'Background';
}

/**
 * Requests the deletion of an object (unless another resource owns it now) and reports its state.
 * Safe to call again for an object already being deleted.
 *
 * @example
 * const s = await deleteObject(client, o, { owner });
 */
export async function deleteObject(
  client: KubeClient,
  o: ManifestObject,
  options: { owner?: string; signal?: AbortSignal } = {},
): Promise<DeleteState> {
  if (!o.resource) return { state: 'gone' };
  const path = client.objectPath(o.resource, o.name, o.namespace);
  const live = await client.getOrUndefined(path, options.signal);
  if (!live) return { state: 'gone' };
  const owner = live.metadata.annotations?.[OWNER_ANNOTATION];
  if (options.owner && owner && owner !== options.owner) return { state: 'kept', owner };
  const finalizers = live.metadata.finalizers ?? [];
  if (live.metadata.deletionTimestamp) return { state: 'deleting', uid: live.metadata.uid, finalizers };
  try {
    const after = await client.request<KubeObject | { kind: 'Status' }>('DELETE', path, {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: propagationPolicyFor(o.group, o.kind),
        ...(live.metadata.uid ? { preconditions: { uid: live.metadata.uid } } : {}),
      },
      signal: options.signal,
    });
    // The answer is a Status, or the object's last state: with a deletionTimestamp it still exists
    // (finalizers, a namespace's content, dependents), without one it is gone already.
    if (after.kind === 'Status' || !(after as KubeObject).metadata?.deletionTimestamp) return { state: 'gone' };
    return { state: 'deleting', uid: live.metadata.uid, finalizers: (after as KubeObject).metadata.finalizers ?? [] };
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return { state: 'gone' };
    // 409 on the uid precondition: a new object of that name replaced the one we read; it is not ours to delete.
    if (error instanceof KubeApiError && error.status === 409) return { state: 'gone' };
    throw error;
  }
}

/**
 * Reads whether an object being deleted is gone yet (a new object with another uid counts as gone).
 *
 * @example
 * const s = await deletionState(client, o, uid); // { state: 'gone' } once it has disappeared
 */
export async function deletionState(
  client: KubeClient,
  o: ManifestObject,
  uid: string | undefined,
  signal?: AbortSignal,
): Promise<DeleteState> {
  if (!o.resource) return { state: 'gone' };
  const live = await client.getOrUndefined(client.objectPath(o.resource, o.name, o.namespace), signal);
  if (!live || (uid && live.metadata.uid !== uid)) return { state: 'gone' };
  return { state: 'deleting', uid: live.metadata.uid, finalizers: live.metadata.finalizers ?? [] };
}

/**
 * Deletes the objects (concurrently) and returns those still being deleted.
 *
 * @throws ManifestError naming the first object the API server refused to delete.
 * @example
 * const left = (await deleteObjects(client, batch, { owner })).filter((r) => r.state.state === 'deleting');
 */
export async function deleteObjects(
  client: KubeClient,
  objects: readonly ManifestObject[],
  options: { owner?: string; concurrency?: number; signal?: AbortSignal } = {},
): Promise<Array<{ object: ManifestObject; state: DeleteState }>> {
  const results = await mapPool(objects, options.concurrency ?? DEFAULT_CONCURRENCY, (o) =>
    deleteObject(client, o, options),
  );
  throwFirstFailure(objects, results, 'refused to delete it');
  return results.map((r, i) => ({ object: objects[i]!, state: (r as PromiseFulfilledResult<DeleteState>).value }));
}
