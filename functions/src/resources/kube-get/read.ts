/**
 * Read: the object's value at the JSONPath, polled until the object exists and the path has a
 * value, handed on to the next invocation when this one runs short, and FAILED after TimeoutSeconds.
 */
import {
  clientForCluster,
  evaluateJsonPath,
  forgetCluster,
  KubeUnreachableError,
  type ApiResource,
  type KubeClient,
} from '../../kube';
import { done, inProgress, ResourceError, type StepContext, type StepResult } from '../../runtime';
import { sleep } from '../../shared';
import { clusterLookupError, toResourceError } from '../cluster-errors';
import { describeRef, resolve } from './resolve';
import type { Props } from './schema';

/** Core `secrets`: what they hold is never echoed. */
const isSecret = (r: ApiResource) => r.group === '' && r.name === 'secrets';

export interface State {
  /** Epoch ms when TimeoutSeconds runs out. */
  deadlineAt: number;
}

const STEP_MARGIN_MS = 2_000;
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 3_000;

export async function read(state: State, props: Props, ctx: StepContext): Promise<StepResult<State>> {
  let client: KubeClient;
  try {
    client = await clientForCluster(props.ClusterName);
  } catch (error) {
    throw clusterLookupError(error, props.ClusterName);
  }
  const ref = props.Object;
  const namespace = ('namespace' in ref && ref.namespace) || props.Namespace;
  try {
    const resource = await resolve(client, ref, ctx.signal);
    const path = client.objectPath(resource, ref.name, namespace);
    const where = resource.namespaced ? ` in namespace ${namespace}` : '';
    let wait = POLL_FIRST_MS;
    for (;;) {
      const live = await client.getOrUndefined(path, ctx.signal);
      const value = live ? evaluateJsonPath(props.JsonPath, live) : undefined;
      // A Secret's data is a secret whatever the path: never echoed, never logged.
      if (value !== undefined) return done({ data: { Value: value }, noEcho: props.NoEcho || isSecret(resource) });
      if (Date.now() >= state.deadlineAt) {
        const problem = live ? `JsonPath ${props.JsonPath} has no value` : 'the object does not exist';
        throw new ResourceError(
          `Object (${describeRef(ref)}${where}): ${problem} after ${props.TimeoutSeconds} s (TimeoutSeconds)`,
        );
      }
      if (ctx.deadline - STEP_MARGIN_MS - Date.now() < wait) return inProgress<State>(state, { pollAfterSeconds: 1 });
      await sleep(Math.min(wait, Math.max(0, state.deadlineAt - Date.now())));
      wait = Math.min(POLL_MAX_MS, Math.round(wait * 1.5));
    }
  } catch (error) {
    // The next request looks the cluster up again: its endpoint may have changed.
    if (error instanceof KubeUnreachableError) forgetCluster(props.ClusterName);
    throw toResourceError(error);
  }
}
