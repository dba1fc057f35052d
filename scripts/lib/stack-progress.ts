// Live progress for a stack operation over the whole nested-stack tree: every new event of the
// root stack and of each nested stack, printed once in time order (elapsed time, stack, logical
// id, type, status, reason), until the root stack settles; then the root-cause failures.
//
// Nested stacks are found two ways, because emulators and CloudFormation differ: from the
// parent's events (an AWS::CloudFormation::Stack resource with a physical id) while the operation
// runs, and from the parent's resource list once the root has settled. Each is watched by stack
// ARN, which keeps answering after the stack is deleted; a name stops resolving then.

/** One stack event, as the watcher needs it. */
export interface StackEvent {
  eventId: string;
  stackId: string;
  stackName: string;
  logicalId: string;
  physicalId?: string;
  type: string;
  status: string;
  reason?: string;
  timestamp: Date;
}

/** A stack's identity and state. */
export interface StackSummary {
  stackId: string;
  stackName: string;
  status: string;
  reason?: string;
  /** Current parameter values by key. */
  parameters: Record<string, string>;
}

/** A nested stack resource: its logical id in the parent and its physical id (ARN, or name in some emulators). */
export interface NestedStackRef {
  logicalId: string;
  physicalId: string;
}

/** The CloudFormation reads the watcher makes; `cloudFormationStackApi` in aws.ts is the real one. */
export interface StackApi {
  /** The stack by name or ARN, or undefined when there is no such stack. */
  describeStack(nameOrId: string): Promise<StackSummary | undefined>;
  /** One page of the stack's events, newest first. */
  listEvents(stackId: string, nextToken?: string): Promise<{ events: StackEvent[]; nextToken?: string }>;
  /** The stack's AWS::CloudFormation::Stack resources that have a physical id. */
  listNestedStacks(stackId: string): Promise<NestedStackRef[]>;
}

/** A stack of the tree as it was before an operation: what not to print again. */
export interface SnapshotEntry {
  stackId: string;
  /** Logical ids from the root down; empty for the root. */
  path: string[];
  /** The newest event id before the operation, if the stack had events. */
  newestEventId?: string;
}

/** An event as printed, with the stack it belongs to. */
export interface DisplayedEvent extends StackEvent {
  /** Short name of the stack: the root's name, or the nested stack's logical-id path (`EKSStack/NodeGroupStack`). */
  stackLabel: string;
  /** Time since the operation started, in milliseconds, by CloudFormation's clock. */
  elapsedMs: number;
}

/** What a watch ended with. */
export interface WatchResult {
  /** The root stack's final status (or the status it had when the watch timed out). */
  status: string;
  reason?: string;
  /** Every event printed, oldest first. */
  events: DisplayedEvent[];
  /** The failures that caused the others (cancellations and "embedded stack failed" echoes left out), oldest first. */
  rootCauses: DisplayedEvent[];
  /** True when the watch gave up before the stack settled. */
  timedOut: boolean;
  /** How long the operation took: from its first to its last event (wall clock for a watch that timed out or saw no event). */
  elapsedMs: number;
}

/** Options for {@link watchStack}. */
export interface WatchOptions {
  /** ARN of the root stack. */
  rootStackId: string;
  /** The root stack's name, shown as its stack label. */
  rootName: string;
  /** The tree before the operation (see {@link snapshotStackTree}); its events are not printed again. */
  snapshot?: SnapshotEntry[];
  /** Receives each output line. */
  print: (line: string) => void;
  /** ANSI colours. Default false. */
  color?: boolean;
  /** Pause between polls. Default 5 s. */
  pollIntervalMs?: number;
  /** Give up watching after this long (the operation carries on). Default 3 h. */
  timeoutMs?: number;
  /** Waits between polls; replaceable so tests run without real time passing. */
  sleep?: (ms: number) => Promise<void>;
}

export const sleepReal = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

/** True for a status no further event will change: anything not `*_IN_PROGRESS`. */
export function isSettled(status: string): boolean {
  return !status.endsWith('_IN_PROGRESS');
}

/** True for event and stack statuses that mean something failed. */
export function isFailure(status: string): boolean {
  return status.endsWith('_FAILED');
}

// Failures that only echo another one: the real cause is elsewhere in the tree.
const echoes = [
  /^Resource (creation|update|deletion|import) cancel+ed/i,
  /^The following resource\(s\) failed to/i,
  /^Embedded stack \S+ was not successfully/i,
];

/**
 * The failures that caused the others: FAILED events whose reason is not a cancellation or an
 * echo of a nested failure, oldest first (all FAILED events when every one is an echo).
 *
 * @example
 * rootCauses(result.events).map((e) => `${e.stackLabel} ${e.logicalId}: ${e.reason}`);
 */
