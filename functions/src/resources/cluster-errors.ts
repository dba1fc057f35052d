/**
 * The one translator from the cluster layers' errors (kube/errors.ts, helm/errors.ts) to the
 * `ResourceError` whose message CloudFormation shows as the Reason. The layers below write their
 * messages for people already (they name ClusterName, the object, the property); what is left is
 * the API server's answer, which gains who answered and to what.
 */
// The error modules alone: the KubeProvider's bundle carries no helm code.
import { ChartSourceError, ValuesError } from '../helm/errors';
import { KubeApiError, KubeError } from '../kube/errors';
import { ResourceError } from '../runtime/errors';

/**
 * The Reason for an error of the kube family (any `KubeError`) or for a chart or values problem of
 * the helm family; anything else is returned as it is, for the runtime to report (with the type,
 * the request type and the error's name).
 *
 * @example
 * try {
 *   await applyObjects(client, objects, { owner });
 * } catch (error) {
 *   throw toResourceError(error);
 * }
 */
export function toResourceError(error: unknown): unknown {
  if (error instanceof KubeApiError)
    return new ResourceError(
      `ClusterName '${error.clusterName}': the API server at ${error.server} answered ${error.status} to ${error.method} ${error.path}: ${error.apiMessage}`,
      { cause: error },
    );
  if (error instanceof KubeError || error instanceof ChartSourceError || error instanceof ValuesError)
    return new ResourceError(error.message, { cause: error });
  return error;
}

/**
 * The Reason for a cluster that could not be looked up (DescribeCluster, the cluster's state, the
 * token): the error's message, which names ClusterName, or prefixed with it when it does not.
 *
 * @example
 * const client = await clientForCluster(props.ClusterName).catch((error) => {
 *   throw clusterLookupError(error, props.ClusterName);
 * });
 */
export function clusterLookupError(error: unknown, clusterName: string): ResourceError {
  const message = error instanceof Error ? error.message : String(error);
  return new ResourceError(message.startsWith('ClusterName') ? message : `ClusterName '${clusterName}': ${message}`, {
    cause: error,
  });
}
