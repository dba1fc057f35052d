/**
 * The kube layer's errors: one family under {@link KubeError}. Each names itself and carries its
 * data; each message is already written for the person reading a CloudFormation event (it names
 * ClusterName, the object or the server). The resources turn them into Reasons in one place,
 * resources/cluster-errors.ts; nothing here knows about CloudFormation.
 */
import type { ManifestObject } from './objects';

/** Base of every error the kube layer throws on purpose. */
export class KubeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeError';
  }
}

/** The API server answered with an error status; `message` is the server's own explanation. */
export class KubeApiError extends KubeError {
  /** The HTTP status, e.g. 404, 409, 422. */
  readonly status: number;
  /** The Status object's reason, e.g. `NotFound`, `Invalid`, `AlreadyExists`, `Conflict`. */
  readonly reason: string | undefined;
  /** The API server's message, verbatim. */
  readonly apiMessage: string;
  readonly method: string;
  readonly path: string;
  /** The API server that answered. */
  readonly server: string;
  /** The cluster the client was made for (the resource's ClusterName). */
  readonly clusterName: string;

  constructor(answer: {
    status: number;
    reason: string | undefined;
    apiMessage: string;
    method: string;
    path: string;
    server: string;
    clusterName: string;
  }) {
    super(answer.apiMessage);
    this.name = 'KubeApiError';
    this.status = answer.status;
    this.reason = answer.reason;
    this.apiMessage = answer.apiMessage;
    this.method = answer.method;
    this.path = answer.path;
    this.server = answer.server;
    this.clusterName = answer.clusterName;
  }
}

/** The API server could not be reached at all (refused, timed out, DNS, TLS). */
export class KubeUnreachableError extends KubeError {
  constructor(
    readonly server: string,
    readonly clusterName: string,
    cause: unknown,
  ) {
    super(`ClusterName '${clusterName}': cannot reach the API server at ${server}: ${causeText(cause)}`, { cause });
    this.name = 'KubeUnreachableError';
  }
}

function causeText(error: unknown): string {
  const e = error as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const inner = e?.cause?.message && e.cause.message !== e.message ? ` (${e.cause.message})` : '';
  const text = `${e?.message || e?.code || String(error)}${inner}`;
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The cluster is gone or going: DescribeCluster does not know it, or it is being deleted.
 * A Delete treats this as success — there is nothing left to remove objects from.
 */
export class ClusterGoneError extends KubeError {
  constructor(
    message: string,
    readonly clusterName: string,
    readonly region: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ClusterGoneError';
  }
}

/** DescribeCluster answered ResourceNotFoundException. */
export class ClusterNotFoundError extends ClusterGoneError {
  constructor(clusterName: string, region: string, options?: ErrorOptions) {
    super(`ClusterName '${clusterName}': cluster not found in region ${region}`, clusterName, region, options);
    this.name = 'ClusterNotFoundError';
  }
}

/** The cluster's status is DELETING (a stack delete racing the cluster's own deletion). */
export class ClusterDeletingError extends ClusterGoneError {
  constructor(clusterName: string, region: string) {
    super(
      `ClusterName '${clusterName}': cluster is being deleted (status DELETING) in region ${region}`,
      clusterName,
      region,
    );
    this.name = 'ClusterDeletingError';
  }
}

/** The cluster exists but cannot be used: still being created, failed, or without an endpoint yet. */
export class ClusterNotReadyError extends KubeError {
  constructor(
    message: string,
    readonly clusterName: string,
    readonly status: string | undefined,
  ) {
    super(message);
    this.name = 'ClusterNotReadyError';
  }
}

/** Thrown for a manifest the cluster cannot take; the message names the object and its place. */
export class ManifestError extends KubeError {
  constructor(
    message: string,
    /** The objects the API server refused, when the error is about some of them. */
    readonly failed: readonly ManifestObject[] = [],
    /** What the API server answered for each of `failed`, in the same order. */
    readonly errors: readonly unknown[] = [],
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** A JSONPath template that cannot be understood; the message says where. */
export class JsonPathError extends KubeError {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}
