/**
 * A resource's own steps for one request: each run with its step context and logged with its
 * duration, the physical id they settle on, and the cleanup after a failed Create.
 */
import { sleep } from '../shared';
import type { Steps as ContinuationSteps } from './continuation';
import { describeError } from './errors';
import { defaultPhysicalId } from './physical-id';
import type { DataValue, ResourceDefinition, StepContext, StepResult } from './resource';
import type { Request } from './request';

export type AnyDefinition = ResourceDefinition<unknown, unknown>;

export class Steps implements ContinuationSteps {
  private id: string;
  lastStepMs = 0;

  constructor(
    private readonly request: Request,
    private readonly definition: AnyDefinition,
    private readonly props: unknown,
    private readonly oldProps: unknown,
    private readonly signal: AbortSignal,
  ) {
    const { event, continuation } = request;
    this.id =
      continuation?.physicalId ??
      (event.RequestType === 'Create'
        ? (definition.physicalId?.(props, event) ?? defaultPhysicalId(event))
        : event.PhysicalResourceId!);
    request.physicalId = this.id;
  }

  /** The physical id so far; a step may change it (the request's FAILED answer follows it). */
  get physicalId(): string {
    return this.id;
  }

  set physicalId(id: string) {
    this.id = id;
    this.request.physicalId = id;
  }

  /** The context a step gets now (with the physical id as it stands). */
  context(): StepContext {
    const { request } = this;
    return {
      event: request.event,
      requestType: request.event.RequestType,
      physicalId: this.physicalId,
      logger: request.logger,
      deadline: request.deadline,
      overallDeadline: request.overallDeadline,
      remainingMs: () => Math.max(0, request.deadline - Date.now()),
      signal: this.signal,
      attempt: request.attempt,
      changing: () => {
        request.changed = true;
      },
    };
  }

  /** The step this invocation starts with: `continue` for a continuation, else the request type's own. */
  first(): Promise<StepResult<unknown>> {
    const { definition: d, props } = this;
    const { event, continuation } = this.request;
    if (continuation) return this.continueWith(continuation.state);
    if (event.RequestType === 'Create') return this.run('create', () => d.create(props, this.context()));
    if (event.RequestType === 'Update') return this.run('update', () => d.update(props, this.oldProps, this.context()));
    return this.run('delete', () => d.delete(props, this.context()));
  }

  continueWith(state: unknown): Promise<StepResult<unknown>> {
    return this.run('continue', () => this.definition.continue!(state, this.props, this.context()));
  }

  private async run(name: string, fn: () => Promise<StepResult<unknown>>): Promise<StepResult<unknown>> {
    const { logger } = this.request;
    const stepStarted = Date.now();
    this.request.workStarted = true;
    logger.info('step started', { step: name, physicalResourceId: this.physicalId });
    const r = await fn();
    this.lastStepMs = Date.now() - stepStarted;
    logger.info('step finished', { step: name, ms: this.lastStepMs, done: r.done });
    return r;
  }

  /**
   * Removes what a failed Create applied (the resource's `cleanupFailedCreate`, else its `delete`),
   * polling while time is left. A failure is logged, the Create's own Reason stands. Answers
   * whether the cleanup finished (and marks the request so): only then may the Create answer the
   * create-failed marker; otherwise its FAILED answer carries the physical id, and the rollback
   * Delete finishes the cleanup.
   */
  async cleanupFailedCreate(): Promise<boolean> {
    const { definition, props } = this;
    const { logger } = this.request;
    const ctx = this.context();
    const cleanup = definition.cleanupFailedCreate ?? definition.delete;
    let complete = false;
    try {
      let r = await cleanup.call(definition, props, ctx);
      while (!r.done && definition.continue && ctx.remainingMs() > (r.pollAfterSeconds ?? 5) * 1000) {
        await sleep((r.pollAfterSeconds ?? 5) * 1000, this.signal);
        r = await definition.continue(r.state, props, { ...ctx, requestType: 'Delete' });
      }
      complete = r.done && !this.signal.aborted;
      logger.info('cleanup after failed create', { complete });
    } catch (error) {
      logger.error('cleanup after failed create failed', { error: describeError(error) });
    }
    this.request.cleanupComplete = complete;
    return complete;
  }
}

/** Data as CloudFormation takes it: every value a string, every declared attribute present. */
export function toData(
  data: Record<string, DataValue> | undefined,
  attributes: readonly string[] | undefined,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const key of attributes ?? []) out[key] = '';
  for (const [k, v] of Object.entries(data ?? {})) out[k] = typeof v === 'string' ? v : String(v);
  return Object.keys(out).length ? out : undefined;
}
