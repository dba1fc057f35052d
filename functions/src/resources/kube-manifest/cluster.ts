/** The cluster side of a step: a client for ClusterName, and the manifest's objects as its discovery knows them. */
import {
  ClusterGoneError,
  clientForCluster,
  expandLists,
  resolveObjects,
  type KubeClient,
  type KubeObject,
  type ManifestObject,
} from '../../kube';
import { clusterLookupError } from '../cluster-errors';
import type { Props } from './schema';
import type { State } from './state';

/** A client for the cluster, or `gone` when a Delete (or a cleanup) finds the cluster gone. */
export async function connect(clusterName: string, op: State['op']): Promise<KubeClient | 'gone'> {
  try {
    return await clientForCluster(clusterName);
  } catch (error) {
    if (error instanceof ClusterGoneError && (op === 'Delete' || op === 'Cleanup' || op === 'Undo')) return 'gone';
    throw clusterLookupError(error, clusterName);
  }
}

/** The objects of `props`, resolved against the cluster's discovery. */
export async function loadObjects(
  client: KubeClient,
  props: Props,
  unknownKinds: 'fail' | 'skip',
  signal: AbortSignal,
): Promise<ManifestObject[]> {
  const docs = expandLists(
    (props.Manifest ?? []) as unknown as KubeObject[],
    props.ManifestUrl ? 'ManifestUrl' : 'Manifest',
  );
  return resolveObjects(client, docs, { defaultNamespace: props.Namespace, unknownKinds, signal });
}
