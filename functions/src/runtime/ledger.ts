/**
 * The request ledger: which invocation works on a request, kept where the resource's work is (for
 * the Kubernetes resources, a Lease in the cluster). Lambda delivers asynchronous events at least
 * once and retries an invocation that crashed or was killed, so the same request (same RequestId,
 * same continuation attempt) may run twice at once; the ledger lets exactly one of them work:
 *
 * - the first invocation of an attempt claims the record and renews it while it runs;
 * - a second delivery of an attempt whose holder is alive, or of an attempt the work has moved past
 *   (a hand-over wrote the next attempt), stays silent: the holder answers;
 * - a delivery after the answer sends the recorded answer again (the same body), and does nothing else;
 * - a holder that stopped renewing (crashed, killed) is replaced by the next delivery (Lambda's
 *   retry), which takes the work up again — every step is idempotent.
 *
 * - once a Delete of the resource has succeeded, its record is the resource's tombstone: the
 *   resource's other records go, and a late delivery of any request CloudFormation issued before
 *   that Delete (its ResponseURL says when) stays silent instead of re-creating what was deleted.
 *   A request issued after it (the logical id added back by a later update) works as usual.
 *
 * The store is the resource's (it knows where its cluster is); this file knows only the rules. A
 * store that cannot be reached never fails the request: the work goes on unprotected, and says so
 * in the log.
 */
import { describeError } from './errors';
import type { Logger } from './logger';
import type { ResponseBody } from './types';

/** What an answered request's record keeps of its answer (never Data of a NoEcho answer). */
export type RecordedAnswer = Pick<ResponseBody, 'Status' | 'PhysicalResourceId' | 'Reason' | 'NoEcho' | 'Data'>;

/** One request's record. */
export interface LedgerRecord {
  /** The Lambda request id of the invocation working on the request; '' while a hand-over is on its way. */
  holder: string;
  /** The attempt held or awaited: 0 for the first invocation, n for the n-th continuation. */
  attempt: number;
  /** Epoch ms until which the holder is alive; it renews this while it runs. */
  until: number;
  /** The answer, once sent. */
  answer?: RecordedAnswer;
  /** Epoch ms at which a Delete of the resource was answered SUCCESS: the record is then its tombstone. */
  deleted?: number;
}

/** Where a resource keeps its requests' records: read, create and conditional replace of one record. */
export interface LedgerStore {
  /** The record with its version, or undefined when there is none. */
  read(signal: AbortSignal): Promise<{ record: LedgerRecord; version: string } | undefined>;
  /** Creates the record; false when one exists already. */
  create(record: LedgerRecord, signal: AbortSignal): Promise<boolean>;
  /** Replaces the record if it is still at `version`; false when someone wrote it since. */
  replace(record: LedgerRecord, version: string, signal: AbortSignal): Promise<boolean>;
  /** The latest time a Delete of the same resource was answered SUCCESS (its tombstone), if any. */
  deletedAt?(signal: AbortSignal): Promise<number | undefined>;
  /** Removes the resource's records other than this request's (after its Delete succeeded). */
  removeOthers?(signal: AbortSignal): Promise<void>;
}

/** What a delivery finds in the ledger. */
export type Claim =
  /** This invocation works on the request. */
  | { kind: 'mine' }
  /** An earlier delivery answered: send its answer again, do nothing else. */
  | { kind: 'answered'; answer: RecordedAnswer }
  /** Another invocation, alive, holds the request (or the work has moved on): stay silent. */
  | { kind: 'duplicate'; holder: string; attempt: number; until: number }
  /** A late delivery of a request issued before the resource's Delete succeeded: stay silent. */
  | { kind: 'stale'; deletedAt: number }
  /** The ledger could not be used: the work goes on unprotected. */
  | { kind: 'unrecorded'; error: string };

/** How long a claim lives without renewal: a crashed holder is replaced after at most this long. */
export const LEASE_MS = 30_000;
/** How often a holder renews its claim. */
export const RENEW_MS = 10_000;
/** The longest any one ledger call may take: it must never eat the step's time. */
const CALL_TIMEOUT_MS = 5_000;

/** A holder's claim on its request, renewed while the invocation runs, closed by the answer or a hand-over. */
export class LedgerSession {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The attempt this invocation handed the work over to, if it did. */
  private handedOverTo: number | undefined;
  /** Whether the answer recorded is a successful Delete (the record is the tombstone). */
  private tombstone = false;

