/**
 * `Custom::KubeGet`: reads one value out of a Kubernetes object — a load balancer's hostname, a
 * secret-less status field, an annotation — retrying until the object exists and the JSONPath has
 * a value, then answers it as the `Value` attribute. Delete does nothing: it reads, never writes.
 */
import {
  ClusterGoneError,
  clientForCluster,
  evaluateJsonPath,
  forgetCluster,
  KubeApiError,
  KubeUnreachableError,
  type ApiResource,
  type KubeClient,
} from '../../kube';
import { defineResource, done, inProgress, ResourceError, type StepContext, type StepResult } from '../../runtime';
import { schema, type ObjectRef, type Props } from './schema';

export interface State {
  /** Epoch ms when TimeoutSeconds runs out. */
  deadlineAt: number;
}

const STEP_MARGIN_MS = 2_000;
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `service/jenkins` as the property reads, or `v1 Service jenkins` for a map. */
const describeRef = (ref: ObjectRef) =>
  'resource' in ref ? `${ref.resource}/${ref.name}` : `${ref.apiVersion} ${ref.kind} ${ref.name}`;

/**
 * The resource type `kind/name` names, as kubectl resolves it: plural, singular, short name or
 * kind, case-insensitive, optionally with `.group` or `.version.group`; the core group first.
 */
async function resourceForName(
  client: KubeClient,
  spec: string,
  signal: AbortSignal,
): Promise<ApiResource | undefined> {
  const [head, ...rest] = spec.split('.');
  const wanted = head!.toLowerCase();
  let group = rest.join('.');
  let version: string | undefined;
  if (rest.length >= 2 && /^v\d+((alpha|beta)\d+)?$/.test(rest[0]!)) {
    version = rest[0];
    group = rest.slice(1).join('.');
  }
  const matches = (r: ApiResource) =>
    r.name === wanted || r.singularName === wanted || r.shortNames.includes(wanted) || r.kind.toLowerCase() === wanted;
  let candidates: string[];
  if (version) candidates = [group ? `${group}/${version}` : version];
  else {
    const preferred = await client.preferredVersions(signal);
    candidates = group ? preferred.filter((v) => v.startsWith(`${group}/`)) : preferred;
  }
  const lists = await Promise.all(candidates.map((v) => client.resources(v, { signal }).catch(() => undefined)));
  for (const list of lists) {
    const found = list?.find(matches);
    if (found) return found;
  }
  return undefined;
}

async function resolve(client: KubeClient, ref: ObjectRef, signal: AbortSignal): Promise<ApiResource> {
  const resource =
    'resource' in ref
      ? await resourceForName(client, ref.resource, signal)
      : await client.resourceFor(ref.apiVersion, ref.kind, { signal });
  if (!resource) {
    const what = 'resource' in ref ? `resource type ${ref.resource}` : `kind ${ref.kind} in ${ref.apiVersion}`;
    throw new ResourceError(`Object (${describeRef(ref)}): the API server does not know ${what}`);
  }
  return resource;
}

async function read(state: State, props: Props, ctx: StepContext): Promise<StepResult<State>> {
  let client: KubeClient;
  try {
    client = await clientForCluster(props.ClusterName);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ResourceError(
      message.startsWith('ClusterName') || error instanceof ClusterGoneError
        ? message
        : `ClusterName '${props.ClusterName}': ${message}`,
      { cause: error },
    );
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
      if (value !== undefined) return done({ data: { Value: value } });
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
    if (error instanceof KubeUnreachableError) {
      forgetCluster(props.ClusterName);
      throw new ResourceError(error.message, { cause: error });
    }
    if (error instanceof KubeApiError) {
      throw new ResourceError(
        `ClusterName '${props.ClusterName}': the API server at ${client.server} answered ${error.status} to ${error.method} ${error.path}: ${error.apiMessage}`,
        { cause: error },
      );
    }
    throw error;
  }
}

const start = (props: Props): State => ({ deadlineAt: Date.now() + props.TimeoutSeconds * 1000 });

export default defineResource<Props, State>({
  type: 'Custom::KubeGet',
  schema,
  attributes: ['Value'],
  create: (props, ctx) => read(start(props), props, ctx),
  // Whatever changed (object, path, cluster), reading again is all there is to do.
  update: (props, _old, ctx) => read(start(props), props, ctx),
  delete: async () => done(),
  continue: (state, props, ctx) => read(state, props, ctx),
  // Nothing was written, so a failed Create leaves nothing to clean up.
  cleanupFailedCreate: async () => done(),
});
