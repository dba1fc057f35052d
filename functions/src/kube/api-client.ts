/**
 * A small, fast Kubernetes REST client for the providers: JSON in, JSON out, one pool of
 * kept-alive connections per cluster, short connect timeouts, retries for the answers that
 * deserve one, and API discovery (which kinds exist, their plural names and scope).
 *
 * Why not the generated clients of `@kubernetes/client-node`: their generic object API maps every
 * body through its model classes (dropping fields the models do not know, which hides typos from
 * the API server's strict field validation) and opens a fresh connection pool for every request;
 * and importing them brings the whole generated API (about a megabyte) into the Lambda package.
 * This client needs only Node's own `https` and the {@link ClusterAccess} (endpoint, CA, token).
 */
import { Agent, request as httpsRequest } from 'node:https';
import { getClusterAccess, type ClusterAccess } from './cluster-access';
import { TOKEN_REFRESH_MS } from './token';

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

/** The API server answered with an error status; `message` is the server's own explanation. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    /** The Status object's reason, e.g. `NotFound`, `Invalid`, `AlreadyExists`, `Conflict`. */
    readonly reason: string | undefined,
    /** The API server's message, verbatim. */
    readonly apiMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(apiMessage);
    this.name = 'KubeApiError';
  }
}

/** The API server could not be reached at all (refused, timed out, DNS, TLS). */
export class KubeUnreachableError extends Error {
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

/** Error codes that mean the endpoint is not there (or not who it should be): fail fast, name it. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNECTTIMEOUT',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);
/** Errors on a connection that was fine a moment ago (a kept-alive socket closed by the server). */
const TRANSIENT_SOCKET = new Set(['ECONNRESET', 'EPIPE']);
/**
 * Endpoints that just failed to connect, by URL: for a few seconds every request to them fails at
 * once with the same error, so a failed Create's cleanup (and anything else in the same
 * invocation) does not wait out another connect timeout to learn what is already known.
 */
const unreachable = new Map<string, { error: unknown; at: number }>();
const UNREACHABLE_MEMO_MS = 15_000;

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/**
 * Throttling and gateway errors are retried. A 500 is retried once: it is as often a transient
 * etcd or webhook failure as a verdict on the request (server-side apply answers 500 for a field
 * the schema does not declare, which no retry will fix).
 */
function shouldRetry(status: number, body: string, attempt: number): boolean {
  if (RETRY_STATUS.has(status)) return attempt < 5;
  return status === 500 && attempt < 1 && !body.includes('failed to create typed patch object');
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Default `application/json` when a body is given. */
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /**
   * Default true: throttling and server errors (429, 5xx; see `shouldRetry`) are retried with
   * backoff. False answers them at once, for a caller with its own retry loop and time limit.
   */
  retryErrorStatus?: boolean;
}

export interface KubeClientOptions {
  /** Milliseconds to wait for a TCP/TLS connection. Default 4,000: an unreachable cluster fails in seconds. */
  connectTimeoutMs?: number;
  /** Milliseconds a request may go without any answer on its connection. Default 60,000. */
  requestTimeoutMs?: number;
  /** Connections kept to the API server (requests beyond it queue). Default 16. */
  connections?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * A client for one cluster. Requests run concurrently over a pool of kept-alive connections;
 * discovery answers are cached per group/version and refreshed on demand (after CRDs appear).
 *
 * @example
 * const client = await clientForCluster('ci');
 * const res = await client.resourceFor('apps/v1', 'Deployment');
 * const dep = await client.request('GET', client.objectPath(res!, 'web', 'default'));
 */
export class KubeClient {
  private readonly agent: Agent;
  private readonly url: URL;
  private readonly basePath: string;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly discovery = new Map<string, Promise<ApiResource[] | undefined>>();
  private groupsCache?: Promise<string[]>;
  private token?: { value: Promise<string>; mintedAt: number };

  constructor(
    readonly access: ClusterAccess,
    options: KubeClientOptions = {},
  ) {
    this.url = new URL(access.server);
    this.basePath = this.url.pathname.replace(/\/+$/, '');
    this.connectTimeoutMs = options.connectTimeoutMs ?? 4_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.connections ?? 16,
      ca: access.caData,
      ...(access.clientCert ? { cert: access.clientCert } : {}),
      ...(access.clientKey ? { key: access.clientKey } : {}),
    });
  }

  get server(): string {
    return this.access.server;
  }

