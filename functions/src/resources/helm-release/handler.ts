/**
 * `Custom::HelmRelease`: a Helm release, installed or upgraded with `helm upgrade --install`,
 * uninstalled (and waited for) on delete.
 *
 * Time: helm's `--timeout` is always bounded by what is left of the invocation, less a reserve for
 * cleaning up, so the Lambda deadline never kills helm in the middle of an operation (which would
 * leave the release stuck in pending-*). When `TimeoutSeconds` does not fit in the invocation, the
 * release is applied without `--wait` and its workloads' readiness is polled across invocations
 * (the runtime's continuation) until ready or until `TimeoutSeconds` has passed.
 *
 * Failure: a failed Create is cleaned up by the runtime through `delete` (uninstall), a failed
 * replacement by `update` itself, so a retry or a rollback always starts clean.
 */
import {
  checkReadiness,
  ecrTokenSource,
  HelmCommandError,
  isOperationInProgress,
  isTimeout,
  openHelmSession,
  parseChartSource,
  prepareChart,
  recoverRelease,
  releaseHistory,
  s3ObjectReader,
  uninstallRelease,
  upgradeRelease,
  watchedObjects,
  writeValuesFiles,
  type ChartFetchers,
  type HelmRelease,
  type HelmSession,
  type ReleaseRef,
  type WatchedObject,
} from '../../helm';
import { ClusterGoneError, getClusterAccess, type ClusterAccess } from '../../kube';
import {
  defineResource,
  done,
  inProgress,
  type DataValue,
  type StepContext,
  type StepResult,
} from '../../runtime/resource';
import { ResourceError } from '../../runtime/errors';
import { explainUpgradeFailure } from './failure-reason';
import { forgetNamespaceCreated, namespaceExists, noteNamespaceCreated, removeCreatedNamespace } from './namespace';
import { defaultReleaseName, schema, type HelmReleaseProps } from './schema';

export const TYPE = 'Custom::HelmRelease';

/** Where a release lives; the physical id says the same as `helm:<cluster>:<namespace>/<release>`. */
export interface ReleaseTarget extends ReleaseRef {
  cluster: string;
}

export const physicalIdOf = (t: ReleaseTarget) => `helm:${t.cluster}:${t.namespace}/${t.name}`;

/** The target a physical id names, or `undefined` for an id of another form. */
export function targetOfPhysicalId(id: string | undefined): ReleaseTarget | undefined {
  const m = /^helm:([^:]+):([^/]+)\/(.+)$/.exec(id ?? '');
  return m ? { cluster: m[1]!, namespace: m[2]!, name: m[3]! } : undefined;
}

export function targetOf(props: HelmReleaseProps, logicalResourceId: string): ReleaseTarget {
  return {
    cluster: props.ClusterName,
    namespace: props.Namespace,
    name: props.ReleaseName ?? defaultReleaseName(logicalResourceId),
  };
}

/** Saved between invocations while a long wait or an uninstall goes on (JSON). */
export interface State {
  phase: 'wait' | 'uninstall';
  target: ReleaseTarget;
  /** Epoch ms after which the wait fails. */
  waitUntil?: number;
  objects?: WatchedObject[];
  data?: Record<string, DataValue>;
  /** The release is a replacement's new one: a failed wait uninstalls it. */
  replacement?: boolean;
  /** This install created the namespace: a failed wait removes it again. */
  createdNamespace?: boolean;
}

export const ATTRIBUTES = [
  'ReleaseName',
  'Namespace',
  'Revision',
  'Status',
  'Chart',
  'ChartVersion',
  'AppVersion',
] as const;

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

/** Time kept back from helm for cleaning up after it (an uninstall) and for answering. */
const reserveMs = (remaining: number) => Math.min(60_000, Math.max(5_000, remaining * 0.2));
/** Between readiness checks, as helm's own --wait polls. */
const POLL_SECONDS = 2;

/** AWS reached on the chart's behalf; a test hands in others through {@link setFetchers}. */
let fetchers: ChartFetchers = {
  objects: (() => {
    let reader: ReturnType<typeof s3ObjectReader> | undefined;
    return () => (reader ??= s3ObjectReader());
  })(),
  ecr: ecrTokenSource,
};

/** Replaces the S3 and ECR clients (tests). */
export function setFetchers(next: ChartFetchers): void {
  fetchers = next;
}

