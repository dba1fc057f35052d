/**
 * One CloudFormation request as this invocation handles it, built once: the event, the Lambda
 * context, the deadlines that bound the work, the ids a FAILED answer carries, and the one answer
 * the request gets (sent at most once, whoever sends it: the steps or the deadline guard).
 */
import { describeError } from './errors';
import type { LedgerSession } from './ledger';
import type { Logger } from './logger';
import { createFailedId } from './physical-id';
import { putResponse, serializeResponse } from './respond';
import type { CloudFormationEvent, Continuation, ContinuationEvent, LambdaContext, ResponseBody } from './types';

/** CloudFormation's default and maximum ServiceTimeout, in seconds. */
export const DEFAULT_SERVICE_TIMEOUT = 3600;

/**
 * Safety margin before the Lambda deadline: time to answer (with retries) after giving up.
 * A tenth of the time left, between 1.5 s and 20 s.
 */
export const invocationMargin = (remainingMs: number) =>
  Math.min(20_000, Math.max(1_500, Math.round(remainingMs * 0.1)));

/** Margin before the overall deadline (ServiceTimeout): a tenth of it, between 1 s and 60 s. */
export const overallMargin = (serviceTimeoutSeconds: number) =>
  Math.min(60_000, Math.max(1_000, serviceTimeoutSeconds * 100));

/** An answer to send to CloudFormation. */
export type Answer = { kind: 'answer'; body: ResponseBody; recorded?: boolean };

/**
 * What handling a request comes to: an answer to send, the work gone on in a new invocation, or
 * nothing to send (the request is another invocation's, or answered already).
 */
export type Outcome = Answer | { kind: 'continued' } | { kind: 'silent'; why: string };

export class Request {
  /** The state carried from the previous invocation, when this one continues the work. */
  readonly continuation: Continuation | undefined;
  /** 0 in the first invocation, then 1, 2… for each continuation. */
  readonly attempt: number;
  /** When this invocation started (epoch ms). */
  readonly invokedAt: number;
  /** Milliseconds the invocation had left when it started. */
  readonly remainingAtStart: number;
  /** The resource's ServiceTimeout, in seconds (CloudFormation's default when absent or invalid). */
  readonly serviceTimeout: number;
  /** When the first invocation for this request started: the overall deadline counts from it. */
  readonly startedAt: number;
  /** Epoch ms when the whole request must be answered, derived from the ServiceTimeout. */
  readonly overallDeadline: number;
  /** Epoch ms by which the steps must return: the invocation's deadline less a margin, or the overall deadline if sooner. */
  readonly deadline: number;
  /** Epoch ms when Lambda ends the invocation. */
  readonly lambdaDeadline: number;
  /**
   * The physical id the work goes on with (the steps set it): a FAILED Create answers it instead of
   * the create-failed marker unless nothing ran or the cleanup finished.
   */
  physicalId: string | undefined;
  /** True once a resource step has started in this request (in this invocation or an earlier one). */
  workStarted: boolean;
  /** True once a step said it changes something (`ctx.changing()`). */
  changed = false;
  /** The resource says when it changes something (`tracksChanges`): else any step that ran may have. */
  tracksChanges = false;
  /** True once the cleanup after a failed Create has removed everything the Create applied. */
  cleanupComplete = false;
  /** This invocation's claim in the resource's request ledger, when it keeps one. */
  ledger: LedgerSession | undefined;
  private readonly logPointer: string;
  private answered = false;

  constructor(
    readonly event: CloudFormationEvent,
    readonly context: LambdaContext,
    readonly logger: Logger,
  ) {
    this.invokedAt = Date.now();
    this.continuation = (event as Partial<ContinuationEvent>).KubecfnContinuation;
    this.attempt = this.continuation?.attempt ?? 0;
    logger.resetKeys?.();
    logger.appendKeys({
      requestId: event.RequestId,
      resourceType: event.ResourceType,
      logicalResourceId: event.LogicalResourceId,
      requestType: event.RequestType,
      lambdaRequestId: context.awsRequestId,
      ...(this.continuation ? { continuation: this.continuation.attempt } : {}),
    });

    this.remainingAtStart = context.getRemainingTimeInMillis();
    this.lambdaDeadline = this.invokedAt + this.remainingAtStart;
    this.physicalId = this.continuation?.physicalId;
    this.workStarted = this.continuation !== undefined;
    this.logPointer = ` (log: ${context.logGroupName} ${context.logStreamName})`;
    // The invocation's own deadline, less the margin needed to answer.
    const invocationDeadline = this.invokedAt + this.remainingAtStart - invocationMargin(this.remainingAtStart);
    this.serviceTimeout = parseServiceTimeout(event.ResourceProperties?.ServiceTimeout);
    this.startedAt = this.continuation?.startedAt ?? this.invokedAt;
    this.overallDeadline = this.startedAt + this.serviceTimeout * 1000 - overallMargin(this.serviceTimeout);
    this.deadline = Math.min(invocationDeadline, this.overallDeadline);
  }

