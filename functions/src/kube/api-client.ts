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
import { Agent } from 'node:https';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { sleep } from '../shared';
import type { ClusterAccess } from './cluster-access';
import { KubeApiError, KubeUnreachableError } from './errors';
import { TOKEN_REFRESH_MS } from './token';
import {
  exchange,
  knownUnreachable,
  rememberUnreachable,
  shouldRetry,
  TRANSIENT_SOCKET,
  UNREACHABLE,
  type Connection,
} from './transport';
import type { ApiResource, KubeObject } from './types';

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
  private readonly connection: Connection;
  private readonly basePath: string;
  private readonly discovery = new Map<string, Promise<ApiResource[] | undefined>>();
  private groupsCache?: Promise<string[]>;
  private token?: { value: Promise<string>; mintedAt: number };

  constructor(
    readonly access: ClusterAccess,
    options: KubeClientOptions = {},
  ) {
    const url = new URL(access.server);
    this.basePath = url.pathname.replace(/\/+$/, '');
    const tls = {
      keepAlive: true,
      maxSockets: options.connections ?? 16,
      ca: access.caData,
      ...(access.clientCert ? { cert: access.clientCert } : {}),
      ...(access.clientKey ? { key: access.clientKey } : {}),
    };
    // HTTPS_PROXY / NO_PROXY as helm (and the AWS SDK's users) read them: through the proxy, a
    // CONNECT tunnel, the TLS session (CA, client certificate) is still the API server's own.
    const proxy = getProxyForUrl(access.server);
    this.agent = proxy ? new HttpsProxyAgent(proxy, tls) : new Agent(tls);
    this.connection = {
      url,
      agent: this.agent,
      connectTimeoutMs: options.connectTimeoutMs ?? 4_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      ...(proxy
        ? {
            tls: {
              ca: access.caData,
              ...(access.clientCert ? { cert: access.clientCert } : {}),
              ...(access.clientKey ? { key: access.clientKey } : {}),
            },
          }
        : {}),
    };
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
    const known = knownUnreachable(this.access.server);
    if (known) throw new KubeUnreachableError(this.access.server, this.access.clusterName, known.error);
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
        res = await exchange(this.connection, method, fullPath, headers, body, options.signal);
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
          rememberUnreachable(this.access.server, error);
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
      throw new KubeApiError({
        status: res.status,
        reason: status.reason,
        apiMessage: status.message || `HTTP ${res.status}`,
        method,
        path,
        server: this.access.server,
        clusterName: this.access.clusterName,
      });
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
