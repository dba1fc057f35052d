/**
 * The Lambda handler every provider exports: routes `Custom::<Type>` to its definition and keeps the
 * runtime's promises — CloudFormation always gets exactly one answer, before the Lambda deadline
 * and within the resource's ServiceTimeout, whatever the resource does.
 *
 * Each invocation builds one {@link Request} (request.ts), arms the {@link DeadlineGuard}
 * (deadline.ts), runs the resource's steps (steps.ts) and, for work longer than one invocation,
 * the continuation (continuation.ts); every network call goes through outbound.ts. A resource with
 * a request ledger (ledger.ts) has duplicated and retried deliveries of a request detected first.
 */
import { pollOrContinue } from './continuation';
import { sleep } from '../shared';
import { DeadlineGuard } from './deadline';
import { describeError, PropertyError, ResourceError } from './errors';
import { LedgerSession } from './ledger';
import { createLogger, redactEvent } from './logger';
import { issuedAt, responseUrlProblem } from './respond';
import { isCreateFailedId, MAX_PHYSICAL_ID } from './physical-id';
import { parseProperties } from './properties';
import type { ResourceDefinition, StepResult } from './resource';
import { Request, type Outcome } from './request';
import { Steps, toData, type AnyDefinition } from './steps';
import type { CloudFormationEvent, LambdaContext } from './types';