  private constructor(
    private readonly store: LedgerStore,
    private readonly holder: string,
    private attempt: number,
    private readonly invocationEnd: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Claims the request for this invocation (`holder`, `attempt`). The session is returned only
   * when the claim is this invocation's.
   */
  static async claim(
    store: LedgerStore,
    me: { holder: string; attempt: number; invocationEnd: number; issuedAt?: number },
    logger: Logger,
    signal: AbortSignal,
  ): Promise<{ claim: Claim; session?: LedgerSession }> {
    const session = new LedgerSession(store, me.holder, me.attempt, me.invocationEnd, logger);
    let claim: Claim;
    try {
      claim = await session.take(signal, me.issuedAt);
    } catch (error) {
      claim = { kind: 'unrecorded', error: describeError(error) };
    }
    if (claim.kind !== 'mine') return { claim };
    session.timer = setInterval(() => void session.renew(), RENEW_MS);
    session.timer.unref?.();
    return { claim, session };
  }

  private until(): number {
    return Math.min(Date.now() + LEASE_MS, this.invocationEnd);
  }

  private async take(outer: AbortSignal, issuedAt: number | undefined): Promise<Claim> {
    const mine = (): LedgerRecord => ({ holder: this.holder, attempt: this.attempt, until: this.until() });
    for (let round = 0; round < 5; round++) {
      const signal = AbortSignal.any([outer, AbortSignal.timeout(CALL_TIMEOUT_MS)]);
      const current = await this.store.read(signal);
      if (!current) {
        // First sight of this request: was the resource deleted after CloudFormation issued it?
        if (issuedAt !== undefined && this.store.deletedAt) {
          const deletedAt = await this.store.deletedAt(signal);
          // The signing time has whole seconds: only a Delete in a later second is surely after it.
          if (deletedAt !== undefined && deletedAt >= issuedAt + 1_000) return { kind: 'stale', deletedAt };
        }
        if (await this.store.create(mine(), signal)) return { kind: 'mine' };
        continue;
      }
      const r = current.record;
      if (r.answer) return { kind: 'answered', answer: r.answer };
      const alive = r.holder !== '' && r.until > Date.now();
      if (r.attempt > this.attempt || (r.attempt === this.attempt && alive && r.holder !== this.holder))
        return { kind: 'duplicate', holder: r.holder, attempt: r.attempt, until: r.until };
      // A hand-over to this attempt, or a holder that stopped renewing: the work is this invocation's.
      if (await this.store.replace(mine(), current.version, signal)) return { kind: 'mine' };
    }
    throw new Error('the request record kept changing under this invocation');
  }

  /** Writes `change` over the current record, if this invocation still holds it. */
  private async update(change: Partial<LedgerRecord>, timeoutMs = CALL_TIMEOUT_MS): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    for (let round = 0; round < 3; round++) {
      const current = await this.store.read(signal);
      const r = current?.record;
      const mine = r && r.holder === this.holder && r.attempt === this.attempt;
      // A hand-over whose Invoke failed: its FAILED answer is still this invocation's to record.
      const awaited = r && r.holder === '' && r.attempt === this.handedOverTo;
      if (current && !mine && !awaited) {
        this.logger.warn('the request record is held by another invocation now', {
          holder: current.record.holder,
          attempt: current.record.attempt,
        });
        return;
      }
      const record = { ...(current?.record ?? { holder: this.holder, attempt: this.attempt, until: 0 }), ...change };
      if (current ? await this.store.replace(record, current.version, signal) : await this.store.create(record, signal))
        return;
    }
  }

  private async renew(): Promise<void> {
    if (this.closed) return;
    try {
      await this.update({ until: this.until() });
    } catch (error) {
      this.logger.warn('could not renew the request record', { error: describeError(error) });
    }
  }

  /** The work goes on in attempt `next`: the record awaits it, so no older delivery takes the work up again. */
  async handOver(next: number): Promise<void> {
    this.stop();
    try {
      await this.update({ holder: '', attempt: next, until: Date.now() + LEASE_MS });
      this.handedOverTo = next;
    } catch (error) {
      this.logger.warn('could not record the hand-over in the request record', { error: describeError(error) });
    }
  }

  /**
   * Records the answer (before it is sent), so that a later delivery sends it again rather than
   * work again. Bounded by `timeoutMs`: the answer never waits long for its record.
   */
  async settle(body: ResponseBody, timeoutMs: number, deleted = false): Promise<void> {
    this.stop();
    this.tombstone = deleted && body.Status === 'SUCCESS';
    const answer: RecordedAnswer = {
      Status: body.Status,
      PhysicalResourceId: body.PhysicalResourceId,
      ...(body.Reason !== undefined ? { Reason: body.Reason } : {}),
      ...(body.NoEcho ? { NoEcho: true } : body.Data ? { Data: body.Data } : {}),
    };
    try {
      const change = this.tombstone ? { answer, deleted: Date.now() } : { answer };
      await this.update(change, Math.max(100, Math.min(CALL_TIMEOUT_MS, timeoutMs)));
    } catch (error) {
      this.tombstone = false;
      this.logger.warn('could not record the answer in the request record', { error: describeError(error) });
    }
  }

  /**
   * After the answer is sent: when it was a successful Delete, the resource's other records are
   * needed no more (its tombstone, this record, stands for them); they go, bounded by `timeoutMs`.
   */
  async finish(timeoutMs: number): Promise<void> {
    if (!this.tombstone || !this.store.removeOthers) return;
    try {
      await this.store.removeOthers(AbortSignal.timeout(Math.max(100, Math.min(CALL_TIMEOUT_MS, timeoutMs))));
    } catch (error) {
      this.logger.warn("could not remove the resource's earlier request records", { error: describeError(error) });
    }
  }

  /** Stops renewing; the claim then lapses unless answered or handed over. */
  stop(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
