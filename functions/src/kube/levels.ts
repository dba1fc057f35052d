/**
 * Dependency levels: the order in which the objects of a manifest are applied (namespaces and CRDs
 * first, webhooks last), and deleted (backwards).
 */

/** Dependency levels: each is applied (in parallel) after the previous one, and deleted before it. */
export const Level = {
  /** Namespaces, CRDs and other cluster-wide prerequisites. */
  Foundation: 0,
  /** What workloads refer to: service accounts, config, RBAC, storage claims, policies. */
  Configuration: 1,
  /** Everything else built in: workloads, services, ingresses… */
  Workload: 2,
  /** Objects of kinds defined by CRDs (in this manifest or unknown when the apply starts). */
  Custom: 3,
  /** Admission webhooks and API services last: they intercept requests for everything else. */
  Interceptor: 4,
} as const;
export const LEVEL_COUNT = 5;

const foundation = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'IngressClass',
  'RuntimeClass',
]);
const configuration = new Set([
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ResourceQuota',
  'LimitRange',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'PodSecurityPolicy',
]);
const interceptor = new Set([
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'APIService',
]);

/** `apps/v1` → `apps`; `v1` → `` (the core group). */
export const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/** Built-in groups are the core group, `*.k8s.io` and the dotless ones (`apps`, `batch`…); others come from CRDs or aggregated APIs. */
const isCustomGroup = (group: string) => group !== '' && group.includes('.') && !group.endsWith('.k8s.io');

/**
 * The level of a kind: by the table above when built in, {@link Level.Custom} for CRD-served kinds.
 *
 * @example
 * levelOf('', 'Namespace');    // Level.Foundation
 * levelOf('apps', 'Deployment'); // Level.Workload
 */
export function levelOf(group: string, kind: string): number {
  if (isCustomGroup(group)) return Level.Custom;
  if (foundation.has(kind)) return Level.Foundation;
  if (interceptor.has(kind)) return Level.Interceptor;
  if (configuration.has(kind)) return Level.Configuration;
  return Level.Workload;
}
