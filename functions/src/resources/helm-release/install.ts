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
  redactUrlCredentials,
  releaseHistory,
  releaseStatus,
  upgradeRelease,
  watchedObjects,
  withHelmSession,
  writeValuesFiles,
  type ChartSource,
  type HelmRelease,
} from '../../helm';
import { readFile } from 'node:fs/promises';
import { describeOutage, getClusterAccess, webhookOutageIn } from '../../kube';
import {
  done,
  inProgress,
  ResourceError,
  shortHash,
  type DataValue,
  type StepContext,
  type StepResult,
} from '../../runtime';
import { sleep } from '../../shared';
import { toResourceError } from '../cluster-errors';
import { chartCrdNames, claimCreatedCrds, crdOwnerOf, existingCrds } from './crds';
import { explainUpgradeFailure } from './failure-reason';
import { forgetNamespaceCreated, namespaceExists, noteNamespaceCreated } from './namespace';
import { prepareChartFor } from './repository-options';
import {
  claimOf,
  foreignReason,
  labelsFor,
  OWNER_LABEL,
  ownerLabelOf,
  REQUEST_LABEL,
  requestLabelOf,
  revisionsOf,
  unchangedRevision,
} from './ownership';
import type { HelmReleaseProps } from './schema';
import { POLL_SECONDS, type State } from './state';
import { physicalIdOf, type ReleaseTarget } from './target';
import { awaitReady } from './wait';

/** Time kept back from helm for cleaning up after it (an uninstall) and for answering. */
const reserveMs = (remaining: number) => Math.min(60_000, Math.max(5_000, remaining * 0.2));

/** Waits between helm runs while an admission webhook cannot be called: 2 s, doubling, at most 15 s. */
const WEBHOOK_FIRST_WAIT_MS = 2_000;
const WEBHOOK_MAX_WAIT_MS = 15_000;
/** Time a helm run is given at least before another try starts in this invocation, not the next. */
const WEBHOOK_RUN_MS = 10_000;
/** Kept before the request's overall deadline (ServiceTimeout), to answer with the webhook's name. */
const WEBHOOK_ANSWER_RESERVE_MS = 5_000;

/** An install that goes on in a later invocation, after an admission webhook could not be called. */
export interface Resume {
  /** Epoch ms since when the webhook could not be called. */
  since: number;
  /** Epoch ms after which no helm run starts: TimeoutSeconds from the first run. */
  until: number;
  createdNamespace?: boolean;
}

/**
 * What a revision is made from, hashed for {@link INPUTS_LABEL}: the chart's source (repository,
 * reference, S3 location or packaged path) and version, the values files' contents in order, and
 * SkipCrds. The bytes of a chart fetched by helm are not in it: a chart version is immutable in its
 * repository, and a packaged chart changes with the function's code.
 */
