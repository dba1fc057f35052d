/**
 * `Custom::KubeManifest`: applies a set of Kubernetes objects with server-side apply, in dependency
 * order, waits until they are ready, prunes objects an update drops, and deletes the set (waiting
 * until every object is gone) when the stack no longer wants it.
 *
 * The work is a small state machine — apply (level by level) → ready → prune, or delete — whose
 * state is only "which phase, which level, which deadline": the objects themselves are recomputed
 * from the properties in each invocation, so a continuation needs nothing else.
 */
import {
  applyObjects,
  ClusterGoneError,
  clientForCluster,
  deleteObjects,
  describeObject,
  expandLists,
  forgetCluster,
  KubeApiError,
  KubeUnreachableError,
  Level,
  LEVEL_COUNT,
  ManifestError,
  objectKey,
  objectList,
  readinessOfObjects,
  resolveObjects,
  resolvePending,
  type DeleteState,
  type KubeClient,
  type KubeObject,
  type ManifestObject,
} from '../../kube';
import {
  defineResource,
  done,
  inProgress,
  parseProperties,
  ResourceError,
  shortHash,
  type CloudFormationEvent,
  type StepContext,
  type StepResult,
} from '../../runtime';
import { schema, type Props } from './schema';

/** Progress of one request, carried from step to step (and invocation to invocation). */
export interface State {
  /** `Cleanup`: removing what a failed Create applied (RetainOnDelete does not apply). */
  op: 'Create' | 'Update' | 'Delete' | 'Cleanup';
  phase: 'apply' | 'ready' | 'prune' | 'delete';
  /** apply: the next level to apply; prune/delete: the level being deleted (they go downwards). */
  level: number;
  /** Epoch ms when TimeoutSeconds runs out for the waits. */
  deadlineAt: number;
  /** Update: the new set passed a dry run (so a rejected update changes nothing). */
  checked?: boolean;
  /** Update to another cluster: the new physical id (CloudFormation then deletes the old set). */
  physicalId?: string;
}

/** Time kept free at the end of an invocation, to answer or hand over. */
const STEP_MARGIN_MS = 2_000;
/**
 * Do not start applying another level with less time than this left in the invocation (the first
 * level of an invocation always goes ahead, so that every invocation makes progress).
 */
const APPLY_RESERVE_MS = 4_000;
const POLL_FIRST_MS = 150;
const POLL_MAX_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Who manages the set: `<stack name>/<logical id>/<hash of stack id + logical id>`. Stable across
 * updates; written into each object's owner annotation and kept in the physical id.
 */
export function ownerFor(event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>): string {
  const stackName = event.StackId.split('/')[1] ?? 'stack';
  return `${stackName}/${event.LogicalResourceId}/${shortHash(`${event.StackId}|${event.LogicalResourceId}`, 8)}`;
}

/** The physical id: `<cluster>/<owner>` — the set is "what this owner applied to this cluster". */
export const physicalIdFor = (clusterName: string, event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>) =>
  `${clusterName}/${ownerFor(event)}`;

/** The owner part of a physical id made by {@link physicalIdFor}, if it is one. */
export function ownerFromId(physicalId: string): string | undefined {
  return /\/([^/]+\/[^/]+\/[0-9a-f]{8})$/.exec(physicalId)?.[1];
}

/** A per-step clock: when to hand over to the next invocation, and when TimeoutSeconds is up. */
class Clock {
  constructor(
    private readonly ctx: StepContext,
    readonly deadlineAt: number,
  ) {}
  /** Milliseconds this invocation may still spend before returning. */
  invocationLeft(): number {
    return this.ctx.deadline - STEP_MARGIN_MS - Date.now();
  }
  timedOut(): boolean {
    return Date.now() >= this.deadlineAt;
  }
}

async function connect(clusterName: string, op: State['op']): Promise<KubeClient | 'gone'> {
  try {
    return await clientForCluster(clusterName);
  } catch (error) {
    if (error instanceof ClusterGoneError && (op === 'Delete' || op === 'Cleanup')) return 'gone';
    const message = error instanceof Error ? error.message : String(error);
    throw new ResourceError(message.startsWith('ClusterName') ? message : `ClusterName '${clusterName}': ${message}`, {
      cause: error,
    });
  }
}

