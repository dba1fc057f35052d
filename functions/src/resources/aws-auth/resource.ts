/**
 * `Custom::AwsAuth`: merges IAM role, user and account mappings into `kube-system/aws-auth`,
 * owning only its own entries, safely beside other writers. Create and Update apply the mappings
 * (./apply), Delete lets go of them (./delete); a step that keeps losing races to other writers
 * goes on in the next invocation.
 */
import { defaultPhysicalId, defineResource } from '../../runtime';
import { clusterLedger } from '../request-ledger';
import { applyMappings } from './apply';
import { removeMappings } from './delete';
import { awsAuthSchema, type AwsAuthProperties } from './schema';
import type { State } from './step';

export default defineResource<AwsAuthProperties, State>({
  type: 'Custom::AwsAuth',
  schema: awsAuthSchema,
  attributes: ['RoleCount', 'UserCount', 'AccountCount'],
  // A Create that fails before writing aws-auth leaves nothing behind (ctx.changing() in ./step).
  tracksChanges: true,
  // Duplicated and retried deliveries of a request are told apart in the cluster (a Lease per request).
  ledger: (props, event) => clusterLedger(props.ClusterName, event),

  async create(props, ctx) {
    return applyMappings(props, { ownerId: ctx.physicalId, remove: false }, ctx);
  },

  async update(props, oldProps, ctx) {
    // Another cluster is another aws-auth: map there under a new id; CloudFormation then deletes
    // the old id with the old properties, which cleans the old cluster.
    const replaced = oldProps !== undefined && oldProps.ClusterName !== props.ClusterName;
    return applyMappings(
      props,
      { ownerId: replaced ? defaultPhysicalId(ctx.event) : ctx.physicalId, remove: false },
      ctx,
    );
  },

  async delete(props, ctx) {
    return removeMappings(props, { ownerId: ctx.physicalId, remove: true }, ctx);
  },

  async continue(state, props, ctx) {
    return state.remove ? removeMappings(props, state, ctx) : applyMappings(props, state, ctx);
  },
});