export function rootCauses<E extends StackEvent>(events: E[]): E[] {
  const failures = events.filter((e) => isFailure(e.status));
  const causes = failures.filter((e) => !echoes.some((re) => re.test(e.reason ?? '')));
  return causes.length ? causes : failures;
}

/** `m:ss`, or `h:mm:ss` from one hour on. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const ansi = {
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  reset: '\x1b[0m',
};

/** Wraps text in an ANSI colour when `on`. */
export function paint(on: boolean | undefined, style: keyof typeof ansi, text: string): string {
  return on ? `${ansi[style]}${text}${ansi.reset}` : text;
}

const widths = { elapsed: 8, stack: 20, logical: 28, type: 28, status: 22 };

/** The column header printed above the events. */
export function eventHeader(stackWidth = widths.stack): string {
  return `  ${'ELAPSED'.padStart(widths.elapsed)}  ${'STACK'.padEnd(stackWidth)}  ${'RESOURCE'.padEnd(widths.logical)}  ${'TYPE'.padEnd(widths.type)}  ${'STATUS'.padEnd(widths.status)}  REASON`;
}

/**
 * One event as a line: a marker (`✗` for failures), elapsed time, stack label, logical id, type,
 * status and reason (on one line).
 */
export function formatEvent(e: DisplayedEvent, color?: boolean, stackWidth = widths.stack): string {
  const failed = isFailure(e.status);
  const reason = (e.reason ?? '').replace(/\s+/g, ' ').trim();
  const status = e.status.padEnd(widths.status);
  const statusPainted = failed
    ? paint(color, 'red', status)
    : /ROLLBACK|DELETE_SKIPPED/.test(e.status)
      ? paint(color, 'yellow', status)
      : e.status.endsWith('_COMPLETE')
        ? paint(color, 'green', status)
        : status;
  const line = [
    `${failed ? '✗' : ' '} ${formatElapsed(e.elapsedMs).padStart(widths.elapsed)}`,
    e.stackLabel.padEnd(stackWidth),
    e.logicalId.padEnd(widths.logical),
    e.type.padEnd(widths.type),
    statusPainted,
    failed ? paint(color, 'bold', reason) : reason,
  ].join('  ');
  return line.trimEnd();
}

/** Resolves a nested stack's physical id to its ARN (emulators may report the stack name). */
async function resolveStackId(api: StackApi, physicalId: string): Promise<string | undefined> {
  if (physicalId.startsWith('arn:')) return physicalId;
  return (await api.describeStack(physicalId))?.stackId;
}

/**
 * Records the stack tree as it is now, so a later {@link watchStack} prints only what happens
 * after: for the root and every nested stack (recursively), its ARN, its logical-id path and its
 * newest event id.
 *
 * @example
 * const before = await snapshotStackTree(api, existing.stackId);
 * await cfn.send(new ExecuteChangeSetCommand(...));
 * await watchStack(api, { rootStackId: existing.stackId, rootName: 'kubecfn', snapshot: before, print: console.log });
 */
export async function snapshotStackTree(api: StackApi, rootStackId: string): Promise<SnapshotEntry[]> {
  const entries: SnapshotEntry[] = [];
  const queue: { stackId: string; path: string[] }[] = [{ stackId: rootStackId, path: [] }];
  const seen = new Set<string>();
  while (queue.length) {
    const { stackId, path } = queue.shift()!;
    if (seen.has(stackId)) continue;
    seen.add(stackId);
    const { events } = await api.listEvents(stackId);
    entries.push({ stackId, path, newestEventId: events[0]?.eventId });
    for (const ref of await api.listNestedStacks(stackId)) {
      const childId = await resolveStackId(api, ref.physicalId);
      if (childId) queue.push({ stackId: childId, path: [...path, ref.logicalId] });
    }
  }
  return entries;
}

interface Tracked {
  stackId: string;
  path: string[];
  label: string;
  baselineEventId?: string;
  lastSeenEventId?: string;
  /** The stack's own status, by its latest event. */
  status?: string;
  childrenListed: boolean;
}

/**
 * Prints the events of a stack operation, for the root stack and every nested stack, as they
 * happen, until the root stack settles (any status not ending in `_IN_PROGRESS`) or `timeoutMs`
 * passes. Returns the final status and the root-cause failures; printing a verdict is the caller's.
 *
 * @example
 * const { StackId } = await cfn.send(new CreateStackCommand({ StackName: 'kubecfn', TemplateURL }));
 * const result = await watchStack(cloudFormationStackApi(cfn), { rootStackId: StackId!, rootName: 'kubecfn', print: console.log });
 * process.exitCode = result.status === 'CREATE_COMPLETE' ? 0 : 1;
 */