/** The objects of `props`, resolved against the cluster's discovery. */
async function loadObjects(
  client: KubeClient,
  props: Props,
  unknownKinds: 'fail' | 'skip',
  signal: AbortSignal,
): Promise<ManifestObject[]> {
  const docs = expandLists(props.Manifest as unknown as KubeObject[], 'Manifest');
  return resolveObjects(client, docs, { defaultNamespace: props.Namespace, unknownKinds, signal });
}

/** Polls `check` until it returns nothing left, the invocation must hand over, or the timeout passes. */
async function pollUntil<T>(
  clock: Clock,
  check: () => Promise<T[]>,
): Promise<{ outcome: 'done' } | { outcome: 'handover' | 'timeout'; left: T[] }> {
  let wait = POLL_FIRST_MS;
  for (;;) {
    const left = await check();
    if (left.length === 0) return { outcome: 'done' };
    if (clock.timedOut()) return { outcome: 'timeout', left };
    if (clock.invocationLeft() < wait + 500) return { outcome: 'handover', left };
    await sleep(Math.min(wait, Math.max(0, clock.deadlineAt - Date.now())));
    wait = Math.min(POLL_MAX_MS, Math.round(wait * 1.5));
  }
}

const seconds = (props: Props) => `${props.TimeoutSeconds} s (TimeoutSeconds)`;

/**
 * Deletes `objects` level by level, highest first, waiting until each level is gone before the
 * next (custom objects before their CRDs, everything before its namespace).
 */
async function deleteLevels(
  client: KubeClient,
  objects: readonly ManifestObject[],
  state: State,
  clock: Clock,
  props: Props,
  owner: string | undefined,
  ctx: StepContext,
): Promise<'done' | 'handover'> {
  for (let level = state.level; level >= 0; level--) {
    state.level = level;
    const batch = objects.filter((o) => o.level === level);
    if (batch.length === 0) continue;
    let remaining = batch;
    const r = await pollUntil<{ object: ManifestObject; state: DeleteState }>(clock, async () => {
      const states = await deleteObjects(client, remaining, { owner, signal: ctx.signal });
      for (const s of states) {
        if (s.state.state === 'kept')
          ctx.logger.info('left in place: another resource manages it now', {
            object: describeObject(s.object),
            owner: s.state.owner,
          });
      }
      const left = states.filter((s) => s.state.state === 'deleting');
      remaining = left.map((s) => s.object);
      return left;
    });
    if (r.outcome === 'handover') return 'handover';
    if (r.outcome === 'done') ctx.logger.info('deleted', { dependencyLevel: level, objects: batch.length });
    if (r.outcome === 'timeout') {
      const stuck = r.left
        .slice(0, 10)
        .map(({ object, state: s }) => {
          const finalizers =
            s.state === 'deleting' && s.finalizers.length ? `, held by finalizers ${s.finalizers.join(', ')}` : '';
          return `${object.source} (${describeObject(object)}${finalizers})`;
        })
        .join('; ');
      const more = r.left.length > 10 ? `; and ${r.left.length - 10} more` : '';
      throw new ResourceError(`Objects still being deleted after ${seconds(props)}: ${stuck}${more}`);
    }
  }
  return 'done';
}

/** How long objects of a just-applied CRD may be refused while the API server takes up its new schema. */
const NEW_SCHEMA_GRACE_MS = 15_000;

/**
 * Applies one level. Objects whose CRD this manifest has just created or changed may be refused
 * for a moment — unknown kind, or a field the schema does not declare yet — until every API server
 * has taken up the CRD's new schema (Established says the names are served, not which schema);
 * those are retried for a short while, idempotently, before their refusal counts.
 */
