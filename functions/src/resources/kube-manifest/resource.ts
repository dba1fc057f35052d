/**
 * `Custom::KubeManifest`: applies a set of Kubernetes objects with server-side apply, in dependency
 * order, waits until they are ready, prunes objects an update drops, and deletes the set (waiting
 * until every object is gone) when the stack no longer wants it.
 *
 * Each request starts the state machine of ./state in its first phase; ./state decides which
 * action (./apply, ./wait, ./prune, ./delete) runs next, in this invocation or the next.
 */
import { defineResource, done, parseProperties } from '../../runtime';
import { clusterLedger } from '../request-ledger';
import { withManifestFromUrl } from './manifest-url';
import { physicalIdFor } from './owner';
import { schema, type Props } from './schema';
import { advance, start, type State } from './state';

export default defineResource<Props, State>({
  type: 'Custom::KubeManifest',
  schema,
  // Manifests often carry Secrets (stringData): they never reach the logs. Object names do.
  sensitive: ['Manifest'],
  attributes: ['ObjectCount', 'Objects'],
  // A Create that fails before its first apply leaves nothing behind (ctx.changing() in ./apply).
  tracksChanges: true,

  physicalId: (props, event) => physicalIdFor(props.ClusterName, event),
  // Duplicated and retried deliveries of a request are told apart in the cluster (a Lease per request).
  ledger: (props, event) => clusterLedger(props.ClusterName, event),

  async create(props, ctx) {
    props = await withManifestFromUrl(props, ctx, 'apply');
    return advance(start('Create', props), props, undefined, ctx);
  },

  async update(props, oldProps, ctx) {
    props = await withManifestFromUrl(props, ctx, 'apply');
    if (oldProps && props.ManifestUrl && oldProps.ManifestUrl === props.ManifestUrl)
      oldProps = { ...oldProps, Manifest: props.Manifest };
    else if (oldProps) oldProps = await withManifestFromUrl(oldProps, ctx, 'delete');
    if (oldProps && oldProps.ClusterName !== props.ClusterName) {
      // Another cluster: a new set. CloudFormation deletes the old one (with the old properties)
      // afterwards. If the move fails, what it applied to the new cluster is removed first (./state, Undo).
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
    props = await withManifestFromUrl(props, ctx, 'delete');
    return advance(start('Delete', props), props, undefined, ctx);
  },

  async cleanupFailedCreate(props, ctx) {
    props = await withManifestFromUrl(props, ctx, 'delete');
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
      if (oldProps) oldProps = await withManifestFromUrl(oldProps, ctx, 'delete');
    }
    const deleting = state.phase === 'delete' || state.op === 'Delete' || state.op === 'Cleanup';
    props = await withManifestFromUrl(props, ctx, deleting ? 'delete' : 'apply');
    return advance(state, props, oldProps, ctx);
  },
});
