/**
 * Read-modify-write of `kube-system/aws-auth` with optimistic concurrency: every write carries the
 * resourceVersion it was computed from, so a write that raced another (any other writer: a second
 * stack, eksctl, EKS itself) is refused with 409 Conflict instead of silently undoing it. Then the
 * ConfigMap is read again, the merge recomputed, and the write retried after a jittered backoff.
 */
import { KubeApiError, KubeUnreachableError, type KubeClient } from '../../kube';
import { ResourceError } from '../../runtime';
import type { Logger } from '../../runtime/logger';
import { sleep } from '../../shared';
import { MAPPING_KINDS, type MappingKind, type Mappings } from './mappings';
import { mergeAwsAuth, OWNERS_ANNOTATION, type MergeResult } from './merge';
import { YamlList } from './yaml-list';

export const AWS_AUTH_NAMESPACE = 'kube-system';
export const AWS_AUTH_NAME = 'aws-auth';

/**
 * Annotation written on `kube-system/aws-auth` when a `Custom::AwsAuth` created it (it did not
 * exist); its value is the creating owner id. Only a ConfigMap carrying it is ever deleted: when
 * the last owner lets go and nothing else is left in it. One that existed before (EKS's, eksctl's,
 * hand-written) is never deleted, only emptied of this resource's entries.
 */
export const CREATED_ANNOTATION = 'kubecfn.io/aws-auth-created-by';

/**
 * The ConfigMap as the API server sends it: JSON, every field kept (a write sends back what was
 * read, with only `data` and the ownership annotation changed).
 */
export interface AwsAuthConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** The three calls the merge needs; a narrow seam so tests can reach the rare branches. */
export interface AwsAuthStore {
  /** The ConfigMap, or undefined when it (or its namespace) does not exist. */
  read(): Promise<AwsAuthConfigMap | undefined>;
  /** Creates it; rejects with a {@link KubeStatusError} of status 409 if it exists already. */
  create(configMap: AwsAuthConfigMap): Promise<void>;
  /** Replaces it, conditional on `metadata.resourceVersion`; 409 when that is no longer current. */
  replace(configMap: AwsAuthConfigMap): Promise<void>;
  /**
   * Deletes it, conditional on its uid and `metadata.resourceVersion` (409 when anyone wrote since);
   * resolves when it is gone already.
   */
  remove(configMap: AwsAuthConfigMap): Promise<void>;
}

/**
 * An error status from the API server. Its message (the action and the server's own explanation)
 * is meant for the CloudFormation event as it is.
 */
export class KubeStatusError extends ResourceError {
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeStatusError';
  }
}

/** The API server could not be reached (refused, reset, timed out, TLS); `code` is the system's. */
export class ApiServerUnreachableError extends ResourceError {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ApiServerUnreachableError';
  }
}

/** Turns what the client threw into one of the errors above, with the server's words in it. */
function toStoreError(error: unknown, action: string, server: string): unknown {
  const what = `${action} ${AWS_AUTH_NAMESPACE}/${AWS_AUTH_NAME}`;
  if (error instanceof KubeApiError)
    return new KubeStatusError(error.status, error.reason, `${what}: ${error.apiMessage}`);
  // Not an HTTP answer: the request never got one. The client's own wrapper names the cluster; the
  // socket's error under it is what this message reports.
  const e = (error instanceof KubeUnreachableError ? error.cause : error) as {
    code?: unknown;
    message?: string;
    cause?: { code?: unknown; message?: string };
  };
  const code = [e?.code, e?.cause?.code].find((c): c is string => typeof c === 'string');
  const detail = [e?.message, e?.cause?.message].filter((m, i, all) => m && all.indexOf(m) === i).join(': ');
  return new ApiServerUnreachableError(
    `${what}: cannot reach the API server at ${server}: ${detail || String(e)}`,
    code,
    { cause: error },
  );
}

const CONFIG_MAPS = `/api/v1/namespaces/${AWS_AUTH_NAMESPACE}/configmaps`;
const AWS_AUTH_PATH = `${CONFIG_MAPS}/${AWS_AUTH_NAME}`;

