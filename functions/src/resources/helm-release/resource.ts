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
 * Failure: a failed Create is cleaned up by the runtime through `cleanupFailedCreate`, a failed
 * replacement by `update` itself: each uninstalls only a release that request installed (./ownership),
 * so a retry or a rollback starts clean and a release that existed before is never touched.
 */
import { defineResource } from '../../runtime';
import { clusterLedger } from '../request-ledger';
import { install } from './install';
import { noteNamespaceCreated } from './namespace';
import { schema, type HelmReleaseProps } from './schema';
import type { State } from './state';
import { physicalIdOf, targetOf, targetOfPhysicalId } from './target';
import { undoReplacement, uninstall } from './uninstall';
import { awaitReady } from './wait';

export const TYPE = 'Custom::HelmRelease';

export const ATTRIBUTES = [
  'ReleaseName',
  'Namespace',
  'Revision',
  'Status',
  'Chart',
  'ChartVersion',
  'AppVersion',
] as const;

export default defineResource<HelmReleaseProps, State>({
  type: TYPE,
  schema,
  // Values often carry passwords (an admin password for the chart); keep them out of the logs.
  sensitive: ['Values'],
  attributes: ATTRIBUTES,
  physicalId: (props, event) => physicalIdOf(targetOf(props, event.LogicalResourceId)),
  // A Create that fails before helm runs leaves nothing behind (ctx.changing() in ./install).
  tracksChanges: true,
  // Duplicated and retried deliveries of a request are told apart in the cluster (a Lease per request).
  ledger: (props, event) => clusterLedger(props.ClusterName, event),

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
    return uninstall(
      targetOfPhysicalId(ctx.physicalId) ?? targetOf(props, ctx.event.LogicalResourceId),
      ctx,
      'delete',
      {
        retainCrds: props.RetainCrds,
      },
    );
  },

  // Only a release this very Create installed: never one that existed before, or that it adopted.
  async cleanupFailedCreate(props, ctx) {
    return uninstall(targetOf(props, ctx.event.LogicalResourceId), ctx, 'cleanup');
  },

  async continue(state, props, ctx) {
    if (state.phase === 'uninstall')
      return uninstall(state.target, ctx, state.mode, { retainCrds: state.retainCrds ?? false });
    try {
      if (state.phase === 'install') return await install(props, state.target, ctx, !!state.replacement, state.resume);
      return await awaitReady(state, props, ctx);
    } catch (error) {
      // The cleanup that follows (the runtime's for a Create, ours for a replacement) runs in this invocation.
      if (state.createdNamespace) noteNamespaceCreated(physicalIdOf(state.target));
      if (state.replacement) await undoReplacement(state.target, ctx);
      throw error;
    }
  },
});