/** Loads a resource definition on first use, so one type's init failure is answered, not fatal. */
export type ResourceLoader = () => Promise<{ default: ResourceDefinition<any, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ProviderOptions {
  /** Shown in logs and reasons, e.g. `KubeProvider`. */
  readonly name: string;
  readonly resources: Readonly<Record<string, ResourceLoader>>;
}

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
    const request = new Request(event, context, logger);
    // Last resort: whatever the resource does, answer before the deadline.
    const guard = new DeadlineGuard(request);
    const work = handle(request, options.name, load, guard);
    try {
      const outcome = await Promise.race([work, guard.expired]);
      if (outcome.kind === 'answer') await request.answer(outcome.body, { recorded: outcome.recorded });
      else if (outcome.kind === 'silent') logger.info('no answer from this invocation', { why: outcome.why });
    } catch (error) {
      logger.error('unexpected error', {
        error: describeError(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      await request.answer(request.failed(describeError(error)).body);
    } finally {
      if (guard.fired) await settle(work, request);
      request.ledger?.stop();
      guard.dispose();
    }
  };
}

/**
 * After the guard's answer the step may still be running: its cluster and helm calls fail at once
 * (the signal is aborted), and whatever it returns is dropped (no second answer, no hand-over).
 * The handler waits for it, until shortly before Lambda's deadline, so that it does not resume in the
 * next invocation of a warm container.
 */
async function settle(work: Promise<Outcome>, request: Request): Promise<void> {
  const waitMs = request.lambdaDeadline - Date.now() - 750;
  const done = work.then(
    () => true,
    () => true,
  );
  const settled = await Promise.race([done, sleep(Math.max(0, waitMs)).then(() => false)]);
  request.logger.info('step after the deadline answer', { settled });
}

/** Takes one request through its resource: load, parse, steps, continuation or answer. */
async function handle(
  request: Request,
  provider: string,
  load: (type: string) => Promise<AnyDefinition>,
  guard: DeadlineGuard,
): Promise<Outcome> {
  const { event, logger, continuation } = request;

  logger.info('request received', {
    physicalResourceId: event.PhysicalResourceId,
    properties: Object.keys(event.ResourceProperties ?? {}),
  });
  // Answers go to CloudFormation's response bucket only: an event that names another place is not
  // CloudFormation's (anyone allowed to invoke the function can send one), and nothing is done for it.
  const refused = responseUrlProblem(event.ResponseURL);
  if (refused) {
    logger.error("request refused: its ResponseURL is not CloudFormation's", { reason: refused });
    return { kind: 'silent', why: refused };
  }
  // A Create that failed left nothing behind; its rollback Delete has nothing to do in the cluster
  // (only the failed Create's request record goes, through the ledger, when the resource keeps one).
  const markerDelete = event.RequestType === 'Delete' && isCreateFailedId(event.PhysicalResourceId);

  let definition: AnyDefinition;
  try {
    definition = await load(event.ResourceType);
  } catch (error) {
    if (markerDelete) return request.succeeded(event.PhysicalResourceId!);
    if (error instanceof ResourceError) return request.failed(error.message);
    logger.error('resource module failed to load', {
      error: describeError(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return request.failed(`${provider} could not load the code for ${event.ResourceType}: ${describeError(error)}`);
  }
  logger.info('request', {
    event: redactEvent(event, definition.sensitive),
    remainingMs: request.remainingAtStart,
    serviceTimeout: request.serviceTimeout,
  });

  let props: unknown;
  let oldProps: unknown;
  try {
    // Delete parses leniently: a property a provider upgrade has since tightened must not make an
    // old stack's Delete fail; it falls back to its default (see parseProperties).
    props = parseProperties(definition.schema, event.ResourceProperties, {
      lenient: event.RequestType === 'Delete',
      onIgnored: (problems) => logger.warn('delete: properties the schema now refuses were ignored', { problems }),
    });
  } catch (error) {
    if (markerDelete) return request.succeeded(event.PhysicalResourceId!);
    if (error instanceof PropertyError) {
      logger.warn('invalid properties', { problems: error.problems });
      return request.failed(`Invalid properties for ${event.ResourceType}: ${error.message}`);
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

  // Another delivery of this request (Lambda's at-least-once delivery, or its retry) may be at work.
  const store = definition.ledger?.(props, event);
  if (store) {
    const { claim, session } = await LedgerSession.claim(
      store,
      {
        holder: request.context.awsRequestId,
        attempt: request.attempt,
        invocationEnd: request.lambdaDeadline,
        issuedAt: issuedAt(event.ResponseURL),
      },
      logger,
      guard.signal,
    );
    request.ledger = session;
    if (claim.kind === 'duplicate') {
      logger.info('duplicate delivery: another invocation holds the request', {
        holder: claim.holder,
        attempt: claim.attempt,
        until: new Date(claim.until).toISOString(),
      });
      return { kind: 'silent', why: 'another invocation holds the request' };
    }
    if (claim.kind === 'answered') {
      logger.info('duplicate delivery of an answered request', { status: claim.answer.Status });
      // A NoEcho answer's Data is not recorded: rather than send it without, send nothing.
      if (claim.answer.NoEcho) return { kind: 'silent', why: 'the request was answered (NoEcho)' };
      return { kind: 'answer', body: { ...request.succeeded('').body, ...claim.answer }, recorded: true };
    }
    if (claim.kind === 'stale') {
      logger.info('late delivery of a request issued before the resource was deleted', {
        deletedAt: new Date(claim.deletedAt).toISOString(),
      });
      return { kind: 'silent', why: 'the resource was deleted after this request was issued' };
    }
    if (claim.kind === 'unrecorded')
      logger.warn('the request ledger could not be used; going on without it', { error: claim.error });
  }
  if (markerDelete) {
    logger.info('delete of a resource whose create failed: nothing to do');
    return request.succeeded(event.PhysicalResourceId!);
  }

  request.tracksChanges = definition.tracksChanges ?? false;
  const steps = new Steps(request, definition, props, oldProps, guard.signal);
  let result: StepResult<unknown>;
  try {
    if (continuation && !definition.continue)
      return request.failed(`${event.ResourceType} has no continue step but was resumed`);
    const outcome = await pollOrContinue(request, steps, await steps.first(), guard);
    if ('kind' in outcome) return outcome;
    result = outcome;
  } catch (error) {
    if (guard.signal.aborted) throw error; // the deadline guard has answered already
    const reason =
      error instanceof ResourceError
        ? error.message
        : `${event.ResourceType} ${event.RequestType} failed: ${describeError(error)}`;
    logger.error('step failed', {
      error: describeError(error),
      stack: error instanceof Error && !(error instanceof ResourceError) ? error.stack : undefined,
    });
    // Nothing changed, nothing to clean: the create-failed marker. Else the cleanup, unless the guard has answered.
    if (event.RequestType === 'Create' && request.leftSomething && !guard.fired && !(await steps.cleanupFailedCreate()))
      return request.failed(
        `${reason} (what the Create applied is not all removed yet; the rollback Delete removes it)`,
      );
    return request.failed(reason);
  }

  if (guard.fired) return { kind: 'silent', why: 'the deadline guard has answered' };
  if (result.physicalId) steps.physicalId = result.physicalId;
  if (steps.physicalId.length > MAX_PHYSICAL_ID)
    return request.failed(`${event.ResourceType} produced a physical id longer than ${MAX_PHYSICAL_ID} characters`);
  return request.succeeded(steps.physicalId, {
    NoEcho: result.noEcho || undefined,
    Data: toData(result.data, definition.attributes),
  });
}
