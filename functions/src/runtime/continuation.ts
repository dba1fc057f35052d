/**
 * The continuation: work longer than one invocation polls in this one while another step fits,
 * then goes on in a fresh asynchronous invocation of the same function, which carries the step's
 * state, the physical id and the request's start (the overall deadline counts from it) beside the
 * original event. The Invoke itself is outbound.ts's; it gets its own time limit, so a hung Invoke
 * still leaves time to answer.
 *
 * Nothing goes on once the deadline guard has answered: no further poll, no hand-over.
 */
import { sleep } from '../shared';
import type { DeadlineGuard } from './deadline';
import { describeError } from './errors';
import { outbound } from './outbound';
import type { Outcome, Request } from './request';
import type { Done, StepResult } from './resource';
import type { Continuation, ContinuationEvent } from './types';

/** What the continuation needs of the resource's steps. */
export interface Steps {
  /** The physical id so far; a step may change it. */
  physicalId: string;
  /** How long the last step took, in ms. */
  readonly lastStepMs: number;
  /** Runs the resource's `continue` step on `state`. */
  continueWith(state: unknown): Promise<StepResult<unknown>>;
}

/**
 * Takes a step's result to its end in this invocation: `done`, polled again while another step
 * fits before the deadline, or handed over to a new invocation. Errors of the steps propagate.
 */
export async function pollOrContinue(
  request: Request,
  steps: Steps,
  first: StepResult<unknown>,
  guard: DeadlineGuard,
): Promise<Done | Outcome> {
  let result = first;
  const answered = { kind: 'silent', why: 'the deadline guard has answered' } as const;
  // Poll in this invocation while another step fits, then hand over to a fresh one.
  while (!result.done) {
    if (guard.fired) return answered;
    if (result.physicalId) steps.physicalId = result.physicalId;
    const pollMs = (result.pollAfterSeconds ?? 5) * 1000;
    const now = Date.now();
    // Too little time left to be worth another invocation: answer now rather than race the guard.
    if (now + pollMs + 1_000 >= request.overallDeadline) return request.failed(request.deadlineReason(true));
    if (now + pollMs + Math.max(steps.lastStepMs, 250) < request.deadline) {
      await sleep(pollMs, guard.signal);
      result = await steps.continueWith(result.state);
      continue;
    }
    // The first invocation's start travels on: the overall deadline counts from it.
    const next: Continuation = {
      state: result.state,
      startedAt: request.startedAt,
      attempt: request.attempt + 1,
      physicalId: steps.physicalId,
    };
    // The guard and the hand-over exclude each other: after the guard's answer, nothing goes on.
    if (!guard.standDown()) return answered;
    try {
      await handOver(request, next, pollMs);
    } catch (error) {
      request.logger.error('could not continue in a new invocation', { error: describeError(error) });
      return request.failed(
        `${request.event.ResourceType} needed more time but could not continue in a new invocation: ${describeError(error)}`,
      );
    }
    return { kind: 'continued' };
  }
  return result;
}

/** Time kept after a hand-over's Invoke gives up, for the FAILED answer (with its retries). */
const ANSWER_RESERVE_MS = 1_000;
/** The shortest time an Invoke is given, even at the very end of an invocation. */
const MIN_INVOKE_MS = 500;

/** Lambda's limit for an asynchronous invocation's payload (1 MB), which CloudFormation's own event also met. */
export const MAX_ASYNC_PAYLOAD_BYTES = 1_048_576;

async function handOver(request: Request, next: Continuation, pollMs: number): Promise<void> {
  const { KubecfnContinuation: _previous, ...original } = request.event as ContinuationEvent;
  let payload: ContinuationEvent = { ...original, KubecfnContinuation: next };
  let payloadBytes = Buffer.byteLength(JSON.stringify(payload));
  if (payloadBytes > MAX_ASYNC_PAYLOAD_BYTES && original.OldResourceProperties) {
    // An event that fitted Lambda's limit may not fit with the step's state beside it: the previous
    // properties (which only an Update's own steps read) go first, and the next invocation is told.
    const { OldResourceProperties: _old, ...withoutOld } = original;
    payload = { ...withoutOld, KubecfnContinuation: { ...next, oldPropertiesDropped: true } };
    payloadBytes = Buffer.byteLength(JSON.stringify(payload));
    request.logger.warn('the hand-over leaves OldResourceProperties out to fit the asynchronous payload limit', {
      payloadBytes,
    });
  }
  if (payloadBytes > MAX_ASYNC_PAYLOAD_BYTES)
    throw new Error(
      `the hand-over's payload would be ${payloadBytes} bytes (the step's state ${Buffer.byteLength(JSON.stringify(next.state ?? null))}), over Lambda's ${MAX_ASYNC_PAYLOAD_BYTES}-byte limit for asynchronous invocations`,
    );
  // The wait before the next poll is spent here only if it fits; otherwise the next invocation polls at once.
  if (Date.now() + pollMs < request.deadline) await sleep(pollMs);
  request.logger.info('continuing in a new invocation', { attempt: next.attempt, payloadBytes });
  // The request record awaits the next attempt: an older delivery arriving later stays silent.
  await request.ledger?.handOver(next.attempt);
  const timeoutMs = Math.max(MIN_INVOKE_MS, request.lambdaDeadline - Date.now() - ANSWER_RESERVE_MS);
  await withTimeout(
    (signal) => outbound.invokeContinuation(request.context.invokedFunctionArn, payload, signal),
    timeoutMs,
    `the asynchronous Invoke did not complete within ${timeoutMs} ms`,
  );
}

/**
 * Runs `fn` with a signal that aborts after `ms`, and rejects with `message` at that moment even if
 * `fn` ignores its signal.
 */
async function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, message: string): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(message);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
