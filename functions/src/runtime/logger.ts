/**
 * Structured JSON logs, one line per step (Powertools Logger), and the redaction that keeps
 * secrets out of them: the response URL (a pre-signed S3 URL anyone could answer with), properties a
 * resource marks sensitive, and Data when the response is NoEcho.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationEvent } from './types';

export const MASK = '****';

/** One logger per provider process; the runtime appends request keys per invocation. */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.KUBECFN_LOG_LEVEL ?? 'INFO') as 'INFO' });
}

export type { Logger };

/**
 * A copy of the event that is safe to log: ResponseURL replaced, the named properties masked in
 * both ResourceProperties and OldResourceProperties, and any pre-signed query string cut off.
 *
 * @example
 * logger.info('request', { event: redactEvent(event, ['Values']) });
 */
export function redactEvent(event: CloudFormationEvent, sensitive: readonly string[] = []): Record<string, unknown> {
  const mask = (props: Record<string, unknown> | undefined) => {
    if (!props) return props;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) out[k] = sensitive.includes(k) ? MASK : redactString(v);
    return out;
  };
  const {
    ResponseURL: _url,
    ResourceProperties,
    OldResourceProperties,
    ...rest
  } = event as CloudFormationEvent & Record<string, unknown>;
  const copy: Record<string, unknown> = {
    ...rest,
    ResponseURL: '<redacted>',
    ResourceProperties: mask(ResourceProperties),
  };
  if (OldResourceProperties) copy.OldResourceProperties = mask(OldResourceProperties);
  delete copy.KubecfnContinuation;
  return copy;
}

/**
 * Strips signatures and credentials from any URL-looking text, recursively for objects: pre-signed
 * query strings, and the user and password of a URL (`https://user:pw@host` → `https://****@host`).
 */
export function redactString(value: unknown): unknown {
  if (typeof value === 'string')
    return value
      .replace(
        /([?&](X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId)=)[^&\s"']+/gi,
        `$1${MASK}`,
      )
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@"'<>]+@/gi, `$1${MASK}@`);
  if (Array.isArray(value)) return value.map(redactString);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactString(v)]));
  return value;
}
