/**
 * The continuation: work longer than one invocation polls in this one while another step fits,
 * then goes on in a fresh asynchronous invocation of the same function, which carries the step's
 * state, the physical id and the request's start (the overall deadline counts from it) beside the
 * original event. The Invoke itself is outbound.ts's.
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
  // Poll in this invocation while another step fits, then hand over to a fresh one.
  while (!result.done) {
    if (result.physicalId) steps.physicalId = result.physicalId;
    const pollMs = (result.pollAfterSeconds ?? 5) * 1000;
    const now = Date.now();
    // Too little time left to be worth another invocation: answer now rather than race the guard.
    if (now + pollMs + 1_000 >= request.overallDeadline) return request.failed(request.deadlineReason(true));
    if (now + pollMs + Math.max(steps.lastStepMs, 250) < request.deadline) {
      await sleep(pollMs);
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
    guard.standDown();
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

async function handOver(request: Request, next: Continuation, pollMs: number): Promise<void> {
  const { KubecfnContinuation: _previous, ...original } = request.event as ContinuationEvent;
  const payload: ContinuationEvent = { ...original, KubecfnContinuation: next };
  // The wait before the next poll is spent here only if it fits; otherwise the next invocation polls at once.
  if (Date.now() + pollMs < request.deadline) await sleep(pollMs);
  request.logger.info('continuing in a new invocation', {
    attempt: next.attempt,
    payloadBytes: Buffer.byteLength(JSON.stringify(payload)),
  });
  await outbound.invokeContinuation(request.context.invokedFunctionArn, payload);
}
