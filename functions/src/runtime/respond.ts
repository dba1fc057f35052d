/**
 * The answer to CloudFormation: builds the response body within the 4,096-byte limit and PUTs it to
 * the pre-signed response URL (through outbound.ts), retrying with backoff and jitter.
 */
import { sleep } from '../shared';
import { outbound } from './outbound';
import type { ResponseBody } from './types';

/** CloudFormation rejects larger bodies with "Response object is too long". */
export const MAX_RESPONSE_BYTES = 4096;
const TRUNCATED = ' [truncated]';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function cutToBytes(text: string, max: number): string {
  if (bytes(text) <= max) return text;
  let out = Buffer.from(text, 'utf8').subarray(0, Math.max(0, max)).toString('utf8');
  while (bytes(out) > max || out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out;
}

/**
 * Serialises a response, shrinking it until it fits: first the Data values (longest first; every
 * key stays, because CloudFormation fails a GetAtt whose attribute is missing), then the Reason
 * (keeping its head, where the cause is, and the log-stream pointer at its end).
 *
 * @example
 * const body = serializeResponse({ Status: 'FAILED', Reason: hugeMessage, ... });
 * Buffer.byteLength(body) <= 4096; // always
 */
export function serializeResponse(response: ResponseBody, suffix = ''): string {
  const body: ResponseBody = { ...response, Data: response.Data ? { ...response.Data } : undefined };
  if (body.Reason !== undefined) body.Reason = body.Reason + suffix;
  let text = JSON.stringify(body);
  if (bytes(text) <= MAX_RESPONSE_BYTES) return text;

  if (body.Data) {
    const data = body.Data;
    // Shorten the longest value until the body fits; a value that cannot shrink further becomes ''.
    for (;;) {
      const over = bytes(JSON.stringify(body)) - MAX_RESPONSE_BYTES;
      if (over <= 0) break;
      const longest = Object.entries(data).sort((a, b) => bytes(b[1]) - bytes(a[1]))[0];
      if (!longest || longest[1] === '') break;
      const [key, value] = longest;
      // JSON escaping can make a value cost more than its bytes: aim below what is strictly needed.
      const keep = bytes(value) - over - TRUNCATED.length - 16;
      data[key] = keep > 0 ? cutToBytes(value, keep) + TRUNCATED : '';
    }
    text = JSON.stringify(body);
    if (bytes(text) <= MAX_RESPONSE_BYTES) return text;
  }

  if (body.Reason !== undefined) {
    const reasonBytes = bytes(JSON.stringify(body.Reason));
    const budget = MAX_RESPONSE_BYTES - (bytes(text) - reasonBytes) - 2 /* quotes */ - 16; /* escaping slack */
    const tail = `${TRUNCATED}${suffix}`;
    let head = cutToBytes(response.Reason ?? '', Math.max(0, budget - bytes(tail)));
    body.Reason = head + tail;
    text = JSON.stringify(body);
    while (bytes(text) > MAX_RESPONSE_BYTES && head.length > 0) {
      head = head.slice(0, Math.max(0, head.length - Math.ceil((bytes(text) - MAX_RESPONSE_BYTES) / 2) - 1));
      body.Reason = head + tail;
      text = JSON.stringify(body);
    }
  }
  if (bytes(text) > MAX_RESPONSE_BYTES) {
    // Only reachable when the ids themselves are enormous: drop Data rather than send nothing.
    body.Data = undefined;
    text = JSON.stringify(body);
  }
  return text;
}

/**
 * When CloudFormation issued a request, read from its pre-signed ResponseURL: SigV4 URLs carry
 * `X-Amz-Date` (the signing time), SigV2 URLs `Expires` (CloudFormation signs them for 2 hours).
 * Undefined when the URL says neither.
 *
 * @example
 * issuedAt('https://…/x?X-Amz-Date=20261201T120000Z&X-Amz-Expires=7200&…'); // Date.UTC(2026, 11, 1, 12)
 */
export function issuedAt(responseUrl: string): number | undefined {
  let query: URLSearchParams;
  try {
    query = new URL(responseUrl).searchParams;
  } catch {
    return undefined;
  }
  const amzDate = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get('X-Amz-Date') ?? '');
  if (amzDate) {
    const [y, mo, d, h, mi, se] = amzDate.slice(1).map(Number) as [number, number, number, number, number, number];
    return Date.UTC(y, mo - 1, d, h, mi, se);
  }
  const expires = Number(query.get('Expires') ?? NaN);
  return Number.isInteger(expires) && expires > 7200 ? (expires - 7200) * 1000 : undefined;
}