async function withSession<T>(access: ClusterAccess, fn: (session: HelmSession) => Promise<T>): Promise<T> {
  const session = await openHelmSession(access);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** Installs or upgrades; `replacement` marks a new release that replaces another. */
async function install(
  props: HelmReleaseProps,
  target: ReleaseTarget,
  ctx: StepContext,
  replacement: boolean,
): Promise<StepResult<State>> {
  const source = parseChartSource(props);
  const physicalId = physicalIdOf(target);
  const access = await getClusterAccess({ clusterName: target.cluster });
  // A namespace this install creates goes again if the install fails (see ./namespace).
  const createsNamespace =
    (ctx.requestType === 'Create' || replacement) &&
    props.CreateNamespace &&
    !(await namespaceExists(access, target.namespace));
  if (createsNamespace) noteNamespaceCreated(physicalId);
  return withSession(access, async (session) => {
    const chartArgs = await prepareChart(source, session, fetchers, ctx.signal);
    const valuesFiles = await writeValuesFiles(props, session, fetchers.objects, ctx.signal);

    const upgrade = async () => {
      const budget = ctx.remainingMs() - reserveMs(ctx.remainingMs());
      if (budget < 1_000)
        throw new ResourceError(
          `TimeoutSeconds: no time left in this invocation to run helm for release ${target.name}; raise the function's timeout`,
        );
      const fits = props.TimeoutSeconds * 1000 <= budget;
      const waited = props.Wait && fits;
      const started = Date.now();
      try {
        const release = await upgradeRelease(session.cli, {
          ...target,
          chartArgs,
          valuesFiles,
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
      throw explainUpgradeFailure(error, props, source, { ...target, waited: props.Wait });
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
      objects: watchedObjects(result.release.manifest ?? '', target.namespace),
      data,
      ...(replacement ? { replacement } : {}),
      ...(createsNamespace ? { createdNamespace: true } : {}),
    };
    ctx.logger.info('waiting for readiness across invocations', {
      objects: state.objects!.length,
      waitUntil: new Date(state.waitUntil!).toISOString(),
    });
    return awaitReady(state, props, ctx, access);
  });
}

/** One readiness check: done when all is ready, FAILED after TimeoutSeconds, else poll again. */
async function awaitReady(
  state: State,
  props: HelmReleaseProps,
  ctx: StepContext,
  access?: ClusterAccess,
): Promise<StepResult<State>> {
  const physicalId = physicalIdOf(state.target);
  const waiting = await checkReadiness(
    access ?? (await getClusterAccess({ clusterName: state.target.cluster })),
    state.objects ?? [],
  );
  if (waiting.length === 0) {
    forgetNamespaceCreated(physicalId);
    return done({ physicalId, data: state.data ?? {} });
  }
  if (Date.now() >= (state.waitUntil ?? 0)) {
    const shown = waiting.slice(0, 5).join('; ') + (waiting.length > 5 ? `; and ${waiting.length - 5} more` : '');
    throw new ResourceError(
      `Wait: release ${state.target.name} in namespace ${state.target.namespace} did not become ready within TimeoutSeconds (${props.TimeoutSeconds} s): ${shown}`,
    );
  }
  ctx.logger.info('not ready yet', { waiting: waiting.length, first: waiting[0] });
  return inProgress(state, { physicalId, pollAfterSeconds: POLL_SECONDS });
}

/** Uninstalls and waits; done when the release, its namespace or the whole cluster is gone. */
async function uninstall(target: ReleaseTarget, ctx: StepContext): Promise<StepResult<State>> {
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
  return withSession(access, async (session) => {
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
async function undoReplacement(target: ReleaseTarget, ctx: StepContext): Promise<void> {
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

export default defineResource<HelmReleaseProps, State>({
  type: TYPE,
  schema,
  // Values often carry passwords (an admin password for the chart); keep them out of the logs.
  sensitive: ['Values'],
  attributes: ATTRIBUTES,
  physicalId: (props, event) => physicalIdOf(targetOf(props, event.LogicalResourceId)),

  async create(props, ctx) {
    return install(props, targetOf(props, ctx.event.LogicalResourceId), ctx, false);
  },

  async update(props, oldProps, ctx) {
    const target = targetOf(props, ctx.event.LogicalResourceId);
    const current =
      targetOfPhysicalId(ctx.physicalId) ?? (oldProps ? targetOf(oldProps, ctx.event.LogicalResourceId) : undefined);
    const replacement = !current || physicalIdOf(current) !== physicalIdOf(target);
    if (!replacement) return install(props, target, ctx, false);
    ctx.logger.info('release renamed or moved: installing the replacement', {
      from: current ? physicalIdOf(current) : undefined,
      to: physicalIdOf(target),
    });
    try {
      return await install(props, target, ctx, true);
    } catch (error) {
      await undoReplacement(target, ctx);
      throw error;
    }
  },

  async delete(props, ctx) {
    return uninstall(targetOfPhysicalId(ctx.physicalId) ?? targetOf(props, ctx.event.LogicalResourceId), ctx);
  },

  async continue(state, props, ctx) {
    if (state.phase === 'uninstall') return uninstall(state.target, ctx);
    try {
      return await awaitReady(state, props, ctx);
    } catch (error) {
      // The cleanup that follows (the runtime's for a Create, ours for a replacement) runs in this invocation.
      if (state.createdNamespace) noteNamespaceCreated(physicalIdOf(state.target));
      if (state.replacement) await undoReplacement(state.target, ctx);
      throw error;
    }
  },
});