  /** The ids every answer carries. */
  private get base() {
    return {
      StackId: this.event.StackId,
      RequestId: this.event.RequestId,
      LogicalResourceId: this.event.LogicalResourceId,
    };
  }

  /**
   * Whether the work may have left something behind: a continuation, a change a step announced,
   * or (for a resource that does not track its changes) any step that ran.
   */
  get leftSomething(): boolean {
    return this.continuation !== undefined || this.changed || (this.workStarted && !this.tracksChanges);
  }

  /** True once the answer has been sent (or is being sent). */
  get isAnswered(): boolean {
    return this.answered;
  }

  /**
   * The physical id of a FAILED answer. A Create answers the create-failed marker (its rollback
   * Delete then succeeds at once) only when nothing is left behind: no step ran, or the cleanup
   * after the failure finished. Otherwise it answers the id the work went on with, so that the
   * rollback Delete runs the resource's delete and finishes the cleanup. Update and Delete answer
   * the current id (a replacement that failed is no replacement).
   */
  get failedPhysicalId(): string {
    const { event } = this;
    if (event.RequestType === 'Create') {
      return !this.leftSomething || this.cleanupComplete || !this.physicalId ? createFailedId(event) : this.physicalId;
    }
    return event.PhysicalResourceId ?? this.continuation?.physicalId ?? createFailedId(event);
  }

  /** A FAILED answer with `reason`. */
  failed(reason: string): Answer {
    return {
      kind: 'answer',
      body: { ...this.base, Status: 'FAILED', Reason: reason, PhysicalResourceId: this.failedPhysicalId },
    };
  }

  /** A SUCCESS answer. */
  succeeded(physicalId: string, extra: Pick<ResponseBody, 'NoEcho' | 'Data'> = {}): Answer {
    return { kind: 'answer', body: { ...this.base, Status: 'SUCCESS', PhysicalResourceId: physicalId, ...extra } };
  }

  /** Why the request ran out of time: its ServiceTimeout (`overall`, or when that is what is up), else the invocation's. */
  deadlineReason(overall = false): string {
    const { event } = this;
    return overall || Date.now() >= this.overallDeadline - 50
      ? `${event.ResourceType} did not finish within its ServiceTimeout of ${this.serviceTimeout} s (started ${new Date(this.startedAt).toISOString()})`
      : `${event.ResourceType} did not finish before the Lambda function's timeout; the step was still running ${Math.round((Date.now() - this.invokedAt) / 1000)} s in`;
  }

  /**
   * Sends the answer to CloudFormation, once: a second call does nothing. A FAILED Reason ends with
   * the log stream, unless `recorded` (an earlier invocation's answer, sent again as it was).
   */
  async answer(body: ResponseBody, options: { recorded?: boolean } = {}): Promise<void> {
    if (this.answered) return;
    this.answered = true;
    const text = serializeResponse(body, body.Status === 'FAILED' && !options.recorded ? this.logPointer : '');
    // Recorded before it is sent: a later delivery of this request sends the same answer again.
    const deleted = this.event.RequestType === 'Delete';
    await this.ledger?.settle(JSON.parse(text) as ResponseBody, this.lambdaDeadline - Date.now() - 1_000, deleted);
    this.logger.info('response', {
      status: body.Status,
      physicalResourceId: body.PhysicalResourceId,
      reason: body.Reason,
      data: body.NoEcho ? '<NoEcho>' : body.Data,
      bytes: Buffer.byteLength(text),
    });
    try {
      await putResponse(this.event.ResponseURL, text, {
        deadline: this.invokedAt + this.remainingAtStart - 250,
        onRetry: (attempt, error) => this.logger.warn('response PUT failed, retrying', { attempt, error }),
      });
    } catch (error) {
      this.logger.error('response not delivered', { error: describeError(error) });
    }
    await this.ledger?.finish(this.lambdaDeadline - Date.now() - 500);
  }
}

function parseServiceTimeout(raw: unknown): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 1 ? Math.min(n, DEFAULT_SERVICE_TIMEOUT) : DEFAULT_SERVICE_TIMEOUT;
}
