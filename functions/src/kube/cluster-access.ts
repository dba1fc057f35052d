/**
 * How the providers find a cluster: endpoint, CA and a bearer token, from EKS DescribeCluster and an
 * EKS token signed with the function's role (or given explicitly, see ./local-access).
 */
import { DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ClusterDeletingError, ClusterNotFoundError, ClusterNotReadyError } from './errors';
import { localAccessFor } from './local-access';
import { getEksToken } from './token';

/** Everything a Kubernetes client needs to reach and authenticate to one cluster. */
export interface ClusterAccess {
  /** EKS cluster name (or the key the explicit access was found under). */
  clusterName: string;
  /** API server URL, e.g. `https://ABC.gr7.eu-west-1.eks.amazonaws.com`. */
  server: string;
  /** Cluster CA bundle, PEM. */
  caData: string;
  /** Bearer token: an EKS token (valid ~14 minutes, see {@link refreshToken}) or a static one given explicitly. */
  token?: string;
  /** Client certificate, PEM (explicit access only). */
  clientCert?: string;
  /** Client private key, PEM (explicit access only). */
  clientKey?: string;
  /** EKS cluster status from DescribeCluster (`ACTIVE` or `UPDATING`); absent for explicit access. */
  status?: string;
  /**
   * Mints a fresh bearer token. Set for EKS access, whose tokens expire; a `KubeClient` calls it
   * (see `TOKEN_REFRESH_MS`) so a long-lived client never sends an expired token.
   */
  refreshToken?: () => Promise<string>;
}

/** Endpoint, CA and credential given directly instead of looked up with DescribeCluster. */
export interface ExplicitClusterAccess {
  /** API server URL. */
  server: string;
  /** Cluster CA, PEM or base64 of PEM (kubeconfig `certificate-authority-data` style). */
  caData: string;
  /** Static bearer token. */
  token?: string;
  /** Client certificate, PEM or base64 of PEM. */
  clientCert?: string;
  /** Client private key, PEM or base64 of PEM. */
  clientKey?: string;
}

/** Options of {@link getClusterAccess}. */
export interface ClusterAccessOptions {
  /** EKS cluster name (the `ClusterName` property of the custom resource). */
  clusterName: string;
  /** Region of the cluster. Default: the EKS client's region, else `AWS_REGION` / `AWS_DEFAULT_REGION`. */
  region?: string;
  /** EKS client for DescribeCluster. Default: a client for `region` (it honours `AWS_ENDPOINT_URL`). */
  eks?: EKSClient;
  /** Credentials that sign the EKS token. Default: the EKS client's credentials. */
  credentials?: AwsCredentialIdentityProvider;
  /** Skip DescribeCluster and use this endpoint/CA/credential (local control plane, tests). */
  explicit?: ExplicitClusterAccess;
  /** Aborts DescribeCluster (the request's signal: nothing goes on after the deadline guard's answer). */
  signal?: AbortSignal;
}

/** PEM as given, or decoded from base64 (the form kubeconfig files and DescribeCluster use). */
function toPem(value: string): string {
  return value.trimStart().startsWith('-----BEGIN') ? value : Buffer.from(value, 'base64').toString('utf8');
}

function fromExplicit(clusterName: string, explicit: ExplicitClusterAccess): ClusterAccess {
  return {
    clusterName,
    server: explicit.server,
    caData: toPem(explicit.caData),
    ...(explicit.token ? { token: explicit.token } : {}),
    ...(explicit.clientCert ? { clientCert: toPem(explicit.clientCert) } : {}),
    ...(explicit.clientKey ? { clientKey: toPem(explicit.clientKey) } : {}),
  };
}

