/**
 * The Lambda handler every provider exports: routes `Custom::<Type>` to its definition and keeps the
 * runtime's promises — CloudFormation always gets exactly one answer, before the Lambda deadline
 * and within the resource's ServiceTimeout, whatever the resource does.
 */
import { describeError, PropertyError, ResourceError } from './errors';
import { createLogger, redactEvent, type Logger } from './logger';
import { createFailedId, defaultPhysicalId, isCreateFailedId, MAX_PHYSICAL_ID } from './physical-id';
import { parseProperties } from './properties';
import type { DataValue, ResourceDefinition, StepContext, StepResult } from './resource';
import { putResponse, serializeResponse, type SendOptions } from './respond';
import type { CloudFormationEvent, Continuation, ContinuationEvent, LambdaContext, ResponseBody } from './types';

/** Loads a resource definition on first use, so one type's init failure is answered, not fatal. */
export type ResourceLoader = () => Promise<{ default: ResourceDefinition<any, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ProviderOptions {
  /** Shown in logs and reasons, e.g. `KubeProvider`. */
  readonly name: string;
  readonly resources: Readonly<Record<string, ResourceLoader>>;
  /** Starts the next invocation; defaults to an asynchronous Lambda Invoke of this same function. */
  readonly continueIn?: (functionArn: string, payload: ContinuationEvent) => Promise<void>;
  readonly send?: SendOptions;
}

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

type AnyDefinition = ResourceDefinition<unknown, unknown>;
type Outcome = { kind: 'answer'; body: ResponseBody } | { kind: 'continued' };

class DeadlineError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Creates a provider's Lambda handler.
 *
 * @example
 * export const handler = createProvider({
 *   name: 'KubeProvider',
 *   resources: { 'Custom::KubeManifest': () => import('../resources/kube-manifest') },
 * });
 */
export function createProvider(
  options: ProviderOptions,
): (event: CloudFormationEvent, context: LambdaContext) => Promise<void> {
  const logger = createLogger(options.name);
  const definitions = new Map<string, Promise<AnyDefinition>>();
  const load = (type: string) => {
    let found = definitions.get(type);
    if (!found) {
      const loader = options.resources[type];
      if (!loader) {
        const known = Object.keys(options.resources).join(', ') || 'none';
        return Promise.reject(
          new ResourceError(`ResourceType '${type}' is not handled by ${options.name}; it handles: ${known}`),
        );
      }
      found = loader().then((m) => m.default as AnyDefinition);
      // A failed load is not cached: the next invocation may be on a fresh container.
      found.catch(() => definitions.delete(type));
      definitions.set(type, found);
    }
    return found;
  };

  return async function handler(event: CloudFormationEvent, context: LambdaContext): Promise<void> {
    const invokedAt = Date.now();
    const continuation = (event as Partial<ContinuationEvent>).KubecfnContinuation;
    logger.resetKeys?.();
    logger.appendKeys({
      requestId: event.RequestId,
      resourceType: event.ResourceType,
      logicalResourceId: event.LogicalResourceId,
      requestType: event.RequestType,
      lambdaRequestId: context.awsRequestId,
      ...(continuation ? { continuation: continuation.attempt } : {}),
    });

    const remainingAtStart = context.getRemainingTimeInMillis();
    const logPointer = ` (log: ${context.logGroupName} ${context.logStreamName})`;
    const base = {
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
    let answered = false;
    const answer = async (body: ResponseBody) => {
      if (answered) return;
      answered = true;
      const text = serializeResponse(body, body.Status === 'FAILED' ? logPointer : '');
      logger.info('response', {
        status: body.Status,
        physicalResourceId: body.PhysicalResourceId,
        reason: body.Reason,
        data: body.NoEcho ? '<NoEcho>' : body.Data,
        bytes: Buffer.byteLength(text),
      });
      try {
        await putResponse(event.ResponseURL, text, {
          deadline: invokedAt + remainingAtStart - 250,
          ...options.send,
          onRetry: (attempt, error) => logger.warn('response PUT failed, retrying', { attempt, error }),
        });
      } catch (error) {
        logger.error('response not delivered', { error: describeError(error) });
      }
    };
    const failedId = () =>
      event.RequestType === 'Create' ? createFailedId(event) : (event.PhysicalResourceId ?? createFailedId(event));
    const fail = (reason: string, physicalId = continuation?.physicalId ?? failedId()) =>
      answer({ ...base, Status: 'FAILED', Reason: reason, PhysicalResourceId: physicalId });

    // The invocation's own deadline, less the margin needed to answer.
    const invocationDeadline = invokedAt + remainingAtStart - invocationMargin(remainingAtStart);
    const serviceTimeout = parseServiceTimeout(event.ResourceProperties?.ServiceTimeout);
    const startedAt = continuation?.startedAt ?? invokedAt;
    const overallDeadline = startedAt + serviceTimeout * 1000 - overallMargin(serviceTimeout);
    const deadline = Math.min(invocationDeadline, overallDeadline);
    const deadlineReason = (overall = false) =>
      overall || Date.now() >= overallDeadline - 50
        ? `${event.ResourceType} did not finish within its ServiceTimeout of ${serviceTimeout} s (started ${new Date(startedAt).toISOString()})`
        : `${event.ResourceType} did not finish before the Lambda function's timeout; the step was still running ${Math.round((Date.now() - invokedAt) / 1000)} s in`;

    // Last resort: whatever the resource does, answer before the deadline.
    const controller = new AbortController();
    let handedOver = false;
    let guard: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Outcome>((resolve) => {
      guard = setTimeout(
        () => {
          // The next invocation owns the answer once the hand-over has started.
          if (handedOver) return;
          controller.abort(new DeadlineError(deadlineReason()));
          resolve({
            kind: 'answer',
            body: {
              ...base,
              Status: 'FAILED',
              Reason: deadlineReason(),
              PhysicalResourceId: continuation?.physicalId ?? failedId(),
            },
          });
        },
        Math.max(0, deadline - Date.now()),
      );
    });

    try {
      const work = run(event, context, {
        logger,
        load,
        continuation,
        startedAt,
        deadline,
        overallDeadline,
        signal: controller.signal,
        options,
        deadlineReason,
        remainingMs: remainingAtStart,
        serviceTimeout,
        handingOver: () => (handedOver = true),
      });
      const outcome = await Promise.race([work, timedOut]);
      if (outcome.kind === 'answer') await answer(outcome.body);
    } catch (error) {
      logger.error('unexpected error', {
        error: describeError(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      await fail(describeError(error));
    } finally {
      clearTimeout(guard);
    }
  };
}

interface RunInput {
  logger: Logger;
  load: (type: string) => Promise<AnyDefinition>;
  continuation: Continuation | undefined;
  startedAt: number;
  deadline: number;
  overallDeadline: number;
  signal: AbortSignal;
  options: ProviderOptions;
  deadlineReason: (overall?: boolean) => string;
  remainingMs: number;
  serviceTimeout: number;
  handingOver: () => void;
}

async function run(event: CloudFormationEvent, context: LambdaContext, input: RunInput): Promise<Outcome> {
  const { logger, continuation } = input;
  const base = { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
  const failedId =
    event.RequestType === 'Create' ? createFailedId(event) : (event.PhysicalResourceId ?? createFailedId(event));
  const failed = (reason: string, physicalId = continuation?.physicalId ?? failedId): Outcome => ({
    kind: 'answer',
    body: { ...base, Status: 'FAILED', Reason: reason, PhysicalResourceId: physicalId },
  });

  // A Create that failed left nothing behind; its rollback Delete has nothing to do.
  logger.info('request received', {
    physicalResourceId: event.PhysicalResourceId,
    properties: Object.keys(event.ResourceProperties ?? {}),
  });
  if (event.RequestType === 'Delete' && isCreateFailedId(event.PhysicalResourceId)) {
    logger.info('delete of a resource whose create failed: nothing to do');
    return { kind: 'answer', body: { ...base, Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId! } };
  }

  let definition: AnyDefinition;
  try {
    definition = await input.load(event.ResourceType);
  } catch (error) {
    if (error instanceof ResourceError) return failed(error.message);
    logger.error('resource module failed to load', {
      error: describeError(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return failed(`${input.options.name} could not load the code for ${event.ResourceType}: ${describeError(error)}`);
  }
  logger.info('request', {
    event: redactEvent(event, definition.sensitive),
    remainingMs: input.remainingMs,
    serviceTimeout: input.serviceTimeout,
  });

  let props: unknown;
  let oldProps: unknown;
  try {
    props = parseProperties(definition.schema, event.ResourceProperties);
  } catch (error) {
    if (error instanceof PropertyError) {
      logger.warn('invalid properties', { problems: error.problems });
      return failed(`Invalid properties for ${event.ResourceType}: ${error.message}`);
    }
    throw error;
  }
  if (event.RequestType === 'Update') {
    try {
      oldProps = parseProperties(definition.schema, event.OldResourceProperties);
    } catch {
      oldProps = undefined;
    }
  }

  let physicalId =
    continuation?.physicalId ??
    (event.RequestType === 'Create'
      ? (definition.physicalId?.(props, event) ?? defaultPhysicalId(event))
      : event.PhysicalResourceId!);
  const context_ = (attempt: number): StepContext => ({
    event,
    requestType: event.RequestType,
    physicalId,
    logger,
    deadline: input.deadline,
    overallDeadline: input.overallDeadline,
    remainingMs: () => Math.max(0, input.deadline - Date.now()),
    signal: input.signal,
    attempt,
  });

  const attempt = continuation?.attempt ?? 0;
  let result: StepResult<unknown>;
  let stepMs = 0;
  const step = async (name: string, fn: () => Promise<StepResult<unknown>>) => {
    const stepStarted = Date.now();
    logger.info('step started', { step: name, physicalResourceId: physicalId });
    const r = await fn();
    stepMs = Date.now() - stepStarted;
    logger.info('step finished', { step: name, ms: stepMs, done: r.done });
    return r;
  };

  try {
    if (continuation) {
      if (!definition.continue) return failed(`${event.ResourceType} has no continue step but was resumed`);
      result = await step('continue', () => definition.continue!(continuation.state, props, context_(attempt)));
    } else if (event.RequestType === 'Create') {
      result = await step('create', () => definition.create(props, context_(attempt)));
    } else if (event.RequestType === 'Update') {
      result = await step('update', () => definition.update(props, oldProps, context_(attempt)));
    } else {
      result = await step('delete', () => definition.delete(props, context_(attempt)));
    }

    // Poll in this invocation while another step fits, then hand over to a fresh one.
    while (!result.done) {
      if (result.physicalId) physicalId = result.physicalId;
      const pollMs = (result.pollAfterSeconds ?? 5) * 1000;
      const now = Date.now();
      // Too little time left to be worth another invocation: answer now rather than race the guard.
      if (now + pollMs + 1_000 >= input.overallDeadline) return failed(input.deadlineReason(true));
      if (now + pollMs + Math.max(stepMs, 250) < input.deadline) {
        await sleep(pollMs);
        const state = result.state;
        result = await step('continue', () => definition.continue!(state, props, context_(attempt)));
        continue;
      }
      // The first invocation's start travels on: the overall deadline counts from it.
      const next: Continuation = { state: result.state, startedAt: input.startedAt, attempt: attempt + 1, physicalId };
      input.handingOver();
      try {
        await handOver(event, context, next, pollMs, input);
      } catch (error) {
        logger.error('could not continue in a new invocation', { error: describeError(error) });
        return failed(
          `${event.ResourceType} needed more time but could not continue in a new invocation: ${describeError(error)}`,
        );
      }
      return { kind: 'continued' };
    }
  } catch (error) {
    if (input.signal.aborted) throw error; // the deadline guard has answered already
    const reason =
      error instanceof ResourceError
        ? error.message
        : `${event.ResourceType} ${event.RequestType} failed: ${describeError(error)}`;
    logger.error('step failed', {
      error: describeError(error),
      stack: error instanceof Error && !(error instanceof ResourceError) ? error.stack : undefined,
    });
    if (event.RequestType === 'Create') await cleanupFailedCreate(definition, props, context_(attempt), logger);
    return failed(reason);
  }

  if (result.physicalId) physicalId = result.physicalId;
  if (physicalId.length > MAX_PHYSICAL_ID)
    return failed(`${event.ResourceType} produced a physical id longer than ${MAX_PHYSICAL_ID} characters`);
  return {
    kind: 'answer',
    body: {
      ...base,
      Status: 'SUCCESS',
      PhysicalResourceId: physicalId,
      NoEcho: result.noEcho || undefined,
      Data: toData(result.data, definition.attributes),
    },
  };
}

async function handOver(
  event: CloudFormationEvent,
  context: LambdaContext,
  next: Continuation,
  pollMs: number,
  input: RunInput,
) {
  const { KubecfnContinuation: _previous, ...original } = event as ContinuationEvent;
  const payload: ContinuationEvent = { ...original, KubecfnContinuation: next };
  // The wait before the next poll is spent here only if it fits; otherwise the next invocation polls at once.
  if (Date.now() + pollMs < input.deadline) await sleep(pollMs);
  input.logger.info('continuing in a new invocation', {
    attempt: next.attempt,
    payloadBytes: Buffer.byteLength(JSON.stringify(payload)),
  });
  const continueIn = input.options.continueIn ?? invokeAsync;
  await continueIn(context.invokedFunctionArn, payload);
}

async function invokeAsync(functionArn: string, payload: ContinuationEvent): Promise<void> {
  const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
  const client = new LambdaClient({});
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionArn,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
  if (out.StatusCode !== 202) throw new Error(`asynchronous self-invocation answered HTTP ${out.StatusCode}`);
}

async function cleanupFailedCreate(definition: AnyDefinition, props: unknown, ctx: StepContext, logger: Logger) {
  const cleanup = definition.cleanupFailedCreate ?? definition.delete;
  try {
    let r = await cleanup.call(definition, props, ctx);
    while (!r.done && definition.continue && ctx.remainingMs() > (r.pollAfterSeconds ?? 5) * 1000) {
      await sleep((r.pollAfterSeconds ?? 5) * 1000);
      r = await definition.continue(r.state, props, { ...ctx, requestType: 'Delete' });
    }
    logger.info('cleanup after failed create', { complete: r.done });
  } catch (error) {
    logger.error('cleanup after failed create failed', { error: describeError(error) });
  }
}

function toData(
  data: Record<string, DataValue> | undefined,
  attributes: readonly string[] | undefined,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const key of attributes ?? []) out[key] = '';
  for (const [k, v] of Object.entries(data ?? {})) out[k] = typeof v === 'string' ? v : String(v);
  return Object.keys(out).length ? out : undefined;
}

function parseServiceTimeout(raw: unknown): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 1 ? Math.min(n, DEFAULT_SERVICE_TIMEOUT) : DEFAULT_SERVICE_TIMEOUT;
}
