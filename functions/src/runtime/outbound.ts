/**
 * Every network call of the runtime, in one small file: the response PUT to CloudFormation's
 * pre-signed URL, and the asynchronous Lambda Invoke that continues the work in a fresh invocation.
 *
 * Each is a swappable default, as in the AWS CDK provider framework's `runtime/outbound.ts`: a test
 * replaces it here (and puts it back afterwards) to see what would have been sent, or to make a
 * call fail; production code never does. Retries and logging stay with the callers (respond.ts,
 * continuation.ts), so a replacement sees each attempt.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ContinuationEvent } from './types';

export interface Outbound {
  /**
   * One PUT of `body` to the pre-signed response URL; resolves with the HTTP status, rejects on a
   * network error or when no answer came within `timeoutMs`.
   */
  putResponse(url: string, body: string, timeoutMs: number): Promise<number>;
  /**
   * Starts the next invocation: an asynchronous (`Event`) Invoke of `functionArn` with `payload`.
   * `signal` aborts it (the caller's time limit).
   */
  invokeContinuation(functionArn: string, payload: ContinuationEvent, signal?: AbortSignal): Promise<void>;
}

function putOnce(url: string, body: string, timeoutMs: number): Promise<number> {
  const parsed = new URL(url);
  const request = parsed.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      parsed,
      {
        method: 'PUT',
        // CloudFormation's pre-signed URL is signed with an empty content type.
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function invokeAsync(functionArn: string, payload: ContinuationEvent, signal?: AbortSignal): Promise<void> {
  const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
  signal?.throwIfAborted();
  const client = new LambdaClient({});
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionArn,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
    signal ? { abortSignal: signal } : {},
  );
  if (out.StatusCode !== 202) throw new Error(`asynchronous self-invocation answered HTTP ${out.StatusCode}`);
}

/** The calls in use. Tests replace them here; production code never does. */
export const outbound: Outbound = {
  putResponse: putOnce,
  invokeContinuation: invokeAsync,
};
