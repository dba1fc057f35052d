/**
 * The deadline guard, the runtime's last resort: whatever the resource does (hangs, loops, waits
 * on a dead socket), the request is answered FAILED before the Lambda deadline and within its
 * ServiceTimeout, with a Reason that says which of the two ran out. The steps get its signal, which
 * aborts at that moment, so every cluster and helm call they make from then on fails at once.
 *
 * The guard and the hand-over to a new invocation exclude each other: once the guard has fired,
 * no hand-over starts ({@link DeadlineGuard.standDown} says no), and once a hand-over has started,
 * the guard stays silent. Either way the request gets one answer.
 */
import type { Outcome, Request } from './request';

/** The reason the guard aborts the steps' signal with. */
class DeadlineError extends Error {}

export class DeadlineGuard {
  /** Resolves with the FAILED answer when the deadline passes first; never, once the guard stood down. */
  readonly expired: Promise<Outcome>;
  private readonly controller = new AbortController();
  private handedOver = false;
  private timer: NodeJS.Timeout | undefined;

  /** Arms the guard for `request.deadline`. */
  constructor(request: Request) {
    this.expired = new Promise<Outcome>((resolve) => {
      this.timer = setTimeout(
        () => {
          // The next invocation owns the answer once the hand-over has started.
          if (this.handedOver) return;
          this.controller.abort(new DeadlineError(request.deadlineReason()));
          resolve(request.failed(request.deadlineReason()));
        },
        Math.max(0, request.deadline - Date.now()),
      );
    });
  }

  /** Aborted when the deadline passes; the steps' `ctx.signal`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the guard has answered: nothing the steps do afterwards may reach CloudFormation or Lambda. */
  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * The work goes on in a new invocation, which owns the answer from now on: the guard stays
   * silent. Answers false (and changes nothing) when the guard has fired already: then the
   * request is answered, and no hand-over may start.
   */
  standDown(): boolean {
    if (this.fired) return false;
    this.handedOver = true;
    return true;
  }

  /** Disarms the guard once the invocation is over. */
  dispose(): void {
    clearTimeout(this.timer);
  }
}
