/**
 * The apply engine: server-side apply of many objects at once (a bounded pool of concurrent
 * requests over one warm client), readiness waits, and deletion that waits until objects are gone.
 * The caller decides the order (dependency levels, see objects.ts) and the time budget.
 *
 * Ownership is the rule: an object is the resource's when it carries the resource's owner
 * annotation, written only when the resource created the object (it did not exist) or adopted it
 * (`adopt`). Only such objects are ever deleted, with uid and resourceVersion preconditions. An
 * object that existed before is shared: the resource applies its own fields to it under its own
 * field manager without force, so a change to a field another manager set is refused (naming that
 * manager), and on delete the resource only withdraws its fields.
 */
import { createHash } from 'node:crypto';
import type { KubeClient } from './api-client';
import { KubeApiError, ManifestError } from './errors';
import { describeObject, type ManifestObject } from './objects';
import { needsReadinessCheck, readinessOf } from './readiness';
import type { KubeObject } from './types';

/**
 * The field manager of earlier kubecfn versions, shared by every resource, and the default for a
 * caller that names none. Each resource now applies as its own (see {@link fieldManagerFor}).
 */
export const FIELD_MANAGER = 'kubecfn';

/** Kubernetes refuses field managers longer than this. */
export const MAX_FIELD_MANAGER = 128;

/**
 * The field manager of one resource: `kubecfn/<stack name>/<logical id>`, so that two resources
 * that set different fields of one object keep each other's (`kubectl get -o yaml
 * --show-managed-fields` shows it). A longer name is cut and ends with a hash of the whole.
 *
 * @example
 * fieldManagerFor('ci', 'Monitoring'); // 'kubecfn/ci/Monitoring'
 */
export function fieldManagerFor(stackName: string, logicalId: string): string {
  const full = `${FIELD_MANAGER}/${stackName}/${logicalId}`;
  if (full.length <= MAX_FIELD_MANAGER) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 12);
  return `${full.slice(0, MAX_FIELD_MANAGER - hash.length - 1)}~${hash}`;
}

/**
 * Annotation naming the resource that owns an object: written when the resource created it or
 * adopted it, and the only thing that lets a prune or delete remove the object.
 */
export const OWNER_ANNOTATION = 'kubecfn.io/owner';

/**
 * Annotation written beside the owner annotation when a resource adopted an object that existed
 * before it (`Adopt`); its value is the owner. The cleanup after a failed Create leaves such an
 * object in place: the Create did not create it.
 */
export const ADOPTED_ANNOTATION = 'kubecfn.io/adopted';

/** How a resource stands to an object it applies. */
export type Claim =
  /** The object did not exist: the resource creates it and owns it. */
  | 'created'
  /** The resource owns it already (its owner annotation). */
  | 'owned'
  /** It existed without this resource's owner annotation, and `adopt` makes it the resource's. */
  | 'adopted'
  /** It existed and stays someone else's: the resource applies its own fields only, without force. */
  | 'shared';

/** The claim for an object as it is in the cluster (`live`, undefined when absent). */
export function claimOf(live: KubeObject | undefined, owner: string, adopt: boolean): Claim {
  if (!live) return 'created';
  if (live.metadata.annotations?.[OWNER_ANNOTATION] === owner) return 'owned';
  return adopt ? 'adopted' : 'shared';
}

/** Who set an object's fields, by their field managers (`metadata.managedFields`). */
function managersOf(live: KubeObject): string[] {
  const entries = (live.metadata.managedFields ?? []) as Array<{ manager?: string }>;
  return [...new Set(entries.map((e) => e.manager).filter((m): m is string => !!m))];
}

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
    failures.map((f) => f.error),
  );
}

export interface ApplyOptions {
  /**
   * The resource applying: written into the {@link OWNER_ANNOTATION} of the objects it creates or
   * adopts. Without it, every object is applied as written, with force (no ownership).
   */
  owner?: string;
  /** The resource's own field manager (see {@link fieldManagerFor}); default {@link FIELD_MANAGER}. */
  fieldManager?: string;
  /** Take over objects that exist without this owner's annotation (the `Adopt` property). */
  adopt?: boolean;
  /** Validate only (`dryRun=All`): admission, schema and immutable fields are checked, nothing is stored. */
  dryRun?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
}

/** The body sent for an object: as written, plus the owner annotation (and the adoption mark) when it is the owner's. */
function applyBody(
  o: ManifestObject,
  owner: string | undefined,
  claim: Claim,
  live: KubeObject | undefined,
): KubeObject {
  if (!owner || claim === 'shared') return o.body;
  const adopted = claim === 'adopted' || live?.metadata.annotations?.[ADOPTED_ANNOTATION] === owner;
  const annotations = {
    ...o.body.metadata.annotations,
    [OWNER_ANNOTATION]: owner,
    ...(adopted ? { [ADOPTED_ANNOTATION]: owner } : {}),
  };
  return { ...o.body, metadata: { ...o.body.metadata, annotations } };
}

