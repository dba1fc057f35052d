/** Cluster access for the providers: EKS bearer tokens, endpoint and CA, and a lean Kubernetes REST client. */
export {
  CLUSTER_ID_HEADER,
  EKS_TOKEN_PREFIX,
  PRESIGN_EXPIRES_SECONDS,
  TOKEN_LIFETIME_MS,
  TOKEN_REFRESH_MS,
  getEksToken,
} from './token';
export type { EksTokenOptions } from './token';
export {
  CLUSTER_ACCESS_ENV,
  ClusterDeletingError,
  ClusterGoneError,
  ClusterNotFoundError,
  ClusterNotReadyError,
  getClusterAccess,
} from './cluster-access';
export type { ClusterAccess, ClusterAccessOptions, ExplicitClusterAccess } from './cluster-access';
export {
  KubeApiError,
  KubeClient,
  KubeUnreachableError,
  clientForCluster,
  forgetCluster,
  withKubeClient,
} from './api-client';
export type { ApiResource, KubeClientOptions, KubeObject, RequestOptions } from './api-client';
export {
  Level,
  LEVEL_COUNT,
  ManifestError,
  describeObject,
  expandLists,
  groupOf,
  levelOf,
  listName,
  objectKey,
  objectList,
  resolveObjects,
  resolvePending,
} from './objects';
export type { ManifestObject, ResolveOptions } from './objects';
export {
  DEFAULT_CONCURRENCY,
  FIELD_MANAGER,
  OWNER_ANNOTATION,
  applyObjects,
  deleteObject,
  deleteObjects,
  deletionState,
  mapPool,
  propagationPolicyFor,
  readinessOfObjects,
} from './apply';
export type { ApplyOptions, DeleteState, NotReady } from './apply';
export { needsReadinessCheck, readinessOf } from './readiness';
export type { Readiness } from './readiness';
export { JsonPathError, checkJsonPath, evaluateJsonPath } from './jsonpath';
