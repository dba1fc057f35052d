/**
 * The state machine of one request — apply (level by level) → ready → prune, or delete — and the
 * decision of which action runs next. Its state is only "which phase, which level, which deadline":
 * the objects themselves are recomputed from the properties in each invocation, so a continuation
 * needs nothing else.
 */
import {
  ClusterGoneError,
  clientForCluster,
  forgetCluster,
  KubeUnreachableError,
  Level,
  LEVEL_COUNT,
  objectList,
} from '../../kube';
import { describeError, done, inProgress, ResourceError, type StepContext, type StepResult } from '../../runtime';
import { toResourceError } from '../cluster-errors';
import { applyLevels } from './apply';
import { connect, loadObjects } from './cluster';
import { deleteLevels } from './delete';
import { fieldManagerOf, ownerFor, ownerFromId } from './owner';
import { pruneDropped } from './prune';
import type { Props } from './schema';
import { Clock, type Run } from './step';
import { awaitReadiness } from './wait';

/** Progress of one request, carried from step to step (and invocation to invocation). */
export interface State {
  /**
   * `Cleanup`: removing what a failed Create applied (RetainOnDelete does not apply). `Undo`:
   * removing what a failed move to another cluster (a ClusterName change) applied there, before
   * answering its failure.
   */
  op: 'Create' | 'Update' | 'Delete' | 'Cleanup' | 'Undo';
  phase: 'apply' | 'ready' | 'prune' | 'delete';
  /** apply: the next level to apply; prune/delete: the level being deleted (they go downwards). */
  level: number;
  /** Epoch ms when TimeoutSeconds runs out for the waits. */
  deadlineAt: number;
  /** Update: the new set passed a dry run (so a rejected update changes nothing). */
  checked?: boolean;
  /** Update to another cluster: the new physical id (CloudFormation then deletes the old set). */
  physicalId?: string;
  /** Undo: the Reason the move failed with, answered once what it applied is removed. */
  failure?: string;
  /** Epoch ms since when an admission webhook could not be called (cleared once the apply goes through). */
  webhookSince?: number;
}

/** The state a request starts in. */
export const start = (op: State['op'], props: Props, extra: Partial<State> = {}): State => ({
  op,
  phase: op === 'Delete' || op === 'Cleanup' || op === 'Undo' ? 'delete' : 'apply',
  level: op === 'Delete' || op === 'Cleanup' || op === 'Undo' ? LEVEL_COUNT - 1 : Level.Foundation,
  deadlineAt: Date.now() + props.TimeoutSeconds * 1000,
  ...extra,
});

/** Runs the state machine as far as this invocation allows. */
export async function advance(
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
    if (state.op === 'Undo') throw new ResourceError(state.failure ?? 'the move to another cluster failed');
    return done();
  }
  const run: Run = { client, props, state, clock, owner, fieldManager: fieldManagerOf(ctx.event), ctx };

  try {
    if (state.phase === 'delete') {
      const objects = await loadObjects(client, props, 'skip', ctx.signal);
      if ((await deleteLevels(run, objects)) === 'handover') return later();
      if (state.op === 'Undo') return undone(state, props);
      return done();
    }

    const objects = await loadObjects(client, props, 'fail', ctx.signal);

    if (state.phase === 'apply') {
      if ((await applyLevels(run, objects)) === 'handover') return later();
      state.phase = 'ready';
      state.level = LEVEL_COUNT - 1;
    }

    if (state.phase === 'ready') {
      if ((await awaitReadiness(run, objects)) === 'handover') return later();
      state.phase = 'prune';
      state.level = LEVEL_COUNT - 1;
    }

    if (state.phase === 'prune' && state.op === 'Update' && !state.physicalId) {
      if ((await pruneDropped(run, objects, oldProps)) === 'handover') return later();
    }

    return done({
      ...(state.physicalId ? { physicalId: state.physicalId } : {}),
      data: { ObjectCount: objects.length, Objects: objectList(objects) },
    });
  } catch (error) {
    if (error instanceof UndoneError) throw error;
    if (state.op === 'Undo')
      throw new ResourceError(
        `${state.failure}; removing what the move applied to cluster ${props.ClusterName} failed: ${describeError(toResourceError(error))}`,
      );
    if (state.op === 'Create' && state.physicalId && !ctx.signal.aborted) {
      // A move to another cluster failed: what it applied there goes before the failure is answered.
      const failure = describeError(toResourceError(error));
      ctx.logger.warn('the move to another cluster failed; removing what it applied there', { failure });
      return advance(start('Undo', props, { failure, physicalId: state.physicalId }), props, undefined, ctx);
    }
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
    }
    throw toResourceError(error);
  }
}

/** The move's failure, answered once what it applied is gone. */
class UndoneError extends ResourceError {}

/** The end of an Undo: the move's failure, answered now that what it applied is gone. */
function undone(state: State, props: Props): never {
  throw new UndoneError(`${state.failure} (what the move applied to cluster ${props.ClusterName} has been removed)`);
}
