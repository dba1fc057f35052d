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
export { getClusterAccess } from './cluster-access';
export type { ClusterAccess, ClusterAccessOptions, ExplicitClusterAccess } from './cluster-access';
export { CLUSTER_ACCESS_ENV } from './local-access';
export {
  KubeError,
  KubeApiError,
  KubeUnreachableError,
  ClusterGoneError,
  ClusterNotFoundError,
  ClusterDeletingError,
  ClusterNotReadyError,
  ManifestError,
  JsonPathError,
} from './errors';
export { KubeClient } from './api-client';
export type { KubeClientOptions, RequestOptions } from './api-client';
export { clientForCluster, forgetCluster, withKubeClient } from './clients';
export type { ApiResource, KubeObject } from './types';
export { Level, LEVEL_COUNT, groupOf, levelOf } from './levels';
export {
  describeObject,
  expandLists,
  listName,
  objectKey,
  objectList,
  resolveObjects,
  resolvePending,
} from './objects';
export type { ManifestObject, ResolveOptions } from './objects';
export { discoverAll, type Discovery } from './discovery';
export { typeBySchema, typeByServerSchema, crdVersionSchema, markUntyped, isUntyped, type JsonSchema } from './openapi';
export {
  ADOPTED_ANNOTATION,
  DEFAULT_CONCURRENCY,
  FIELD_MANAGER,
  MAX_FIELD_MANAGER,
  OWNER_ANNOTATION,
  claimOf,
  fieldManagerFor,
  applyObjects,
  deleteObject,
  deleteObjects,
  deletionState,
  mapPool,
  propagationPolicyFor,
  readinessOfObjects,
} from './apply';
export type { ApplyOptions, Claim as ApplyClaim, DeleteOptions, DeleteState, NotReady } from './apply';
export { needsReadinessCheck, readinessOf, whatHolds, whatHoldsAt } from './readiness';
export type { Readiness } from './readiness';
export { checkJsonPath, evaluateJsonPath } from './jsonpath';
export { describeOutage, webhookOutageIn, type WebhookOutage } from './webhooks';
