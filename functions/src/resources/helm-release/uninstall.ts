/**
 * Uninstall: `helm uninstall --wait`, continued across invocations until the release's objects are
 * gone; done at once when the release, its namespace or the whole cluster is gone already. Only a
 * release this resource may remove (./ownership): on Delete one it owns, in the cleanup of a failed
 * Create or replacement one that very request installed. Any other is left as it is.
 */
import { HelmCommandError, isTimeout, uninstallRelease, withHelmSession } from '../../helm';
import { ClusterGoneError, getClusterAccess, type ClusterAccess } from '../../kube';
import { done, inProgress, ResourceError, type StepContext, type StepResult } from '../../runtime';
import { deleteClaimedCrds } from './crds';
import { removeCreatedNamespace } from './namespace';
import { claimOf, installedBy, ownerLabelOf, requestLabelOf, revisionsOf } from './ownership';
import { POLL_SECONDS, type State, type UninstallMode } from './state';
import { physicalIdOf, type ReleaseTarget } from './target';

/** Uninstalls and waits; done when the release, its namespace or the whole cluster is gone. */
export async function uninstall(
  target: ReleaseTarget,
  ctx: StepContext,
  mode: UninstallMode = 'delete',
  options: { retainCrds?: boolean } = {},
): Promise<StepResult<State>> {
  /** After the release is gone: the CRDs its install created (./crds), unless RetainCrds. */
  const removeCrds = async (access: ClusterAccess) => {
    if (options.retainCrds && mode === 'delete') {
      ctx.logger.info('RetainCrds: the CRDs the release created stay', { release: target.name });
      return [];
    }
    return deleteClaimedCrds(access, ctx.event, target, ctx.logger, ctx.signal);
  };
  let access: ClusterAccess;
  try {
    access = await getClusterAccess({ clusterName: target.cluster, signal: ctx.signal });
  } catch (error) {
    if (error instanceof ClusterGoneError) {
      ctx.logger.info('cluster gone: nothing to uninstall', { cluster: target.cluster, reason: error.message });
      return done();
    }
    throw error;
  }
  const revisions = await revisionsOf(access, target, ctx.signal);
  if (revisions.length === 0) {
    const namespaceRemoved = await removeCreatedNamespace(access, physicalIdOf(target), target.namespace, ctx.signal);
    ctx.logger.info('no release to uninstall', { release: target.name, namespace: target.namespace, namespaceRemoved });
    await removeCrds(access);
    return done();
  }
  const owner = ownerLabelOf(ctx.event);
  const mayRemove =
    mode === 'cleanup'
      ? installedBy(revisions, owner, requestLabelOf(ctx.event))
      : claimOf(revisions, owner, true).kind === 'ours';
  if (!mayRemove) {
    ctx.logger.info("release left in place: not this resource's to remove", {
      release: target.name,
      namespace: target.namespace,
      mode,
      owner: revisions.at(-1)?.labels['kubecfn.io/owner'],
    });
    return done();
  }
  return withHelmSession(access, async (session) => {
    const budget = ctx.remainingMs() - 2_000;
    ctx.changing();
    try {
      const outcome = await uninstallRelease(session.cli, target, { timeoutMs: budget, signal: ctx.signal });
      await removeCrds(access);
      const namespaceRemoved = await removeCreatedNamespace(access, physicalIdOf(target), target.namespace, ctx.signal);
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
        return inProgress<State>(
          { phase: 'uninstall', target, mode, ...(options.retainCrds ? { retainCrds: true } : {}) },
          { pollAfterSeconds: POLL_SECONDS },
        );
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
    let r = await uninstall(target, ctx, 'cleanup');
    while (!r.done && ctx.remainingMs() > 10_000) r = await uninstall(target, ctx, 'cleanup');
  } catch (error) {
    ctx.logger.error('could not remove the replacement release after its failure', {
      release: target.name,
      error: (error as Error).message,
    });
  }
}