async function applyLevel(
  client: KubeClient,
  batch: ManifestObject[],
  owner: string,
  clock: Clock,
  ctx: StepContext,
): Promise<void> {
  const giveUpAt = Date.now() + NEW_SCHEMA_GRACE_MS;
  let pending = batch;
  for (let wait = 200; ; wait = Math.min(2_000, wait * 2)) {
    try {
      return await applyObjects(client, pending, { owner, signal: ctx.signal });
    } catch (error) {
      const retry =
        error instanceof ManifestError && error.failed.length > 0 && error.failed.every((o) => o.definedByManifest);
      if (!retry || Date.now() + wait > giveUpAt || clock.invocationLeft() < wait + 1_000) throw error;
      ctx.logger.info('objects of a new CRD schema refused; applying them again', {
        objects: error.failed.length,
        first: error.message,
      });
      pending = [...error.failed];
      await sleep(wait);
    }
  }
}

/** Runs the state machine as far as this invocation allows. */
async function advance(
  state: State,
  props: Props,
  oldProps: Props | undefined,
  ctx: StepContext,
): Promise<StepResult<State>> {
  const clock = new Clock(ctx, state.deadlineAt);
  const owner = ownerFromId(state.physicalId ?? ctx.physicalId) ?? ownerFor(ctx.event);
  const later = () =>
    inProgress<State>(
      { ...state },
      { pollAfterSeconds: 1, ...(state.physicalId ? { physicalId: state.physicalId } : {}) },
    );
  const client = await connect(props.ClusterName, state.op);
  if (client === 'gone') {
    ctx.logger.info('the cluster is gone: nothing left to delete', { cluster: props.ClusterName });
    return done();
  }

  try {
    if (state.phase === 'delete') {
      const objects = await loadObjects(client, props, 'skip', ctx.signal);
      return (await deleteLevels(client, objects, state, clock, props, owner, ctx)) === 'done' ? done() : later();
    }

    const objects = await loadObjects(client, props, 'fail', ctx.signal);

    if (state.phase === 'apply') {
      if (state.op === 'Update' && !state.checked) {
        // Validate the whole new set first: an invalid object or an immutable-field change fails
        // the update before anything changed.
        await applyObjects(
          client,
          objects.filter((o) => o.resource && !o.definedByManifest),
          { owner, dryRun: true, signal: ctx.signal },
        );
        state.checked = true;
      }
      let appliedHere = 0;
      for (let level = state.level; level < LEVEL_COUNT; level++) {
        state.level = level;
        const batch = objects.filter((o) => o.level === level);
        if (batch.length === 0) continue;
        if (appliedHere > 0 && clock.invocationLeft() < APPLY_RESERVE_MS) return later();
        if (batch.some((o) => o.definedByManifest)) {
          // Custom objects of CRDs in this manifest: wait until those CRDs are established.
          const crds = objects.filter(
            (o) => o.group === 'apiextensions.k8s.io' && o.kind === 'CustomResourceDefinition',
          );
          const r = await pollUntil(clock, () => readinessOfObjects(client, crds, { signal: ctx.signal }));
          if (r.outcome === 'handover') return later();
          if (r.outcome === 'timeout')
            throw new ResourceError(
              `CRDs not established after ${seconds(props)}: ${r.left.map((n) => `${n.object.source} (${describeObject(n.object)})`).join('; ')}`,
            );
          await resolvePending(client, objects, {
            defaultNamespace: props.Namespace,
            unknownKinds: 'fail',
            signal: ctx.signal,
          });
        }
        await applyLevel(client, batch, owner, clock, ctx);
        appliedHere += batch.length;
        ctx.logger.info('applied', { dependencyLevel: level, objects: batch.length });
      }
      state.phase = 'ready';
      state.level = LEVEL_COUNT - 1;
    }

    if (state.phase === 'ready') {
      if (props.Wait === 'ready') {
        const r = await pollUntil(clock, () => readinessOfObjects(client, objects, { signal: ctx.signal }));
        if (r.outcome === 'handover') return later();
        if (r.outcome === 'timeout') {
          const list = r.left
            .slice(0, 10)
            .map((n) => `${n.object.source} (${describeObject(n.object)}) is waiting for ${n.waitingFor}`);
          const more = r.left.length > 10 ? `; and ${r.left.length - 10} more` : '';
          throw new ResourceError(`Wait: not ready after ${seconds(props)}: ${list.join('; ')}${more}`);
        }
      }
      state.phase = 'prune';
      state.level = LEVEL_COUNT - 1;
    }

    if (state.phase === 'prune' && state.op === 'Update' && !state.physicalId) {
      if (!oldProps) {
        ctx.logger.warn('the previous properties no longer parse: objects dropped from the manifest are not pruned');
      } else if (props.RetainOnDelete) {
        ctx.logger.info('RetainOnDelete: objects dropped from the manifest stay in the cluster');
      } else {
        const keep = new Set(objects.map(objectKey));
        const previous = await loadObjects(client, oldProps, 'skip', ctx.signal);
        const dropped = previous.filter((o) => !keep.has(objectKey(o)));
        if (dropped.length > 0 && (await deleteLevels(client, dropped, state, clock, props, owner, ctx)) === 'handover')
          return later();
      }
    }

    return done({
      ...(state.physicalId ? { physicalId: state.physicalId } : {}),
      data: { ObjectCount: objects.length, Objects: objectList(objects) },
    });
  } catch (error) {
    if (error instanceof ManifestError) throw new ResourceError(error.message, { cause: error });
    if (error instanceof KubeUnreachableError) {
      forgetCluster(props.ClusterName);
      if ((state.op === 'Delete' || state.op === 'Cleanup') && client.access.status !== undefined) {
        // An EKS endpoint that stopped answering: if DescribeCluster now says the cluster is gone, so are its objects.
        try {
          await clientForCluster(props.ClusterName, { fresh: true });
        } catch (again) {
          if (again instanceof ClusterGoneError) return done();
        }
      }
      throw new ResourceError(error.message, { cause: error });
    }
    if (error instanceof KubeApiError) {
      throw new ResourceError(
        `ClusterName '${props.ClusterName}': the API server at ${client.server} answered ${error.status} to ${error.method} ${error.path}: ${error.apiMessage}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

const start = (op: State['op'], props: Props, extra: Partial<State> = {}): State => ({
  op,
  phase: op === 'Delete' || op === 'Cleanup' ? 'delete' : 'apply',
  level: op === 'Delete' || op === 'Cleanup' ? LEVEL_COUNT - 1 : Level.Foundation,
  deadlineAt: Date.now() + props.TimeoutSeconds * 1000,
  ...extra,
});

export default defineResource<Props, State>({
  type: 'Custom::KubeManifest',
  schema,
  // Manifests often carry Secrets (stringData): they never reach the logs. Object names do.
  sensitive: ['Manifest'],
  attributes: ['ObjectCount', 'Objects'],

  physicalId: (props, event) => physicalIdFor(props.ClusterName, event),

  async create(props, ctx) {
    return advance(start('Create', props), props, undefined, ctx);
  },

  async update(props, oldProps, ctx) {
    if (oldProps && oldProps.ClusterName !== props.ClusterName) {
      // Another cluster: a new set. CloudFormation deletes the old one (with the old properties) afterwards.
      return advance(
        start('Create', props, { physicalId: physicalIdFor(props.ClusterName, ctx.event) }),
        props,
        undefined,
        ctx,
      );
    }
    return advance(start('Update', props), props, oldProps, ctx);
  },

  async delete(props, ctx) {
    if (props.RetainOnDelete) {
      ctx.logger.info('RetainOnDelete: the objects stay in the cluster');
      return done();
    }
    return advance(start('Delete', props), props, undefined, ctx);
  },

  async cleanupFailedCreate(props, ctx) {
    return advance(start('Cleanup', props), props, undefined, ctx);
  },

  async continue(state, props, ctx) {
    // Update's previous properties travel with the event; parse them again as the runtime did.
    let oldProps: Props | undefined;
    if (state.op === 'Update') {
      try {
        oldProps = parseProperties(schema, ctx.event.OldResourceProperties);
      } catch {
        oldProps = undefined;
      }
    }
    return advance(state, props, oldProps, ctx);
  },
});
