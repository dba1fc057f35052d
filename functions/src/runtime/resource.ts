/**
 * What a custom resource type declares: its property schema and its steps. The runtime does the
 * rest (protocol, parsing, physical ids, deadlines, continuation, logging).
 */
import type * as z from 'zod';
import type { LedgerStore } from './ledger';
import type { Logger } from './logger';
import type { CloudFormationEvent, RequestType } from './types';

/** Data values are strings on the wire; numbers and booleans are converted. */
export type DataValue = string | number | boolean;

export interface StepContext {
  readonly event: CloudFormationEvent;
  readonly requestType: RequestType;
  /** Create: the default id for this request (stable under CloudFormation's retry). Update/Delete: the current id. */
  readonly physicalId: string;
  readonly logger: Logger;
  /** Epoch ms by which this step must return: the Lambda deadline less a safety margin, or the overall deadline if sooner. */
  readonly deadline: number;
  /** Epoch ms when the whole request must be answered, derived from the resource's ServiceTimeout. */
  readonly overallDeadline: number;
  /** Milliseconds left until `deadline`. Bound waits by it, then return `inProgress` to go on. */
  remainingMs(): number;
  /** Aborted when `deadline` passes; pass it to anything that accepts a signal. */
  readonly signal: AbortSignal;
  /** 0 in the first invocation, then 1, 2… for each continuation. */
  readonly attempt: number;
  /**
   * Says that the step is about to change something outside (apply an object, install a release,
   * write a mapping). For a resource that declares `tracksChanges`, a Create that fails before
   * any change answers the create-failed marker without a cleanup.
   */
  changing(): void;
}

export interface Done {
  readonly done: true;
  /** A new physical id; on Update a different id means replacement (CloudFormation deletes the old one). */
  readonly physicalId?: string;
  readonly data?: Record<string, DataValue>;
  /** Hide Data from GetAtt output display and from the logs. */
  readonly noEcho?: boolean;
}

export interface InProgress<S> {
  readonly done: false;
  /** Everything the `continue` step needs; must be JSON-serialisable (it may travel to a fresh invocation). */
  readonly state: S;
  readonly physicalId?: string;
  /** How long to wait before `continue` is called (default 5 s). */
  readonly pollAfterSeconds?: number;
}

export type StepResult<S> = Done | InProgress<S>;

/** Finish the step. @example return done({ data: { Revision: 3 } }); */
export const done = (result: Omit<Done, 'done'> = {}): Done => ({ done: true, ...result });

/** Go on later with `state`. @example return inProgress({ objects }, { pollAfterSeconds: 2 }); */
export const inProgress = <S>(state: S, options: Omit<InProgress<S>, 'done' | 'state'> = {}): InProgress<S> => ({
  done: false,
  state,
  ...options,
});

export interface ResourceDefinition<P, S = unknown> {
  /** The CloudFormation type this definition handles, e.g. `Custom::KubeManifest`. */
  readonly type: `Custom::${string}`;
  /** Parses the raw properties (see `prop`); failures become FAILED answers naming the property. */
  readonly schema: z.ZodType<P>;
  /** Properties whose values never reach the logs. */
  readonly sensitive?: readonly string[];
  /**
   * True when the steps call `ctx.changing()` before their first change: a Create that failed
   * before it then needs no cleanup. Otherwise any step that ran is assumed to have changed something.
   */
  readonly tracksChanges?: boolean;
  /** Data keys always present in a SUCCESS answer (CloudFormation fails a GetAtt on a missing key). */
  readonly attributes?: readonly string[];
  /** The physical id for Create; defaults to `<stack>-<LogicalId>-<hash of the request>`. */
  physicalId?(props: P, event: CloudFormationEvent): string;
  create(props: P, ctx: StepContext): Promise<StepResult<S>>;
  /** `oldProps` is undefined if the old properties no longer parse (e.g. after a provider upgrade). */
  update(props: P, oldProps: P | undefined, ctx: StepContext): Promise<StepResult<S>>;
  /** Must succeed when what it deletes is already gone. */
  delete(props: P, ctx: StepContext): Promise<StepResult<S>>;
  /** Resumes a step that returned `inProgress`; `ctx.requestType` tells which. */
  continue?(state: S, props: P, ctx: StepContext): Promise<StepResult<S>>;
  /**
   * Removes what a failed Create applied, so rollback leaves nothing behind. Defaults to `delete`
   * (run until done or out of time) when the resource declares no special cleanup.
   */
  cleanupFailedCreate?(props: P, ctx: StepContext): Promise<StepResult<S>>;
  /**
   * Where this resource records which invocation works on a request (see ledger.ts), so that a
   * duplicated or retried delivery of the same request is answered once and never runs twice at
   * once. Without it, every delivery runs its steps.
   */
  ledger?(props: P, event: CloudFormationEvent): LedgerStore | undefined;
}

/**
 * Declares a resource type; only a typing aid, so that steps see their parsed property types.
 *
 * @example
 * export default defineResource({
 *   type: 'Custom::Greeting',
 *   schema: z.strictObject({ Name: prop.string({ minLength: 1 }) }),
 *   attributes: ['Message'],
 *   async create(props) { return done({ data: { Message: `hello ${props.Name}` } }); },
 *   async update(props) { return done({ data: { Message: `hello ${props.Name}` } }); },
 *   async delete() { return done(); },
 * });
 */
export function defineResource<P, S = unknown>(definition: ResourceDefinition<P, S>): ResourceDefinition<P, S> {
  return definition;
}
