/** Delete: every entry the owner id holds removed from aws-auth; other writers' entries stay. */
import { ClusterGoneError, getClusterAccess } from '../../kube';
import { done, inProgress, type StepContext, type StepResult } from '../../runtime';
import { toResourceError } from '../cluster-errors';
import type { AwsAuthProperties } from './schema';
import { writeAwsAuth, type State } from './step';

/** Removes the owner's entries; done at once when the cluster is gone (or going). */
export async function removeMappings(
  props: AwsAuthProperties,
  state: State,
  ctx: StepContext,
): Promise<StepResult<State>> {
  let access;
  try {
    access = await getClusterAccess({ clusterName: props.ClusterName, signal: ctx.signal });
  } catch (error) {
    // A cluster that is gone (or going) has no aws-auth left to clean.
    if (error instanceof ClusterGoneError) {
      ctx.logger.info('cluster is gone: nothing to remove', { reason: error.message });
      return done();
    }
    throw toResourceError(error);
  }
  const outcome = await writeAwsAuth(access, state, undefined, ctx);
  if (!outcome.done) return inProgress(state, { physicalId: state.ownerId, pollAfterSeconds: 1 });
  return done();
}
