/** Apply (Create, Update): the resource's mappings merged into aws-auth under its owner id. */
import { getClusterAccess } from '../../kube';
import { done, inProgress, type StepContext, type StepResult } from '../../runtime';
import { toResourceError } from '../cluster-errors';
import type { Mappings } from './mappings';
import type { AwsAuthProperties } from './schema';
import { writeAwsAuth, type State } from './step';

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

/** Maps the resource's roles, users and accounts; answers their counts. */
export async function applyMappings(
  props: AwsAuthProperties,
  state: State,
  ctx: StepContext,
): Promise<StepResult<State>> {
  let access;
  try {
    access = await getClusterAccess({ clusterName: props.ClusterName, signal: ctx.signal });
  } catch (error) {
    // A cluster gone or not ready is named as the kube layer says it; anything else goes on as it is.
    throw toResourceError(error);
  }
  const outcome = await writeAwsAuth(access, state, mappingsOf(props), ctx);
  if (!outcome.done) return inProgress(state, { physicalId: state.ownerId, pollAfterSeconds: 1 });
  return done({ physicalId: state.ownerId, data: dataOf(props) });
}