export async function watchStack(api: StackApi, opts: WatchOptions): Promise<WatchResult> {
  const started = Date.now();
  const sleep = opts.sleep ?? sleepReal;
  const interval = opts.pollIntervalMs ?? 5_000;
  const deadline = started + (opts.timeoutMs ?? 3 * 3600_000);
  const tracked: Tracked[] = [];
  const byId = new Map<string, Tracked>();
  const unresolvable = new Set<string>();
  const printedIds = new Set<string>();
  const printed: DisplayedEvent[] = [];
  // The operation's start by CloudFormation's clock: the oldest new event of the root stack.
  let t0: number | undefined;

  const track = (stackId: string, path: string[], baselineEventId?: string): boolean => {
    if (byId.has(stackId)) return false;
    const t: Tracked = {
      stackId,
      path,
      label: path.length ? path.join('/') : opts.rootName,
      baselineEventId,
      childrenListed: false,
    };
    tracked.push(t);
    byId.set(stackId, t);
    return true;
  };
  const trackRef = async (parent: Tracked, ref: NestedStackRef): Promise<boolean> => {
    if (unresolvable.has(ref.physicalId)) return false;
    const childId = await resolveStackId(api, ref.physicalId);
    if (!childId) {
      unresolvable.add(ref.physicalId);
      return false;
    }
    return track(childId, [...parent.path, ref.logicalId]);
  };

  track(opts.rootStackId, [], opts.snapshot?.find((s) => s.stackId === opts.rootStackId)?.newestEventId);
  for (const s of opts.snapshot ?? []) if (s.stackId !== opts.rootStackId) track(s.stackId, s.path, s.newestEventId);

  /** New events of one stack, oldest first. */
  const poll = async (t: Tracked): Promise<StackEvent[]> => {
    // A stack found mid-operation without a snapshot entry may be old: skip what predates the operation.
    const cutoff = t.baselineEventId === undefined && t.path.length && t0 !== undefined ? t0 - 1_000 : undefined;
    const fresh: StackEvent[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
      const res = await api.listEvents(t.stackId, token);
      let reachedKnown = false;
      for (const e of res.events) {
        if (
          e.eventId === t.lastSeenEventId ||
          e.eventId === t.baselineEventId ||
          (cutoff !== undefined && e.timestamp.getTime() < cutoff)
        ) {
          reachedKnown = true;
          break;
        }
        fresh.push(e);
      }
      if (reachedKnown || !res.nextToken) break;
      token = res.nextToken;
    }
    if (fresh.length) t.lastSeenEventId = fresh[0].eventId;
    return fresh.reverse().filter((e) => !printedIds.has(e.eventId));
  };

  const displayName = (t: Tracked, e: StackEvent): string =>
    // A stack's own events carry its full (generated) name; the logical id in the parent reads better.
    e.logicalId === e.stackName && (e.physicalId === t.stackId || !e.physicalId)
      ? (t.path.at(-1) ?? opts.rootName)
      : e.logicalId;

  let headerPrinted = false;
  const emit = (batch: { e: StackEvent; t: Tracked; order: number }[]) => {
    if (!batch.length) return;
    // Wide enough for every stack known so far; nested stacks found later may push a column.
    const stackWidth = Math.max(widths.stack, ...tracked.map((t) => t.label.length));
    if (!headerPrinted) {
      opts.print(paint(opts.color, 'dim', eventHeader(stackWidth)));
      headerPrinted = true;
    }
    batch.sort((a, b) => a.e.timestamp.getTime() - b.e.timestamp.getTime() || a.order - b.order);
    if (t0 === undefined && batch.length) {
      const rootEvents = batch.filter((x) => x.t.path.length === 0);
      t0 = (rootEvents[0] ?? batch[0]).e.timestamp.getTime();
    }
    for (const { e, t } of batch) {
      printedIds.add(e.eventId);
      const shown: DisplayedEvent = {
        ...e,
        logicalId: displayName(t, e),
        stackLabel: t.label,
        elapsedMs: e.timestamp.getTime() - (t0 ?? 0),
      };
      printed.push(shown);
      opts.print(formatEvent(shown, opts.color, stackWidth));
    }
  };

  let flushed = false;
  const settling: { e: StackEvent; t: Tracked; order: number }[] = [];
  let failedCycles = 0;
  let status = 'UNKNOWN';
  let reason: string | undefined;
  for (;;) {
    try {
      const root = await api.describeStack(opts.rootStackId);
      // By ARN CloudFormation keeps answering for deleted stacks; nothing at all means it is gone.
      status = root?.status ?? 'DELETE_COMPLETE';
      reason = root?.reason;
      const batch: { e: StackEvent; t: Tracked; order: number }[] = [];
      for (let i = 0; i < tracked.length; i++) {
        const t = tracked[i];
        // A deleted nested stack has nothing more to say; skipping it spares the API.
        if (t.path.length && t.status === 'DELETE_COMPLETE') continue;
        for (const e of await poll(t)) {
          batch.push({ e, t, order: i });
          if (e.physicalId === t.stackId && e.type === 'AWS::CloudFormation::Stack') t.status = e.status;
          if (
            e.type === 'AWS::CloudFormation::Stack' &&
            e.physicalId &&
            e.physicalId !== t.stackId &&
            e.logicalId !== e.stackName
          ) {
            await trackRef(t, { logicalId: e.logicalId, physicalId: e.physicalId });
          }
        }
      }
      if (!isSettled(status)) emit(batch);
      else {
        // Once the root has settled, the passes below may still turn up whole nested stacks
        // (emulators record no resource events): print everything together, in time order.
        settling.push(...batch);

        let added = false;
        for (let i = 0; i < tracked.length; i++) {
          const t = tracked[i];
          if (t.childrenListed) continue;
          t.childrenListed = true;
          // A deleted stack has no children left to find, and listing the resources of one makes
          // moto server re-create them.
          if ((t.path.length ? t.status : status) === 'DELETE_COMPLETE') continue;
          for (const ref of await api.listNestedStacks(t.stackId)) added = (await trackRef(t, ref)) || added;
        }
        // One more pass right away: for the stacks just found, and for events that landed
        // between reading the status and reading the events.
        if (added || !flushed) {
          flushed = true;
          continue;
        }
        emit(settling);
        break;
      }
      failedCycles = 0;
    } catch (err) {
      // A long watch should survive a dropped connection; a persistent error ends it.
      if (++failedCycles >= 10) throw err;
      opts.print(`  (could not read the stack's progress: ${(err as Error).message}; retrying)`);
    }
    if (Date.now() >= deadline) {
      return {
        status,
        reason,
        events: printed,
        rootCauses: rootCauses(printed),
        timedOut: true,
        elapsedMs: Date.now() - started,
      };
    }
    await sleep(interval);
  }
  // The operation's duration by CloudFormation's clock, from its first event to its last.
  const elapsedMs = printed.length ? Math.max(0, ...printed.map((e) => e.elapsedMs)) : Date.now() - started;
  return { status, reason, events: printed, rootCauses: rootCauses(printed), timedOut: false, elapsedMs };
}