  /**
   * The bearer token: the static one, or an EKS token minted on first use and again every
   * {@link TOKEN_REFRESH_MS} (well inside its lifetime), shared by concurrent requests.
   */
  private async bearer(): Promise<string | undefined> {
    const mint = this.access.refreshToken;
    if (!mint) return this.access.token;
    const now = Date.now();
    if (!this.token || now - this.token.mintedAt >= TOKEN_REFRESH_MS) {
      // The token getClusterAccess minted a moment ago is good for the first round.
      const value = !this.token && this.access.token ? Promise.resolve(this.access.token) : mint();
      const entry = { value, mintedAt: now };
      this.token = entry;
      value.catch(() => {
        if (this.token === entry) this.token = undefined;
      });
    }
    return this.token.value;
  }

  /** One HTTP exchange; connection failures reject with the socket's error (its `code` set). */
  private send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || 443,
          path,
          method,
          headers,
          agent: this.agent,
          signal,
          timeout: this.requestTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      // `timeout` is inactivity on the socket; a request that never gets an answer is abandoned.
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error(`no answer within ${this.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
      req.on('socket', (socket) => {
        // A kept-alive socket is connected already; a new one gets a short connect timeout.
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            req.destroy(
              Object.assign(new Error(`connect timed out after ${this.connectTimeoutMs} ms`), {
                code: 'ECONNECTTIMEOUT',
              }),
            ),
          this.connectTimeoutMs,
        );
        socket.once('secureConnect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.end(body);
    });
  }

  /**
   * One API request. Resolves with the parsed JSON body for 2xx answers; throws
   * {@link KubeApiError} for error statuses (after retrying throttling and gateway errors, see
   * `shouldRetry`) and {@link KubeUnreachableError} when the server cannot be reached.
   */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const fullPath = `${this.basePath}${path}${query.size ? `?${query}` : ''}`;
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const known = unreachable.get(this.access.server);
    if (known && Date.now() - known.at < UNREACHABLE_MEMO_MS)
      throw new KubeUnreachableError(this.access.server, this.access.clusterName, known.error);
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      const token = await this.bearer();
      const headers: Record<string, string> = {
        accept: options.accept ?? 'application/json',
        'user-agent': 'kubecfn',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      };
      if (body !== undefined) {
        headers['content-type'] = options.contentType ?? 'application/json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      let res;
      try {
        res = await this.send(method, fullPath, headers, body, options.signal);
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason ?? error;
        const code = (error as { code?: string }).code ?? '';
        if (TRANSIENT_SOCKET.has(code) && attempt < 3) {
          await sleep(100 * 2 ** attempt, options.signal);
          continue;
        }
        if (
          UNREACHABLE.has(code) ||
          TRANSIENT_SOCKET.has(code) ||
          /certificate|self.signed|ssl|tls/i.test(String((error as Error).message))
        ) {
          unreachable.set(this.access.server, { error, at: Date.now() });
          throw new KubeUnreachableError(this.access.server, this.access.clusterName, error);
        }
        throw error;
      }
      const text = res.text;
      if (res.status >= 200 && res.status < 300) return (text ? JSON.parse(text) : undefined) as T;
      if (options.retryErrorStatus !== false && shouldRetry(res.status, text, attempt)) {
        const retryAfter = Number(res.headers['retry-after']);
        const wait =
          Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 5) * 1000 : 200 * 2 ** attempt;
        await sleep(wait * (0.75 + Math.random() / 2), options.signal);
        continue;
      }
      let status: { reason?: string; message?: string } = {};
      try {
        status = JSON.parse(text) as typeof status;
      } catch {
        status = { message: text.trim() || `HTTP ${res.status}` };
      }
      throw new KubeApiError(res.status, status.reason, status.message || `HTTP ${res.status}`, method, path);
    }
  }

  /** GET that answers `undefined` for 404 instead of throwing. */
  async getOrUndefined<T = KubeObject>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path, { signal });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * The resources served for `apiVersion` (`v1`, `apps/v1`), or `undefined` when the API server
   * does not serve that group/version. Cached; `refresh` asks again (after CRDs were applied).
   */
  async resources(
    apiVersion: string,
    options: { refresh?: boolean; signal?: AbortSignal } = {},
  ): Promise<ApiResource[] | undefined> {
    let found = options.refresh ? undefined : this.discovery.get(apiVersion);
    if (!found) {
      found = this.fetchResources(apiVersion, options.signal);
      this.discovery.set(apiVersion, found);
      // A failure (not a 404) is not cached: the next call asks again.
      found.catch(() => this.discovery.delete(apiVersion));
    }
    return found;
  }

  private async fetchResources(apiVersion: string, signal?: AbortSignal): Promise<ApiResource[] | undefined> {
    const [group, version] = apiVersion.includes('/')
      ? (apiVersion.split('/', 2) as [string, string])
      : ['', apiVersion];
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const list = await this.getOrUndefined<{ resources?: Array<Partial<ApiResource>> }>(path, signal);
    if (!list) return undefined;
    return (list.resources ?? [])
      .filter((r) => r.name && !r.name.includes('/')) // subresources (deployments/scale) are not kinds
      .map((r) => ({
        name: r.name!,
        singularName: r.singularName || r.kind!.toLowerCase(),
        kind: r.kind!,
        group,
        version,
        namespaced: !!r.namespaced,
        verbs: r.verbs ?? [],
        shortNames: r.shortNames ?? [],
      }));
  }

  /** The resource serving `kind` in `apiVersion`, or `undefined` when the API server does not know it. */
  async resourceFor(
    apiVersion: string,
    kind: string,
    options: { refresh?: boolean; signal?: AbortSignal } = {},
  ): Promise<ApiResource | undefined> {
    let list = await this.resources(apiVersion, options);
    let found = list?.find((r) => r.kind === kind);
    if (!found && !options.refresh) {
      // Discovery may predate a CRD applied since; ask once more before saying no.
      list = await this.resources(apiVersion, { ...options, refresh: true });
      found = list?.find((r) => r.kind === kind);
    }
    return found;
  }

  /** Every group/version the server prefers (`v1` first), for resolving `kind/name` without a group. */
  async preferredVersions(signal?: AbortSignal): Promise<string[]> {
    this.groupsCache ??= this.request<{ groups?: Array<{ preferredVersion?: { groupVersion?: string } }> }>(
      'GET',
      '/apis',
      { signal },
    ).then((list) => [
      'v1',
      ...(list.groups ?? []).map((g) => g.preferredVersion?.groupVersion).filter((v): v is string => !!v),
    ]);
    this.groupsCache.catch(() => (this.groupsCache = undefined));
    return this.groupsCache;
  }

  /** Forgets cached discovery (e.g. after CRDs changed). */
  forgetDiscovery(): void {
    this.discovery.clear();
    this.groupsCache = undefined;
  }

  /** `/apis/apps/v1/namespaces/web/deployments/api` and the like. */
  objectPath(resource: ApiResource, name?: string, namespace?: string): string {
    const root = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
    const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${root}${ns}/${resource.name}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  }

  close(): void {
    this.agent.destroy();
  }
}

interface CachedClient {
  client: Promise<KubeClient>;
  at: number;
}

/** Clients kept across invocations of a warm Lambda container, by cluster name. */
const clients = new Map<string, CachedClient>();
/** How long a cluster's endpoint and CA (from DescribeCluster) are trusted before asking again. */
const CLIENT_TTL_MS = 5 * 60_000;

/**
 * A client for the cluster named `clusterName` (see {@link getClusterAccess}), reused while the
 * container stays warm: its connections and discovery cache survive from one invocation to the
 * next. `fresh` looks the cluster up again (after the endpoint failed, or to check it still exists).
 *
 * @example
 * const client = await clientForCluster(props.ClusterName);
 */
export async function clientForCluster(clusterName: string, options: { fresh?: boolean } = {}): Promise<KubeClient> {
  const cached = clients.get(clusterName);
  if (cached && !options.fresh && Date.now() - cached.at < CLIENT_TTL_MS) return cached.client;
  if (cached) void cached.client.then((c) => c.close()).catch(() => undefined);
  const client = getClusterAccess({ clusterName }).then((access) => new KubeClient(access));
  const entry = { client, at: Date.now() };
  clients.set(clusterName, entry);
  client.catch(() => {
    if (clients.get(clusterName) === entry) clients.delete(clusterName);
  });
  return client;
}

/** Drops the cached client of a cluster (its endpoint failed), so the next call looks it up again. */
export function forgetCluster(clusterName: string): void {
  const cached = clients.get(clusterName);
  clients.delete(clusterName);
  if (cached) void cached.client.then((c) => c.close()).catch(() => undefined);
}

/**
 * Runs `fn` with a client of its own for `access` and closes the client's connections afterwards:
 * for a step that has just looked the cluster up (and must not reuse a cached endpoint).
 *
 * @example
 * const exists = await withKubeClient(access, async (client) => (await client.getOrUndefined(`/api/v1/namespaces/${name}`)) !== undefined);
 */
export async function withKubeClient<T>(access: ClusterAccess, fn: (client: KubeClient) => Promise<T>): Promise<T> {
  const client = new KubeClient(access);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