/**
 * Server-side applies each object (PATCH `application/apply-patch+yaml`, strict field validation),
 * all concurrently within the pool. With an `owner`, each object is read first and applied by its
 * {@link Claim}: created, owned or adopted objects with the owner annotation and `force=true`;
 * shared ones (they existed, and `adopt` is off) with the resource's fields only and no force, so
 * a change to a field another manager set is refused, naming the object, the manager and how to
 * take it over. Every object must have been resolved (its `resource` known).
 *
 * @returns each object's claim, in input order.
 * @throws ManifestError naming the first object the API server rejected, with its message.
 * @example
 * await applyObjects(client, objects.filter((o) => o.level === Level.Foundation), { owner, fieldManager });
 */
export async function applyObjects(
  client: KubeClient,
  objects: readonly ManifestObject[],
  options: ApplyOptions = {},
): Promise<Claim[]> {
  const fieldManager = options.fieldManager ?? FIELD_MANAGER;
  const results = await mapPool(objects, options.concurrency ?? DEFAULT_CONCURRENCY, async (o): Promise<Claim> => {
    if (!o.resource) throw new Error(`${o.source}: kind ${o.kind} was not resolved before the apply`);
    const path = client.objectPath(o.resource, o.name, o.namespace);
    const live = options.owner ? await client.getOrUndefined(path, options.signal) : undefined;
    const claim = options.owner ? claimOf(live, options.owner, options.adopt ?? false) : 'owned';
    // An object that may exist (someone else's, or created since it was read) is never forced.
    const force = claim === 'owned' || claim === 'adopted';
    let applied: KubeObject;
    try {
      applied = await client.request<KubeObject>('PATCH', path, {
        query: {
          fieldManager,
          force,
          fieldValidation: 'Strict',
          ...(options.dryRun ? { dryRun: 'All' } : {}),
        },
        // JSON is YAML: the apply-patch content type takes it as is.
        contentType: 'application/apply-patch+yaml',
        body: applyBody(o, options.owner, claim, live),
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409 && !force) throw notOurs(error, live);
      throw error;
    }
    if (!options.dryRun && force && fieldManager !== FIELD_MANAGER)
      await dropLegacyManager(client, path, applied, options.signal);
    return claim;
  });
  if (options.dryRun) {
    // Objects whose namespace or kind is created by the same manifest cannot be checked yet, nor
    // can objects an admission webhook without dry-run support would see.
    const uncheckable = (e: unknown) =>
      e instanceof KubeApiError && (e.status === 404 || /does not support dry run/i.test(e.apiMessage));
    const relevant = results.map((r) =>
      r.status === 'rejected' && uncheckable(r.reason) ? ({ status: 'fulfilled', value: undefined } as const) : r,
    );
    throwFirstFailure(objects, relevant, 'rejected it (checked before changing anything)');
  } else throwFirstFailure(objects, results, 'rejected it');
  return results.map((r) => (r.status === 'fulfilled' ? r.value : 'shared'));
}

/**
 * A conflict on an object this resource does not own: the API server's words (which field, which
 * manager), who owns the object, and how to take it over.
 */
function notOurs(error: KubeApiError, live: KubeObject | undefined): KubeApiError {
  const owner = live?.metadata.annotations?.[OWNER_ANNOTATION];
  const who = owner
    ? `it belongs to the kubecfn resource ${owner}`
    : `it existed before this resource applied it (field managers: ${live ? managersOf(live).join(', ') || 'none' : 'unknown'})`;
  return new KubeApiError({
    status: error.status,
    reason: error.reason,
    apiMessage: `${error.apiMessage}; ${who}, and this resource changes only fields nobody else set unless Adopt is true`,
    method: error.method,
    path: error.path,
    server: error.server,
    clusterName: error.clusterName,
  });
}

/**
 * Objects applied by earlier kubecfn versions have their fields under the shared manager
 * {@link FIELD_MANAGER} too; once the resource owns them under its own manager, that entry goes,
 * so that a field dropped from the manifest is removed rather than kept by the old manager.
 * Best effort: a failure changes nothing.
 */
async function dropLegacyManager(
  client: KubeClient,
  path: string,
  applied: KubeObject | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const entries = (applied?.metadata?.managedFields ?? []) as Array<{ manager?: string; operation?: string }>;
  const i = entries.findIndex((e) => e.manager === FIELD_MANAGER && e.operation === 'Apply');
  if (i < 0) return;
  try {
    await client.request('PATCH', path, {
      contentType: 'application/json-patch+json',
      body: [
        { op: 'test', path: `/metadata/managedFields/${i}/manager`, value: FIELD_MANAGER },
        { op: 'remove', path: `/metadata/managedFields/${i}` },
      ],
      signal,
    });
  } catch {
    // The object changed meanwhile, or the server refused: the entry stays, nothing else changes.
  }
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
  /**
   * Not this resource's to delete: no owner annotation of this resource (someone else's, or it
   * existed before the resource applied to it), or adopted and kept by the cleanup of a failed
   * Create. Left alone; `owner` is its owner annotation, if any.
   */
  | { state: 'kept'; owner?: string; why: string }
  /** Someone else's object this resource had set fields of: those fields withdrawn, the object left. */
  | { state: 'released'; owner?: string }
  /** Deletion requested; still there, e.g. held by finalizers or waiting for its dependents. */
  | { state: 'deleting'; uid?: string; finalizers: string[] };

export interface DeleteOptions {
  /**
   * The resource deleting: only objects carrying its owner annotation are deleted. Without it,
   * every object found is deleted.
   */
  owner?: string;
  /** The resource's field manager: its fields on objects it does not own are withdrawn. */
  fieldManager?: string;
  /** Leave objects this owner adopted (the cleanup after a failed Create: it did not create them). */
  keepAdopted?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
}

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
 * Requests the deletion of an object if it is this resource's (its owner annotation), withdraws
 * this resource's fields from one it is not, and reports its state. The DELETE carries the uid and
 * resourceVersion read with the owner annotation, so an object changed or replaced since is read
 * again, never deleted unseen. Safe to call again for an object already being deleted.
 *
 * @example
 * const s = await deleteObject(client, o, { owner, fieldManager });
 */
export async function deleteObject(
  client: KubeClient,
  o: ManifestObject,
  options: DeleteOptions = {},
): Promise<DeleteState> {
  if (!o.resource) return { state: 'gone' };
  const path = client.objectPath(o.resource, o.name, o.namespace);
  const live = await client.getOrUndefined(path, options.signal);
  if (!live) return { state: 'gone' };
  const finalizers = live.metadata.finalizers ?? [];
  if (live.metadata.deletionTimestamp) return { state: 'deleting', uid: live.metadata.uid, finalizers };
  const owner = live.metadata.annotations?.[OWNER_ANNOTATION];
  if (options.owner && owner !== options.owner) return release(client, live, path, options);
  if (options.owner && options.keepAdopted && live.metadata.annotations?.[ADOPTED_ANNOTATION] === options.owner)
    return { state: 'kept', owner, why: 'it existed before and was adopted by the Create that failed' };
  const preconditions = {
    ...(live.metadata.uid ? { uid: live.metadata.uid } : {}),
    ...(live.metadata.resourceVersion ? { resourceVersion: live.metadata.resourceVersion } : {}),
  };
  try {
    const after = await client.request<KubeObject | { kind: 'Status' }>('DELETE', path, {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: propagationPolicyFor(o.group, o.kind),
        ...(Object.keys(preconditions).length ? { preconditions } : {}),
      },
      signal: options.signal,
    });
    // The answer is a Status, or the object's last state: with a deletionTimestamp it still exists
    // (finalizers, a namespace's content, dependents), without one it is gone already.
    if (after.kind === 'Status' || !(after as KubeObject).metadata?.deletionTimestamp) return { state: 'gone' };
    return { state: 'deleting', uid: live.metadata.uid, finalizers: (after as KubeObject).metadata.finalizers ?? [] };
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return { state: 'gone' };
    // 409 on a precondition: the object changed (or was replaced) since it was read. It is read
    // again on the next round, and deleted only if it is still this resource's.
    if (error instanceof KubeApiError && error.status === 409) return { state: 'deleting', finalizers };
    throw error;
  }
}

/**
 * An object that is not this resource's: its fields set by this resource's field manager (if any)
 * are withdrawn by applying an empty configuration as that manager; the object stays.
 */
async function release(
  client: KubeClient,
  live: KubeObject,
  path: string,
  options: DeleteOptions,
): Promise<DeleteState> {
  const owner = live.metadata.annotations?.[OWNER_ANNOTATION];
  const why = owner ? `it belongs to ${owner}` : 'it existed before this resource applied to it';
  if (!options.fieldManager || !managersOf(live).includes(options.fieldManager)) return { state: 'kept', owner, why };
  try {
    await client.request('PATCH', path, {
      query: { fieldManager: options.fieldManager },
      contentType: 'application/apply-patch+yaml',
      body: {
        apiVersion: live.apiVersion,
        kind: live.kind,
        metadata: {
          name: live.metadata.name,
          ...(live.metadata.namespace ? { namespace: live.metadata.namespace } : {}),
        },
      },
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return { state: 'gone' };
    // The object would not be valid without them: they stay, with the object.
    if (error instanceof KubeApiError && (error.status === 422 || error.status === 409))
      return { state: 'kept', owner, why: `${why}; its fields set by this resource stay: ${error.apiMessage}` };
    throw error;
  }
  return { state: 'released', owner };
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
  options: DeleteOptions = {},
): Promise<Array<{ object: ManifestObject; state: DeleteState }>> {
  const results = await mapPool(objects, options.concurrency ?? DEFAULT_CONCURRENCY, (o) =>
    deleteObject(client, o, options),
  );
  throwFirstFailure(objects, results, 'refused to delete it');
  return results.map((r, i) => ({ object: objects[i]!, state: (r as PromiseFulfilledResult<DeleteState>).value }));
}