/**
 * The closing lines for a watched operation: the verdict and, on failure, the root causes with
 * their reasons. `expected` is the status that means success (e.g. `CREATE_COMPLETE`).
 */
export function formatOutcome(stackName: string, expected: string, result: WatchResult, color?: boolean): string[] {
  const took = formatElapsed(result.elapsedMs);
  if (result.timedOut) {
    return [
      paint(
        color,
        'yellow',
        `Stopped watching ${stackName} after ${took}: it is still ${result.status}. The operation carries on in CloudFormation.`,
      ),
    ];
  }
  if (result.status === expected) return [paint(color, 'green', `${stackName}: ${result.status} in ${took}.`)];
  const lines = [
    paint(
      color,
      'red',
      `${stackName}: ${result.status} in ${took}${result.reason ? ` (${result.reason})` : ''}: the operation failed.`,
    ),
  ];
  if (result.rootCauses.length) {
    lines.push(result.rootCauses.length === 1 ? 'Root cause:' : 'Root causes:');
    for (const e of result.rootCauses.slice(0, 10)) {
      lines.push(
        `  ✗ ${e.stackLabel} / ${e.logicalId} (${e.type}) ${e.status}: ${paint(color, 'bold', (e.reason ?? 'no reason given').replace(/\s+/g, ' '))}`,
      );
    }
    if (result.rootCauses.length > 10) lines.push(`  … and ${result.rootCauses.length - 10} more above.`);
  }
  return lines;
}

/** Options for {@link watchAndReport}: those of {@link watchStack} plus the status that means success. */
export interface ReportOptions extends WatchOptions {
  /** The root status that means success, e.g. `CREATE_COMPLETE`. */
  expected: string;
}

/**
 * Watches an operation with {@link watchStack}, prints the verdict with {@link formatOutcome}, and
 * returns the exit code: 0 when the root stack reached `expected`, 1 otherwise (failure, rollback
 * or timeout).
 *
 * @example
 * process.exitCode = await watchAndReport(api, { rootStackId, rootName: 'kubecfn', expected: 'DELETE_COMPLETE', print: console.log });
 */
export async function watchAndReport(api: StackApi, opts: ReportOptions): Promise<number> {
  const result = await watchStack(api, opts);
  opts.print('');
  for (const line of formatOutcome(opts.rootName, opts.expected, result, opts.color)) opts.print(line);
  return result.status === opts.expected && !result.timedOut ? 0 : 1;
}

/** Whether to colour output for `stream`: a terminal, unless NO_COLOR is set; FORCE_COLOR forces it. */
export function colorFor(stream: NodeJS.WriteStream): boolean {
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}