async function inputsOf(props: HelmReleaseProps, source: ChartSource, valuesFiles: readonly string[]): Promise<string> {
  const values = await Promise.all(valuesFiles.map((f) => readFile(f, 'utf8')));
  return shortHash(JSON.stringify({ source, version: props.Version ?? null, values, skipCrds: props.SkipCrds }), 20);
}

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
  resume?: Resume,
): Promise<StepResult<State>> {
  let source: ChartSource;
  try {
    source = parseChartSource(props);
  } catch (error) {
    throw toResourceError(error);
  }
  const physicalId = physicalIdOf(target);
  const access = await getClusterAccess({ clusterName: target.cluster, signal: ctx.signal });
  // Whose is a release of this name? A Create or a replacement installs only its own, or adopts.
  const fresh = ctx.requestType === 'Create' || replacement;
  const owner = ownerLabelOf(ctx.event);
  const revisions = await revisionsOf(access, target, ctx.signal);
  const claim = claimOf(revisions, owner, !fresh);
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
  // A namespace this install creates goes again if the install fails (see ./namespace).
  const createsNamespace =
    resume?.createdNamespace ||
    ((ctx.requestType === 'Create' || replacement) &&
      props.CreateNamespace &&
      !(await namespaceExists(access, target.namespace, ctx.signal)));
  if (createsNamespace) noteNamespaceCreated(physicalId);
  // helm runs until TimeoutSeconds after the first run, and ends before the request's ServiceTimeout.
  const timeoutAt = resume?.until ?? Date.now() + props.TimeoutSeconds * 1000;
  const runUntil = Math.min(timeoutAt, ctx.overallDeadline - WEBHOOK_ANSWER_RESERVE_MS);
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
    const inputs = await inputsOf(props, source, valuesFiles);
    const labels = labelsFor(ctx.event, adopted, inputs);

    // An Update to exactly what is deployed (CloudFormation's rollback Update after an update that
    // failed before helm made a revision) leaves the release at the revision it has: an upgrade
    // would add a revision with the same chart and values.
    // The same holds for a Create or a replacement delivered again (Lambda's retry after the first
    // invocation was killed once helm had installed): the revision this very request installed is
    // not made twice (a second one would also read as a change by hand to a later Update).
    const retriedCreate = fresh && revisions.at(-1)?.labels[REQUEST_LABEL] === requestLabelOf(ctx.event);
    const unchanged =
      ((ctx.requestType === 'Update' && !replacement) || retriedCreate) && !resume && claim.kind === 'ours'
        ? unchangedRevision(revisions, owner, inputs)
        : undefined;
    if (unchanged) {
      const current = await releaseStatus(session.cli, target, ctx.signal);
      if (current?.version === unchanged.revision && current.info.status === 'deployed') {
        ctx.logger.info('the deployed revision has this chart and these values already: no upgrade', {
          release: target.name,
          namespace: target.namespace,
          revision: current.version,
        });
        // A retried Create's first invocation may have been killed before the workloads were ready.
        if (retriedCreate && props.Wait)
          return awaitReady(
            {
              phase: 'wait',
              target,
              waitUntil: Date.now() + props.TimeoutSeconds * 1000,
              revision: current.version,
              data: releaseData(current),
            },
            props,
            ctx,
            access,
          );
        forgetNamespaceCreated(physicalId);
        return done({ physicalId, data: releaseData(current) });
      }
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

    /** One `helm upgrade --install`, after recovering a release of this resource's left pending. */
    const attempt = async () => {
      try {
        return await upgrade();
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
        return await upgrade();
      }
    };

    // An install (no revision was ever deployed) creates the CRDs of the chart's crds/ that do not
    // exist yet; helm never deletes them. Those it creates are claimed (./crds) and go with the release.
    const crdOwner = crdOwnerOf(ctx.event);
    let crdNames: string[] = [];
    let crdsBefore: string[] = [];
    if (!props.SkipCrds && !revisions.some((r) => r.status === 'deployed' || r.status === 'superseded')) {
      try {
        crdNames = await chartCrdNames(session.cli, chartArgs, ctx.signal);
        crdsBefore = await existingCrds(access, crdNames, crdOwner, ctx.signal);
      } catch (error) {
        // The upgrade meets the same problem (a chart it cannot fetch) and reports it.
        ctx.logger.warn("could not list the chart's CRDs: they are not tracked", { error: (error as Error).message });
        crdNames = [];
      }
    }

    let result;
    let outageSince = resume?.since;
    try {
      // An admission webhook the API server cannot call yet (no endpoints, refused, no answer: a
      // controller installed a moment ago) refuses objects of the chart: helm runs again, with
      // backoff, until it answers or the time is up. A webhook that denies is not retried.
      for (let wait = WEBHOOK_FIRST_WAIT_MS; ; wait = Math.min(WEBHOOK_MAX_WAIT_MS, wait * 2)) {
        try {
          result = await attempt();
          if (outageSince !== undefined)
            ctx.logger.info('the admission webhook answers again; installed', { waitedMs: Date.now() - outageSince });
          break;
        } catch (error) {
          const outage = error instanceof HelmCommandError ? webhookOutageIn(error.stderr) : undefined;
          if (!outage) throw error;
          outageSince ??= Date.now();
          if (Date.now() + wait >= runUntil) {
            const ranOut =
              timeoutAt <= runUntil ? `${props.TimeoutSeconds} s (TimeoutSeconds)` : "the resource's ServiceTimeout";
            // A Repository may carry credentials (https://user:pw@…), and helm repeats it in its errors.
            throw new ResourceError(
              redactUrlCredentials(
                `helm upgrade --install of release ${target.name} in namespace ${target.namespace}: ${describeOutage(outage)}; retried for ${Math.round((Date.now() - outageSince) / 1000)} s, until ${ranOut} ran out: ${(error as HelmCommandError).stderrTail}`,
              ),
            );
          }
          ctx.logger.info('an admission webhook cannot be called yet; running helm again', {
            release: target.name,
            webhook: outage.webhook,
            cause: outage.cause,
            waitMs: wait,
          });
          const left = ctx.remainingMs();
          if (left - reserveMs(left) < wait + WEBHOOK_RUN_MS) {
            const state: State = {
              phase: 'install',
              target,
              resume: { since: outageSince, until: timeoutAt, ...(createsNamespace ? { createdNamespace: true } : {}) },
              ...(replacement ? { replacement } : {}),
              ...(createsNamespace ? { createdNamespace: true } : {}),
            };
            return inProgress(state, { physicalId, pollAfterSeconds: POLL_SECONDS });
          }
          await sleep(wait, ctx.signal);
        }
      }
    } catch (error) {
      if (error instanceof ResourceError) throw error;
      // helm's --wait timeout names nothing: read back what is still pending, and what holds it.
      const pending = isTimeout(error) ? await pendingAfterTimeout(session.cli, access, target, ctx.signal) : [];
      throw explainUpgradeFailure(error, props, source, { ...target, waited: props.Wait, pending });
    } finally {
      // Whatever helm's outcome, the CRDs its crds/ created are this resource's: a failed Create's
      // cleanup removes them too.
      if (crdNames.length)
        await claimCreatedCrds(access, crdNames, crdsBefore, crdOwner, ctx.logger, ctx.signal).catch((error) =>
          ctx.logger.warn('could not claim the CRDs the chart created', { error: (error as Error).message }),
        );
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
