/**
 * Install (or upgrade): `helm upgrade --install` with the whole of the values, bounded by the time
 * left in the invocation, labelled with the resource's owner and the request (./ownership). A
 * release of the same name this resource does not own is refused before anything runs, unless
 * `Adopt`. A release of this resource's left pending by a killed helm is recovered first. When the
 * wait does not fit in the invocation, the release goes in without `--wait` and ./wait takes over.
 */
import {
  HelmCommandError,
  isOperationInProgress,
  isTimeout,
  parseChartSource,
  pendingAfterTimeout,
  recoverRelease,
  releaseHistory,
  upgradeRelease,
  watchedObjects,
  withHelmSession,
  writeValuesFiles,
  type ChartSource,
  type HelmRelease,
} from '../../helm';
import { getClusterAccess } from '../../kube';
import { done, ResourceError, type DataValue, type StepContext, type StepResult } from '../../runtime';
import { toResourceError } from '../cluster-errors';
import { explainUpgradeFailure } from './failure-reason';
import { forgetNamespaceCreated, namespaceExists, noteNamespaceCreated } from './namespace';
import { prepareChartFor } from './repository-options';
import { claimOf, foreignReason, labelsFor, OWNER_LABEL, ownerLabelOf, revisionsOf } from './ownership';
import type { HelmReleaseProps } from './schema';
import type { State } from './state';
import { physicalIdOf, type ReleaseTarget } from './target';
import { awaitReady } from './wait';

/** Time kept back from helm for cleaning up after it (an uninstall) and for answering. */
const reserveMs = (remaining: number) => Math.min(60_000, Math.max(5_000, remaining * 0.2));

function releaseData(release: HelmRelease): Record<string, DataValue> {
  const meta = release.chart?.metadata ?? {};
  return {
    ReleaseName: release.name,
    Namespace: release.namespace,
    Revision: release.version,
    Status: release.info.status,
    Chart: meta.name ?? '',
    ChartVersion: meta.version ?? '',
    AppVersion: meta.appVersion ?? '',
  };
}