/** How the store's requests go: the step's signal, and the resource's field manager for its writes. */
export interface StoreOptions {
  /**
   * The step's signal: once it aborts (the deadline guard has answered), no request is sent and
   * one in flight is abandoned, so no mapping is written after CloudFormation was answered.
   */
  signal?: AbortSignal;
  /** The field manager the writes are recorded under (`kubecfn/<stack>/<logical id>`). */
  fieldManager?: string;
}

/**
 * The store backed by the API server. Each call is one request: throttling and server errors come
 * back at once, for {@link updateAwsAuth} to retry with its own backoff and time limit.
 *
 * @example
 * const client = new KubeClient(await getClusterAccess({ clusterName }));
 * const store = apiServerStore(client, { signal: ctx.signal });
 */
export function apiServerStore(client: KubeClient, options: StoreOptions = {}): AwsAuthStore {
  const { signal } = options;
  const once = { retryErrorStatus: false, signal };
  const write = {
    ...once,
    ...(options.fieldManager ? { query: { fieldManager: options.fieldManager } } : {}),
  };
  return {
    async read() {
      try {
        return await client.request<AwsAuthConfigMap>('GET', AWS_AUTH_PATH, once);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const e = toStoreError(error, 'reading ConfigMap', client.server);
        if (e instanceof KubeStatusError && e.status === 404) return undefined;
        throw e;
      }
    },
    async create(body) {
      try {
        await client.request('POST', CONFIG_MAPS, { ...write, body });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw toStoreError(error, 'creating ConfigMap', client.server);
      }
    },
    async replace(body) {
      try {
        // The body's metadata.resourceVersion makes this PUT conditional: 409 if anyone wrote since.
        await client.request('PUT', AWS_AUTH_PATH, { ...write, body });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw toStoreError(error, 'updating ConfigMap', client.server);
      }
    },
    async remove(configMap) {
      const { uid, resourceVersion } = configMap.metadata ?? {};
      try {
        await client.request('DELETE', AWS_AUTH_PATH, {
          ...once,
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            preconditions: { ...(typeof uid === 'string' ? { uid } : {}), resourceVersion },
          },
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const e = toStoreError(error, 'deleting ConfigMap', client.server);
        if (e instanceof KubeStatusError && e.status === 404) return;
        throw e;
      }
    },
  };
}

/** Statuses worth another read-modify-write: a lost race, throttling, a server restarting. */
const RETRYABLE = new Set([409, 429, 500, 502, 503, 504]);

/** A lost race: worth retrying for as long as time allows. */
const isConflict = (error: unknown) => error instanceof KubeStatusError && error.status === 409;

/** Throttling, a server restarting, a dropped connection: worth a few more tries, not an unbounded wait. */
const isTransient = (error: unknown) =>
  error instanceof KubeStatusError
    ? RETRYABLE.has(error.status)
    : error instanceof ApiServerUnreachableError &&
      ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNECTTIMEOUT', 'EPIPE'].includes(error.code ?? '');

/** Transient failures tolerated in one step before giving up with the last one. */
const MAX_TRANSIENT_FAILURES = 5;

export interface UpdateOptions {
  /** Milliseconds the step may still use. */
  remainingMs(): number;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The step's signal: once aborted, nothing more is read or written (and no wait goes on). */
  signal?: AbortSignal;
}

export type UpdateOutcome =
  | { done: true; result: MergeResult; attempts: number }
  /** Ran out of time while other writers kept winning: go on in a later step. */
  | { done: false; attempts: number };

/** Time kept back for one more read and write after the last wait. */
const ATTEMPT_RESERVE_MS = 3_000;

/**
 * Applies `wanted` for `ownerId` (undefined: remove everything it owns) to aws-auth, retrying on
 * conflicts until it is written or time runs short. Creates the ConfigMap when it is absent and
 * there is something to add; when it is absent and nothing is wanted, there is nothing to do.
 *
 * @throws ResourceError from the merge (conflicting mappings, unreadable aws-auth);
 * KubeStatusError for an API error that retrying does not cure.
 * @example
 * const outcome = await updateAwsAuth(apiServerStore(client), ctx.physicalId, mappings, { remainingMs: ctx.remainingMs, logger: ctx.logger });
 */
export async function updateAwsAuth(
  store: AwsAuthStore,
  ownerId: string,
  wanted: Mappings | undefined,
  opts: UpdateOptions,
): Promise<UpdateOutcome> {
  let transient = 0;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      const current = await store.read();
      const result = mergeAwsAuth(
        { data: current?.data, ownersAnnotation: current?.metadata?.annotations?.[OWNERS_ANNOTATION] },
        ownerId,
        wanted,
      );
      if (current && wanted === undefined && isLeftEmpty(current, result)) {
        // A ConfigMap a Custom::AwsAuth created, with no owner and nothing else left in it: it goes
        // too, unless anyone wrote to it since it was read (the precondition refuses it then).
        opts.signal?.throwIfAborted();
        await store.remove(current);
        opts.logger.info('aws-auth deleted: a Custom::AwsAuth created it and nothing is left in it', {
          attempt,
          createdBy: current.metadata?.annotations?.[CREATED_ANNOTATION],
          resourceVersion: current.metadata?.resourceVersion,
        });
        return { done: true, result: { ...result, changed: true }, attempts: attempt };
      }
      if (!result.changed) return { done: true, result, attempts: attempt };
      opts.signal?.throwIfAborted();
      if (current) await store.replace(withContent(current, result));
      else
        await store.create(
          withContent(
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: {
                name: AWS_AUTH_NAME,
                namespace: AWS_AUTH_NAMESPACE,
                annotations: { [CREATED_ANNOTATION]: ownerId },
              },
            },
            result,
          ),
        );
      opts.logger.info('aws-auth written', {
        attempt,
        created: !current,
        resourceVersion: current?.metadata?.resourceVersion,
        appended: result.appended,
        rewritten: result.rewritten,
        removed: result.removed,
      });
      return { done: true, result, attempts: attempt };
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? error;
      if (!isConflict(error) && !(isTransient(error) && ++transient < MAX_TRANSIENT_FAILURES)) throw error;
      // Full jitter on an exponential base: concurrent writers spread out instead of colliding again.
      const wait = Math.round(Math.random() * Math.min(2_000, 50 * 2 ** Math.min(attempt, 10)));
      if (opts.remainingMs() < wait + ATTEMPT_RESERVE_MS || opts.signal?.aborted) {
        opts.logger.warn('aws-auth write still racing other writers; going on later', {
          attempt,
          error: (error as Error).message,
        });
        return { done: false, attempts: attempt };
      }
      opts.logger.info('aws-auth write lost a race or failed transiently; retrying', {
        attempt,
        waitMs: wait,
        error: (error as Error).message,
      });
      await sleep(wait, opts.signal);
    }
  }
}

/**
 * True when `current` is a ConfigMap a Custom::AwsAuth created ({@link CREATED_ANNOTATION}) and the
 * merge leaves it without any owner and without any entry or other data: deleting it then removes
 * nothing anyone else put there.
 */
function isLeftEmpty(current: AwsAuthConfigMap, result: MergeResult): boolean {
  if (!current.metadata?.annotations?.[CREATED_ANNOTATION] || result.ownersAnnotation !== undefined) return false;
  return Object.entries(result.data).every(([key, value]) => {
    if (!MAPPING_KINDS.includes(key as MappingKind)) return value.trim() === '';
    try {
      return YamlList.parse(value, key).entries.length === 0;
    } catch {
      return false;
    }
  });
}

/** `configMap` with the merge's data and ownership annotation; everything else kept as read. */
function withContent(configMap: AwsAuthConfigMap, result: MergeResult): AwsAuthConfigMap {
  const annotations = { ...(configMap.metadata?.annotations ?? {}) };
  if (result.ownersAnnotation === undefined) delete annotations[OWNERS_ANNOTATION];
  else annotations[OWNERS_ANNOTATION] = result.ownersAnnotation;
  const metadata = { ...configMap.metadata };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  return { ...configMap, metadata, data: result.data };
}
