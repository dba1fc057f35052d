/**
 * `Custom::AwsAuth`: merges IAM role, user and account mappings into `kube-system/aws-auth`,
 * owning only its own entries, safely beside other writers. The folder holds:
 * - schema.ts — the properties and their checks (ARNs, usernames, account ids);
 * - mappings.ts — the mapping kinds and how entries compare;
 * - yaml-list.ts — byte-preserving edits of a YAML list;
 * - merge.ts — the ownership rules (who may add, change, remove which entry);
 * - config-map.ts — read-modify-write against the API server with optimistic concurrency.
 * The reference page is docs/resources/aws-auth.md.
 */
import { ClusterGoneError, ClusterNotReadyError, getClusterAccess, withKubeClient } from '../../kube';
import {
  defaultPhysicalId,
  defineResource,
  done,
  inProgress,
  ResourceError,
  type StepContext,
  type StepResult,
} from '../../runtime';
import { apiServerStore, updateAwsAuth } from './config-map';
import type { Mappings } from './mappings';
import { awsAuthSchema, type AwsAuthProperties } from './schema';

export { awsAuthSchema, type AwsAuthProperties } from './schema';
export { mergeAwsAuth, OWNERS_ANNOTATION } from './merge';

/** Carried to a later step when other writers kept winning the race until this one's time ran out. */
interface State {
  /** The owner id the step works for (the physical id; a new one during a replacement). */
  ownerId: string;
  /** True for Delete: let go of everything. */
  remove: boolean;
}

const mappingsOf = (props: AwsAuthProperties): Mappings => ({
  mapRoles: props.MapRoles,
  mapUsers: props.MapUsers,
  mapAccounts: props.MapAccounts,
});

const dataOf = (props: AwsAuthProperties) => ({
  RoleCount: props.MapRoles.length,
  UserCount: props.MapUsers.length,
  AccountCount: props.MapAccounts.length,
});

async function run(props: AwsAuthProperties, state: State, ctx: StepContext): Promise<StepResult<State>> {
  let access;
  try {
    access = await getClusterAccess({ clusterName: props.ClusterName });
  } catch (error) {
    // A cluster that is gone (or going) has no aws-auth left to clean.
    if (state.remove && error instanceof ClusterGoneError) {
      ctx.logger.info('cluster is gone: nothing to remove', { reason: error.message });
      return done();
    }
    // These already name ClusterName and what was wrong: pass them on as they are.
    if (error instanceof ClusterGoneError || error instanceof ClusterNotReadyError)
      throw new ResourceError(error.message, { cause: error });
    throw error;
  }
  const outcome = await withKubeClient(access, (client) =>
    updateAwsAuth(apiServerStore(client), state.ownerId, state.remove ? undefined : mappingsOf(props), {
      remainingMs: ctx.remainingMs,
      logger: ctx.logger,
      signal: ctx.signal,
    }),
  );
  if (!outcome.done) return inProgress(state, { physicalId: state.ownerId, pollAfterSeconds: 1 });
  ctx.logger.info('aws-auth up to date', {
    owner: state.ownerId,
    attempts: outcome.attempts,
    changed: outcome.result.changed,
  });
  return state.remove ? done() : done({ physicalId: state.ownerId, data: dataOf(props) });
}

export default defineResource<AwsAuthProperties, State>({
  type: 'Custom::AwsAuth',
  schema: awsAuthSchema,
  attributes: ['RoleCount', 'UserCount', 'AccountCount'],

  async create(props, ctx) {
    return run(props, { ownerId: ctx.physicalId, remove: false }, ctx);
  },

  async update(props, oldProps, ctx) {
    // Another cluster is another aws-auth: map there under a new id; CloudFormation then deletes
    // the old id with the old properties, which cleans the old cluster.
    const replaced = oldProps !== undefined && oldProps.ClusterName !== props.ClusterName;
    return run(props, { ownerId: replaced ? defaultPhysicalId(ctx.event) : ctx.physicalId, remove: false }, ctx);
  },

  async delete(props, ctx) {
    return run(props, { ownerId: ctx.physicalId, remove: true }, ctx);
  },

  async continue(state, props, ctx) {
    return run(props, state, ctx);
  },
});
