/**
 * The kube client's transport: one HTTP exchange with the API server over a pool of kept-alive
 * connections, with a short connect timeout, and the policy that says what a failed exchange means
 * (retry it, or the endpoint is unreachable).
 */
import { request as httpsRequest, type Agent } from 'node:https';

/** What the API server answered. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Where and how an exchange goes: the server's URL, the connection pool and the two timeouts. */
export interface Connection {
  url: URL;
  agent: Agent;
  /** Milliseconds to wait for a TCP/TLS connection. */
  connectTimeoutMs: number;
  /** Milliseconds a request may go without any answer on its connection. */
  requestTimeoutMs: number;
  /**
   * The API server's TLS settings (its CA, a client certificate), given with each request too: a
   * proxy's agent (a CONNECT tunnel) starts the server's TLS session from the request's options.
   */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** Error codes that mean the endpoint is not there (or not who it should be): fail fast, name it. */
export const UNREACHABLE = new Set([
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
export const TRANSIENT_SOCKET = new Set(['ECONNRESET', 'EPIPE']);
/**
 * Endpoints that just failed to connect, by URL: for a few seconds every request to them fails at
 * once with the same error, so a failed Create's cleanup (and anything else in the same
 * invocation) does not wait out another connect timeout to learn what is already known.
 */
const unreachable = new Map<string, { error: unknown; at: number }>();
const UNREACHABLE_MEMO_MS = 15_000;

/** The error an endpoint failed with in the last few seconds, if it did. */
export function knownUnreachable(server: string): { error: unknown } | undefined {
  const known = unreachable.get(server);
  return known && Date.now() - known.at < UNREACHABLE_MEMO_MS ? { error: known.error } : undefined;
}

/** Remembers that `server` just failed to connect (see {@link knownUnreachable}). */
export function rememberUnreachable(server: string, error: unknown): void {
  unreachable.set(server, { error, at: Date.now() });
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/**
 * Throttling and gateway errors are retried. A 500 is retried once: it is as often a transient
 * etcd or webhook failure as a verdict on the request (server-side apply answers 500 for a field
 * the schema does not declare, which no retry will fix).
 */
export function shouldRetry(status: number, body: string, attempt: number): boolean {
  if (RETRY_STATUS.has(status)) return attempt < 5;
  return status === 500 && attempt < 1 && !body.includes('failed to create typed patch object');
}

/** One HTTP exchange; connection failures reject with the socket's error (its `code` set). */
export function exchange(
  connection: Connection,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal?: AbortSignal,
): Promise<Answer> {
  const { url, agent, connectTimeoutMs, requestTimeoutMs } = connection;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || 443,
        path,
        method,
        headers,
        agent,
        ...connection.tls,
        signal,
        timeout: requestTimeoutMs,
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
      req.destroy(Object.assign(new Error(`no answer within ${requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('socket', (socket) => {
      // A kept-alive socket is connected already; a new one gets a short connect timeout.
      if (!socket.connecting) return;
      const timer = setTimeout(
        () =>
          req.destroy(
            Object.assign(new Error(`connect timed out after ${connectTimeoutMs} ms`), {
              code: 'ECONNECTTIMEOUT',
            }),
          ),
        connectTimeoutMs,
      );
      socket.once('secureConnect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    req.end(body);
  });
}
