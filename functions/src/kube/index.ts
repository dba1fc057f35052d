/** Cluster access for the providers: EKS bearer tokens, endpoint and CA, and Kubernetes client configuration. */
export { CLUSTER_ID_HEADER, EKS_TOKEN_PREFIX, PRESIGN_EXPIRES_SECONDS, TOKEN_LIFETIME_MS, TOKEN_REFRESH_MS, getEksToken } from './token';
export type { EksTokenOptions } from './token';
export {
  CLUSTER_ACCESS_ENV,
  ClusterDeletingError,
  ClusterGoneError,
  ClusterNotFoundError,
  ClusterNotReadyError,
  getClusterAccess,
  kubeConfigFor,
} from './cluster-access';
export type { ClusterAccess, ClusterAccessOptions, ExplicitClusterAccess } from './cluster-access';
