/**
 * What the actions of one step share: the client, the clock that says when to hand over to the
 * next invocation and when TimeoutSeconds is up, the owner, and a polling loop bounded by both.
 */
import type { KubeClient } from '../../kube';
import type { StepContext } from '../../runtime';
import { sleep } from '../../shared';
import type { Props } from './schema';
import type { State } from './state';

/** Time kept free at the end of an invocation, to answer or hand over. */
const STEP_MARGIN_MS = 2_000;
const POLL_FIRST_MS = 150;
const POLL_MAX_MS = 500;

/** A per-step clock: when to hand over to the next invocation, and when TimeoutSeconds is up. */
export class Clock {
  constructor(
    private readonly ctx: StepContext,
    readonly deadlineAt: number,
  ) {}
  /** Milliseconds this invocation may still spend before returning. */
  invocationLeft(): number {
    return this.ctx.deadline - STEP_MARGIN_MS - Date.now();
  }
  timedOut(): boolean {
    return Date.now() >= this.deadlineAt;
  }
}

/** One step's work on one cluster: what every action (apply, wait, prune, delete) is given. */
export interface Run {
  readonly client: KubeClient;
  readonly props: Props;
  /** The request's progress; an action moves it on (its phase and level). */
  readonly state: State;
  readonly clock: Clock;
  /** Written into every object the resource creates or adopts, and checked before anything is deleted. */
  readonly owner: string;
  /** The resource's own field manager (`kubecfn/<stack>/<logical id>`). */
  readonly fieldManager: string;
  readonly ctx: StepContext;
}

/** How far an action got: finished, or out of time in this invocation (the next one goes on). */
export type Progress = 'done' | 'handover';

/** Polls `check` until it returns nothing left, the invocation must hand over, or the timeout passes. */
export async function pollUntil<T>(
  clock: Clock,
  check: () => Promise<T[]>,
): Promise<{ outcome: 'done' } | { outcome: 'handover' | 'timeout'; left: T[] }> {
  let wait = POLL_FIRST_MS;
  for (;;) {
    const left = await check();
    if (left.length === 0) return { outcome: 'done' };
    if (clock.timedOut()) return { outcome: 'timeout', left };
    if (clock.invocationLeft() < wait + 500) return { outcome: 'handover', left };
    await sleep(Math.min(wait, Math.max(0, clock.deadlineAt - Date.now())));
    wait = Math.min(POLL_MAX_MS, Math.round(wait * 1.5));
  }
}

/** TimeoutSeconds as a Reason says it. */
export const seconds = (props: Props) => `${props.TimeoutSeconds} s (TimeoutSeconds)`;
