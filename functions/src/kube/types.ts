/** The shapes the kube layer speaks in: Kubernetes objects as JSON, and resource types as discovery reports them. */

/** A Kubernetes object as JSON: only the fields every object has are typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** One resource type as discovery describes it. */
export interface ApiResource {
  /** Plural name used in paths, e.g. `deployments`. */
  name: string;
  singularName: string;
  kind: string;
  /** `''` for the core group. */
  group: string;
  version: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
}