/** The path (path-style) or host (virtual-hosted) prefix of CloudFormation's response buckets, one per Region. */
const RESPONSE_BUCKET = 'cloudformation-custom-resource-response-';
/** S3's hosts in every partition: `s3.amazonaws.com`, `s3.eu-west-1.amazonaws.com`, `s3-external-1…`, `….amazonaws.com.cn`. */
const S3_HOST = /^s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/;

/**
 * Why an answer must not go to `responseUrl`, or undefined when it may: answers go to
 * CloudFormation's response bucket in S3 only — over https on S3's own hosts, or path-style on the
 * S3 endpoint the function is configured with (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, as
 * the SDK reads them; set only by whoever may change the function's configuration). Anyone allowed
 * to invoke a provider can hand it any event: this keeps its answers (Data read from the cluster
 * included) from going anywhere else. The reason never quotes the URL (it is a credential).
 *
 * @example
 * responseUrlProblem('https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn…'); // undefined
 * responseUrlProblem('http://attacker.example/x'); // 'ResponseURL: expected CloudFormation's …'
 */
export function responseUrlProblem(responseUrl: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const expected =
    "ResponseURL: expected CloudFormation's pre-signed URL of its response bucket in S3 (https://cloudformation-custom-resource-response-<region>.s3.amazonaws.com/…)";
  let url: URL;
  try {
    url = new URL(responseUrl);
  } catch {
    return `${expected}; got no URL`;
  }
  const host = url.hostname.toLowerCase();
  const pathStyle = url.pathname.startsWith(`/${RESPONSE_BUCKET}`);
  if (url.protocol === 'https:') {
    if (host.startsWith(RESPONSE_BUCKET) && S3_HOST.test(host.slice(host.indexOf('.') + 1))) return undefined;
    if (pathStyle && S3_HOST.test(host)) return undefined;
  }
  const configured = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (configured && pathStyle) {
    try {
      if (new URL(configured).origin === url.origin) return undefined;
    } catch {
      // An endpoint that is no URL matches nothing.
    }
  }
  return `${expected}; got a URL on another host${url.protocol === 'https:' ? '' : ' and not https'}`;
}

export interface SendOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  /** First backoff in ms; doubles each retry, with full jitter. */
  baseDelayMs?: number;
  /** Per-attempt timeout in ms. */
  timeoutMs?: number;
  /** Epoch ms after which no retry starts (the Lambda deadline): better one lost answer than a killed process. */
  deadline?: number;
  /** Called after each failed attempt (for the log); never sees the URL. */
  onRetry?: (attempt: number, error: string) => void;
}

/**
 * PUTs the body to the pre-signed URL. Retries network errors and 5xx/429 answers with exponential
 * backoff and full jitter; a 4xx other than 429 is final (the URL is wrong or expired).
 *
 * @returns the HTTP status of the accepted attempt.
 * @throws after the last attempt, with a message that never contains the URL.
 */
export async function putResponse(url: string, body: string, options: SendOptions = {}): Promise<number> {
  const refused = responseUrlProblem(url);
  if (refused) throw new Error(`the answer was not sent: ${refused}`);
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 200;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const status = await outbound.putResponse(url, body, options.timeoutMs ?? 10_000);
      if (status >= 200 && status < 300) return status;
      lastError = `HTTP ${status}`;
      if (status < 500 && status !== 429) break;
    } catch (error) {
      lastError =
        error instanceof Error
          ? `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}`
          : String(error);
      lastError = lastError.split(url).join('<response-url>');
    }
    if (attempt < attempts) {
      const cap = Math.min(5_000, base * 2 ** (attempt - 1));
      const delay = Math.round(Math.random() * cap);
      if (options.deadline !== undefined && Date.now() + delay + 1_000 > options.deadline) break;
      options.onRetry?.(attempt, lastError);
      await sleep(delay);
    }
  }
  throw new Error(`could not deliver the response to CloudFormation: ${lastError}`);
}
