/** Where a release lives, and how its physical id says so: `helm:<cluster>:<namespace>/<release>`. */
import type { ReleaseRef } from '../../helm';
import { defaultReleaseName, type HelmReleaseProps } from './schema';

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
