/**
 * Which resource type the `Object` property names, resolved through the cluster's discovery the way
 * kubectl resolves `kind/name`.
 */
import type { ApiResource, KubeClient } from '../../kube';
import { ResourceError } from '../../runtime';
import type { ObjectRef } from './schema';

/** `service/jenkins` as the property reads, or `v1 Service jenkins` for a map. */
export const describeRef = (ref: ObjectRef) =>
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

export async function resolve(client: KubeClient, ref: ObjectRef, signal: AbortSignal): Promise<ApiResource> {
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