/** Installs or upgrades; `replacement` marks a new release that replaces another. */
export async function install(
  props: HelmReleaseProps,
  target: ReleaseTarget,
  ctx: StepContext,
  replacement: boolean,
): Promise<StepResult<State>> {
  let source: ChartSource;
  try {
    source = parseChartSource(props);
  } catch (error) {
    throw toResourceError(error);
  }
  const physicalId = physicalIdOf(target);
  const access = await getClusterAccess({ clusterName: target.cluster });
  // Whose is a release of this name? A Create or a replacement installs only its own, or adopts.
  const fresh = ctx.requestType === 'Create' || replacement;
  const owner = ownerLabelOf(ctx.event);
  const claim = claimOf(await revisionsOf(access, target, ctx.signal), owner, !fresh);
  if (claim.kind === 'foreign' && !props.Adopt)
    throw new ResourceError(
      foreignReason(
        target,
        claim,
        'it is left as it is; set Adopt to true to take it over (it is then upgraded, and uninstalled on Delete)',
      ),
    );
  const adopted = claim.kind === 'foreign' || (claim.kind === 'ours' && claim.adopted);
  if (claim.kind === 'foreign')
    ctx.logger.info('adopting an existing release (Adopt)', { release: target.name, owner: claim.owner });
  const labels = labelsFor(ctx.event, adopted);
  // A namespace this install creates goes again if the install fails (see ./namespace).
  const createsNamespace =
    (ctx.requestType === 'Create' || replacement) &&
    props.CreateNamespace &&
    !(await namespaceExists(access, target.namespace, ctx.signal));
  if (createsNamespace) noteNamespaceCreated(physicalId);
  return withHelmSession(access, async (session) => {
    let chartArgs: string[];
    let valuesFiles: string[];
    try {
      chartArgs = await prepareChartFor(props, source, session, ctx.signal);
      valuesFiles = await writeValuesFiles(props, session, ctx.signal);
    } catch (error) {
      // A chart or values file that cannot be had is the properties' problem: their Reason says which.
      throw toResourceError(error);
    }

    const upgrade = async () => {
      const budget = ctx.remainingMs() - reserveMs(ctx.remainingMs());
      if (budget < 1_000)
        throw new ResourceError(
          `TimeoutSeconds: no time left in this invocation to run helm for release ${target.name}; raise the function's timeout`,
        );
      const fits = props.TimeoutSeconds * 1000 <= budget;
      const waited = props.Wait && fits;
      const started = Date.now();
      ctx.changing();
      try {
        const release = await upgradeRelease(session.cli, {
          ...target,
          chartArgs,
          valuesFiles,
          labels,
          createNamespace: props.CreateNamespace,
          wait: waited,
          skipCrds: props.SkipCrds,
          timeoutMs: fits ? props.TimeoutSeconds * 1000 : budget,
          signal: ctx.signal,
        });
        ctx.logger.info('helm upgrade --install', {
          release: target.name,
          namespace: target.namespace,
          revision: release.version,
          waited,
          ms: Date.now() - started,
        });
        return { release, waited, startedAt: started };
      } catch (error) {
        // Out of invocation time, not out of TimeoutSeconds: helm's --timeout was the budget.
        if (!fits && isTimeout(error)) {
          throw new ResourceError(
            `TimeoutSeconds: helm did not finish release ${target.name} (its hooks) within this invocation's ${Math.round(budget / 1000)} s; raise the function's timeout: ${(error as HelmCommandError).stderrTail}`,
          );
        }
        throw error;
      }
    };

    let result;
    try {
      try {
        result = await upgrade();
      } catch (error) {
        if (
          !isOperationInProgress(error) &&
          !/has no deployed releases/i.test((error as HelmCommandError).stderr ?? '')
        )
          throw error;
        // A release left pending by a killed helm (or never deployed): recover, then try once more.
        // Only this resource's: another's pending release may be another invocation at work.
        const latest = (await revisionsOf(access, target, ctx.signal)).at(-1);
        if (latest && latest.labels[OWNER_LABEL] !== owner)
          throw new ResourceError(
            foreignReason(
              target,
              { owner: latest.labels[OWNER_LABEL] },
              `helm says another operation is in progress on it (${latest.status}); it is left as it is`,
            ),
          );
        const history = await releaseHistory(session.cli, target, ctx.signal);
        const recovery = await recoverRelease(session.cli, target, history, {
          timeoutMs: ctx.remainingMs() / 3,
          signal: ctx.signal,
        });
        ctx.logger.warn('recovered a release stuck in a pending state', {
          release: target.name,
          namespace: target.namespace,
          status: history?.at(-1)?.status,
          recovery,
        });
        result = await upgrade();
      }
    } catch (error) {
      if (error instanceof ResourceError) throw error;
      // helm's --wait timeout names nothing: read back what is still pending, and what holds it.
      const pending = isTimeout(error) ? await pendingAfterTimeout(session.cli, access, target, ctx.signal) : [];
      throw explainUpgradeFailure(error, props, source, { ...target, waited: props.Wait, pending });
    }

    const data = releaseData(result.release);
    if (!props.Wait || result.waited) {
      forgetNamespaceCreated(physicalId);
      return done({ physicalId, data });
    }
    const state: State = {
      phase: 'wait',
      target,
      waitUntil: result.startedAt + props.TimeoutSeconds * 1000,
      revision: result.release.version,
      data,
      ...(replacement ? { replacement } : {}),
      ...(createsNamespace ? { createdNamespace: true } : {}),
    };
    ctx.logger.info('waiting for readiness across invocations', {
      objects: watchedObjects(result.release.manifest ?? '', target.namespace).length,
      waitUntil: new Date(state.waitUntil!).toISOString(),
    });
    return awaitReady(state, props, ctx, access);
  });
}
