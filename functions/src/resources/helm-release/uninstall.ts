/**
 * Uninstall: `helm uninstall --wait`, continued across invocations until the release's objects are
 * gone; done at once when the release, its namespace or the whole cluster is gone already.
 */
import { HelmCommandError, isTimeout, uninstallRelease, withHelmSession } from '../../helm';
import { ClusterGoneError, getClusterAccess, type ClusterAccess } from '../../kube';
import { done, inProgress, ResourceError, type StepContext, type StepResult } from '../../runtime';
import { removeCreatedNamespace } from './namespace';
import { POLL_SECONDS, type State } from './state';
import { physicalIdOf, type ReleaseTarget } from './target';

/** Uninstalls and waits; done when the release, its namespace or the whole cluster is gone. */
export async function uninstall(target: ReleaseTarget, ctx: StepContext): Promise<StepResult<State>> {
  let access: ClusterAccess;
  try {
    access = await getClusterAccess({ clusterName: target.cluster });
  } catch (error) {
    if (error instanceof ClusterGoneError) {
      ctx.logger.info('cluster gone: nothing to uninstall', { cluster: target.cluster, reason: error.message });
      return done();
    }
    throw error;
  }
  return withHelmSession(access, async (session) => {
    const budget = ctx.remainingMs() - 2_000;
    try {
      const outcome = await uninstallRelease(session.cli, target, { timeoutMs: budget, signal: ctx.signal });
      const namespaceRemoved = await removeCreatedNamespace(access, physicalIdOf(target), target.namespace);
      ctx.logger.info('helm uninstall', {
        release: target.name,
        namespace: target.namespace,
        outcome,
        namespaceRemoved,
      });
      return done();
    } catch (error) {
      if (isTimeout(error)) {
        ctx.logger.info('uninstall still waiting for objects to go; continuing', { release: target.name });
        return inProgress<State>({ phase: 'uninstall', target }, { pollAfterSeconds: POLL_SECONDS });
      }
      const helm = error instanceof HelmCommandError ? error.stderrTail : (error as Error).message;
      throw new ResourceError(
        `helm uninstall of release ${target.name} in namespace ${target.namespace} failed: ${helm}`,
        { cause: error },
      );
    }
  });
}

/** Best effort: removes a replacement's new release after its install failed, so nothing is left behind. */
export async function undoReplacement(target: ReleaseTarget, ctx: StepContext): Promise<void> {
  try {
    let r = await uninstall(target, ctx);
    while (!r.done && ctx.remainingMs() > 10_000) r = await uninstall(target, ctx);
  } catch (error) {
    ctx.logger.error('could not remove the replacement release after its failure', {
      release: target.name,
      error: (error as Error).message,
    });
  }
}
