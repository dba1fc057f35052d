/**
 * Wait: the release's workloads checked the way `helm --wait` checks them, across invocations,
 * until all are ready or TimeoutSeconds has passed since the install began.
 */
import { checkReadiness, releaseWatchedObjects } from '../../helm';
import { getClusterAccess, type ClusterAccess } from '../../kube';
import { done, inProgress, ResourceError, type StepContext, type StepResult } from '../../runtime';
import { forgetNamespaceCreated } from './namespace';
import type { HelmReleaseProps } from './schema';
import { POLL_SECONDS, type State } from './state';
import { physicalIdOf } from './target';

/** One readiness check: done when all is ready, FAILED after TimeoutSeconds, else poll again. */
export async function awaitReady(
  state: State,
  props: HelmReleaseProps,
  ctx: StepContext,
  access?: ClusterAccess,
): Promise<StepResult<State>> {
  const physicalId = physicalIdOf(state.target);
  access ??= await getClusterAccess({ clusterName: state.target.cluster, signal: ctx.signal });
  const objects =
    state.objects ??
    (state.revision === undefined
      ? []
      : ((await releaseWatchedObjects(access, state.target, state.revision, ctx.signal)) ?? []));
  const waiting = await checkReadiness(access, objects);
  if (waiting.length === 0) {
    forgetNamespaceCreated(physicalId);
    return done({ physicalId, data: state.data ?? {} });
  }
  if (Date.now() >= (state.waitUntil ?? 0)) {
    // Once more, with what holds each object (conditions, pods, events), for the Reason.
    const explained = await checkReadiness(access, objects, { explain: true, signal: ctx.signal }).catch(() => waiting);
    if (explained.length) waiting.splice(0, waiting.length, ...explained);
    const shown = waiting.slice(0, 5).join('; ') + (waiting.length > 5 ? `; and ${waiting.length - 5} more` : '');
    throw new ResourceError(
      `Wait: release ${state.target.name} in namespace ${state.target.namespace} did not become ready within TimeoutSeconds (${props.TimeoutSeconds} s): ${shown}`,
    );
  }
  ctx.logger.info('not ready yet', { waiting: waiting.length, first: waiting[0] });
  return inProgress(state, { physicalId, pollAfterSeconds: POLL_SECONDS });
}