/**
 * Finds how to reach a cluster, in this order:
 * 1. `opts.explicit`;
 * 2. the entry for `clusterName` (or `*`) in the `KUBECFN_CLUSTER_ACCESS` environment variable —
 *    JSON, or the path of a JSON file, mapping cluster names to {@link ExplicitClusterAccess}.
 *    This is how local mode points the unchanged, bundled Lambda code at the local control plane;
 *    in AWS the variable is unset (see ./local-access);
 * 3. EKS `DescribeCluster` for endpoint and CA, and {@link getEksToken} for a bearer token signed
 *    with the EKS client's credentials (the provider's role, granted access by an access entry).
 *
 * Throws {@link ClusterNotFoundError} or {@link ClusterDeletingError} (both {@link ClusterGoneError},
 * which a Delete treats as success) and {@link ClusterNotReadyError} for CREATING, PENDING or FAILED.
 *
 * @example
 * ```ts
 * const access = await getClusterAccess({ clusterName: props.ClusterName });
 * const namespaces = await withKubeClient(access, (client) => client.request('GET', '/api/v1/namespaces'));
 *
 * // local control plane, no AWS involved
 * const local = await getClusterAccess({
 *   clusterName: 'local',
 *   explicit: { server: 'https://127.0.0.1:6443', caData: caPem, token: 'admin-token' },
 * });
 * ```
 */
export async function getClusterAccess(opts: ClusterAccessOptions): Promise<ClusterAccess> {
  const { clusterName } = opts;
  if (!clusterName) throw new Error('ClusterName: expected the name of an EKS cluster, got an empty value');
  const explicit = opts.explicit ?? localAccessFor(clusterName);
  if (explicit) return fromExplicit(clusterName, explicit);

  const envRegion = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const wantedRegion = opts.region ?? envRegion;
  const eks = opts.eks ?? new EKSClient(wantedRegion ? { region: wantedRegion } : {});
  const region = opts.region ?? (await eks.config.region().catch(() => undefined)) ?? envRegion;
  if (!region) throw new Error(`ClusterName '${clusterName}': no AWS region; set AWS_REGION or pass a region`);

  let cluster;
  try {
    opts.signal?.throwIfAborted();
    ({ cluster } = await eks.send(
      new DescribeClusterCommand({ name: clusterName }),
      opts.signal ? { abortSignal: opts.signal } : {},
    ));
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    // By name as well: a second copy of the SDK (another bundle, a test's module registry) has its own class.
    if (err instanceof ResourceNotFoundException || (err as Error).name === 'ResourceNotFoundException')
      throw new ClusterNotFoundError(clusterName, region, { cause: err });
    throw new Error(
      `ClusterName '${clusterName}': DescribeCluster failed in region ${region}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!cluster) throw new ClusterNotFoundError(clusterName, region);

  const status = cluster.status;
  if (status === 'DELETING') throw new ClusterDeletingError(clusterName, region);
  if (status === 'FAILED') {
    throw new ClusterNotReadyError(
      `ClusterName '${clusterName}': cluster creation failed (status FAILED) in region ${region}; expected ACTIVE`,
      clusterName,
      status,
    );
  }
  if (status === 'CREATING' || status === 'PENDING') {
    throw new ClusterNotReadyError(
      `ClusterName '${clusterName}': cluster is not ready (status ${status}) in region ${region}; expected ACTIVE — make the resource depend on the cluster`,
      clusterName,
      status,
    );
  }
  const caBase64 = cluster.certificateAuthority?.data;
  if (!cluster.endpoint || !caBase64) {
    throw new ClusterNotReadyError(
      `ClusterName '${clusterName}': DescribeCluster returned no ${cluster.endpoint ? 'certificate authority' : 'endpoint'} (status ${status ?? 'unknown'}) in region ${region}`,
      clusterName,
      status,
    );
  }

  const credentials = opts.credentials ?? eks.config.credentials;
  const refreshToken = () => getEksToken({ clusterName, region, credentials });
  return {
    clusterName,
    server: cluster.endpoint,
    caData: Buffer.from(caBase64, 'base64').toString('utf8'),
    token: await refreshToken(),
    ...(status ? { status } : {}),
    refreshToken,
  };
}
