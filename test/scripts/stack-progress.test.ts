// The progress watcher on CloudFormation's own event sequences. moto server records no resource
// events and never fails or rolls back a stack (deploy.test.ts shows it), so the failure display,
// the root-cause summary, discovery of nested stacks from their parent's events, paging and the
// timeout are driven here by a scripted StackApi that replays what CloudFormation reports, one
// step per poll. This is the one place the project fakes CloudFormation: the branch is otherwise
// unreachable without an AWS account.
import {
  formatElapsed,
  formatOutcome,
  rootCauses,
  watchAndReport,
  watchStack,
  type NestedStackRef,
  type StackApi,
  type StackEvent,
  type StackSummary,
} from '../../scripts/lib/stack-progress';

const account = '111122223333';
const arn = (name: string) => `arn:aws:cloudformation:eu-west-1:${account}:stack/${name}/0000-${name.length}`;
const t0 = Date.parse('2026-01-01T10:00:00Z');

interface FakeStack {
  name: string;
  status: string;
  reason?: string;
  events: StackEvent[]; // oldest first
  children: NestedStackRef[];
}

/** CloudFormation as a script: each `step()` (one per poll) applies the next batch of changes. */
class ScriptedCloudFormation implements StackApi {
  readonly stacks = new Map<string, FakeStack>();
  readonly calls: string[] = [];
  private nextId = 0;
  private steps: (() => void)[] = [];
  failNextEventRead = false;

  constructor(private pageSize = 3) {}

  addStack(name: string, status = 'CREATE_IN_PROGRESS'): string {
    this.stacks.set(arn(name), { name, status, events: [], children: [] });
    return arn(name);
  }

  /** Appends an event to `stackName`'s stream, `seconds` after t0. */
  event(
    stackName: string,
    seconds: number,
    logicalId: string,
    type: string,
    status: string,
    reason?: string,
    physicalId?: string,
  ): void {
    const stack = this.stacks.get(arn(stackName))!;
    const own = logicalId === stackName;
    stack.events.push({
      eventId: `ev-${++this.nextId}`,
      stackId: arn(stackName),
      stackName,
      logicalId,
      physicalId: own ? arn(stackName) : physicalId,
      type,
      status,
      reason,
      timestamp: new Date(t0 + seconds * 1000),
    });
    if (own) {
      stack.status = status;
      stack.reason = reason;
    }
  }

  script(...steps: (() => void)[]): void {
    this.steps.push(...steps);
  }

  step = async (): Promise<void> => {
    this.steps.shift()?.();
  };

  async describeStack(nameOrId: string): Promise<StackSummary | undefined> {
    this.calls.push(`describeStack ${nameOrId}`);
    const stack =
      this.stacks.get(nameOrId) ??
      [...this.stacks.values()].find((s) => s.name === nameOrId && s.status !== 'DELETE_COMPLETE');
    return (
      stack && {
        stackId: arn(stack.name),
        stackName: stack.name,
        status: stack.status,
        reason: stack.reason,
        parameters: {},
      }
    );
  }

  async listEvents(stackId: string, nextToken?: string): Promise<{ events: StackEvent[]; nextToken?: string }> {
    this.calls.push(`listEvents ${stackId} ${nextToken ?? ''}`.trim());
    if (this.failNextEventRead) {
      this.failNextEventRead = false;
      throw new Error('socket hang up');
    }
    const newestFirst = [...this.stacks.get(stackId)!.events].reverse();
    const start = nextToken ? Number(nextToken) : 0;
    const end = start + this.pageSize;
    return { events: newestFirst.slice(start, end), nextToken: end < newestFirst.length ? String(end) : undefined };
  }

  async listNestedStacks(stackId: string): Promise<NestedStackRef[]> {
    this.calls.push(`listNestedStacks ${stackId}`);
    return this.stacks.get(stackId)!.children;
  }
}

const STACK = 'AWS::CloudFormation::Stack';

/** A create whose VPC nested stack fails on a NAT gateway, then both roll back (CloudFormation's real sequence). */
function failingCreate(cfn: ScriptedCloudFormation): string {
  const root = cfn.addStack('kc');
  cfn.event('kc', 0, 'kc', STACK, 'CREATE_IN_PROGRESS', 'User Initiated');
  cfn.script(
    () => {
      cfn.event('kc', 2, 'VPCStack', STACK, 'CREATE_IN_PROGRESS');
      cfn.event('kc', 2, 'ProviderRole', 'AWS::IAM::Role', 'CREATE_IN_PROGRESS');
      cfn.addStack('kc-VPCStack-1AB2');
      cfn.event('kc-VPCStack-1AB2', 3, 'kc-VPCStack-1AB2', STACK, 'CREATE_IN_PROGRESS', 'User Initiated');
      cfn.event(
        'kc',
        3,
        'VPCStack',
        STACK,
        'CREATE_IN_PROGRESS',
        'Resource creation Initiated',
        arn('kc-VPCStack-1AB2'),
      );
      cfn.stacks.get(root)!.children.push({ logicalId: 'VPCStack', physicalId: arn('kc-VPCStack-1AB2') });
    },
    () => {
      cfn.event('kc-VPCStack-1AB2', 10, 'NATGateway1', 'AWS::EC2::NatGateway', 'CREATE_IN_PROGRESS');
      cfn.event('kc-VPCStack-1AB2', 10, 'PrivateSubnet1', 'AWS::EC2::Subnet', 'CREATE_IN_PROGRESS');
      cfn.event(
        'kc-VPCStack-1AB2',
        95,
        'NATGateway1',
        'AWS::EC2::NatGateway',
        'CREATE_FAILED',
        'Resource handler returned message: "The maximum number of addresses has been reached. (Service: Ec2, Status Code: 400)"',
      );
      cfn.event(
        'kc-VPCStack-1AB2',
        96,
        'PrivateSubnet1',
        'AWS::EC2::Subnet',
        'CREATE_FAILED',
        'Resource creation cancelled',
      );
      cfn.event(
        'kc-VPCStack-1AB2',
        96,
        'kc-VPCStack-1AB2',
        STACK,
        'ROLLBACK_IN_PROGRESS',
        'The following resource(s) failed to create: [PrivateSubnet1, NATGateway1]. Rollback requested by user.',
      );
    },
    () => {
      cfn.event('kc-VPCStack-1AB2', 120, 'NATGateway1', 'AWS::EC2::NatGateway', 'DELETE_COMPLETE');
      cfn.event('kc-VPCStack-1AB2', 121, 'kc-VPCStack-1AB2', STACK, 'ROLLBACK_COMPLETE');
      cfn.event(
        'kc',
        122,
        'VPCStack',
        STACK,
        'CREATE_FAILED',
        `Embedded stack ${arn('kc-VPCStack-1AB2')} was not successfully created: The following resource(s) failed to create: [PrivateSubnet1, NATGateway1].`,
        arn('kc-VPCStack-1AB2'),
      );
      cfn.event('kc', 122, 'ProviderRole', 'AWS::IAM::Role', 'CREATE_FAILED', 'Resource creation cancelled');
      cfn.event(
        'kc',
        123,
        'kc',
        STACK,
        'ROLLBACK_IN_PROGRESS',
        'The following resource(s) failed to create: [VPCStack, ProviderRole]. Rollback requested by user.',
      );
    },
    () => {
      cfn.event('kc', 150, 'ProviderRole', 'AWS::IAM::Role', 'DELETE_COMPLETE');
      cfn.event('kc', 160, 'VPCStack', STACK, 'DELETE_COMPLETE', undefined, arn('kc-VPCStack-1AB2'));
      cfn.event('kc', 161, 'kc', STACK, 'ROLLBACK_COMPLETE');
    },
  );
  return root;
}

describe('watchStack', () => {
  test('a failed create: every event once, in time order, failures marked, the nested root cause summarised, exit 1', async () => {
    // given
    const cfn = new ScriptedCloudFormation();
    const rootStackId = failingCreate(cfn);
    const lines: string[] = [];

    // when
    const code = await watchAndReport(cfn, {
      rootStackId,
      rootName: 'kc',
      expected: 'CREATE_COMPLETE',
      print: (l) => lines.push(l),
      sleep: cfn.step,
    });

    // then
    expect(code).toBe(1);
    const events = lines.filter((l) => /^[ ✗]\s+\d+:\d\d\s/.test(l));
    expect(events.map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      '0:00 kc kc AWS::CloudFormation::Stack CREATE_IN_PROGRESS User Initiated',
      '0:02 kc VPCStack AWS::CloudFormation::Stack CREATE_IN_PROGRESS',
      '0:02 kc ProviderRole AWS::IAM::Role CREATE_IN_PROGRESS',
      // same second: the parent's event first
      '0:03 kc VPCStack AWS::CloudFormation::Stack CREATE_IN_PROGRESS Resource creation Initiated',
      '0:03 VPCStack VPCStack AWS::CloudFormation::Stack CREATE_IN_PROGRESS User Initiated',
      '0:10 VPCStack NATGateway1 AWS::EC2::NatGateway CREATE_IN_PROGRESS',
      '0:10 VPCStack PrivateSubnet1 AWS::EC2::Subnet CREATE_IN_PROGRESS',
      '✗ 1:35 VPCStack NATGateway1 AWS::EC2::NatGateway CREATE_FAILED Resource handler returned message: "The maximum number of addresses has been reached. (Service: Ec2, Status Code: 400)"',
      '✗ 1:36 VPCStack PrivateSubnet1 AWS::EC2::Subnet CREATE_FAILED Resource creation cancelled',
      '1:36 VPCStack VPCStack AWS::CloudFormation::Stack ROLLBACK_IN_PROGRESS The following resource(s) failed to create: [PrivateSubnet1, NATGateway1]. Rollback requested by user.',
      '2:00 VPCStack NATGateway1 AWS::EC2::NatGateway DELETE_COMPLETE',
      '2:01 VPCStack VPCStack AWS::CloudFormation::Stack ROLLBACK_COMPLETE',
      `✗ 2:02 kc VPCStack AWS::CloudFormation::Stack CREATE_FAILED Embedded stack ${arn('kc-VPCStack-1AB2')} was not successfully created: The following resource(s) failed to create: [PrivateSubnet1, NATGateway1].`,
      '✗ 2:02 kc ProviderRole AWS::IAM::Role CREATE_FAILED Resource creation cancelled',
      '2:03 kc kc AWS::CloudFormation::Stack ROLLBACK_IN_PROGRESS The following resource(s) failed to create: [VPCStack, ProviderRole]. Rollback requested by user.',
      '2:30 kc ProviderRole AWS::IAM::Role DELETE_COMPLETE',
      '2:40 kc VPCStack AWS::CloudFormation::Stack DELETE_COMPLETE',
      '2:41 kc kc AWS::CloudFormation::Stack ROLLBACK_COMPLETE',
    ]);
    const summary = lines.slice(lines.findIndex((l) => l.startsWith('kc: ROLLBACK_COMPLETE')));
    expect(summary[0]).toBe('kc: ROLLBACK_COMPLETE in 2:41: the operation failed.');
    expect(summary.slice(1)).toEqual([
      'Root cause:',
      '  ✗ VPCStack / NATGateway1 (AWS::EC2::NatGateway) CREATE_FAILED: Resource handler returned message: "The maximum number of addresses has been reached. (Service: Ec2, Status Code: 400)"',
    ]);
  });

  test('an update: events from before it are not printed again, however many pages back they go', async () => {
    // given a stack with a long history, and the snapshot taken before the update
    const cfn = new ScriptedCloudFormation(2);
    const root = cfn.addStack('kc', 'CREATE_COMPLETE');
    for (let i = 0; i < 7; i++) cfn.event('kc', i, `Old${i}`, 'AWS::SSM::Parameter', 'CREATE_COMPLETE');
    cfn.event('kc', 8, 'kc', STACK, 'CREATE_COMPLETE');
    const snapshot = [{ stackId: root, path: [], newestEventId: (await cfn.listEvents(root)).events[0].eventId }];
    cfn.event('kc', 600, 'kc', STACK, 'UPDATE_IN_PROGRESS', 'User Initiated');
    for (let i = 0; i < 5; i++) cfn.event('kc', 601 + i, `New${i}`, 'AWS::SSM::Parameter', 'UPDATE_COMPLETE');
    cfn.event('kc', 610, 'kc', STACK, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    cfn.script(() => cfn.event('kc', 620, 'kc', STACK, 'UPDATE_COMPLETE'));
    const lines: string[] = [];

    // when
    const result = await watchStack(cfn, {
      rootStackId: root,
      rootName: 'kc',
      snapshot,
      print: (l) => lines.push(l),
      sleep: cfn.step,
    });

    // then
    expect(result.status).toBe('UPDATE_COMPLETE');
    expect(result.rootCauses).toEqual([]);
    expect(result.events.map((e) => `${formatElapsed(e.elapsedMs)} ${e.logicalId} ${e.status}`)).toEqual([
      '0:00 kc UPDATE_IN_PROGRESS',
      ...[0, 1, 2, 3, 4].map((i) => `0:0${1 + i} New${i} UPDATE_COMPLETE`),
      '0:10 kc UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      '0:20 kc UPDATE_COMPLETE',
    ]);
    expect(lines.join('\n')).not.toMatch(/Old\d/);
  });

  test('nested stacks of nested stacks are labelled by their path, and found by listing when no event names them', async () => {
    // given a settled tree whose nested stacks only show up in resource lists (as moto reports them)
    const cfn = new ScriptedCloudFormation();
    const root = cfn.addStack('kc');
    const eks = cfn.addStack('kc-EKSStack-X');
    const nodes = cfn.addStack('kc-EKSStack-X-SpotNodes-Y');
    cfn.stacks.get(root)!.children.push({ logicalId: 'EKSStack', physicalId: 'kc-EKSStack-X' }); // a name, not an ARN
    cfn.stacks.get(eks)!.children.push({ logicalId: 'SpotNodes', physicalId: nodes });
    cfn.event('kc', 0, 'kc', STACK, 'CREATE_IN_PROGRESS', 'User Initiated');
    cfn.event('kc-EKSStack-X', 1, 'kc-EKSStack-X', STACK, 'CREATE_IN_PROGRESS', 'User Initiated');
    cfn.event(
      'kc-EKSStack-X-SpotNodes-Y',
      2,
      'kc-EKSStack-X-SpotNodes-Y',
      STACK,
      'CREATE_IN_PROGRESS',
      'User Initiated',
    );
    cfn.event('kc-EKSStack-X-SpotNodes-Y', 3, 'kc-EKSStack-X-SpotNodes-Y', STACK, 'CREATE_COMPLETE');
    cfn.event('kc-EKSStack-X', 4, 'kc-EKSStack-X', STACK, 'CREATE_COMPLETE');
    cfn.event('kc', 5, 'kc', STACK, 'CREATE_COMPLETE');

    // when
    const result = await watchStack(cfn, {
      rootStackId: root,
      rootName: 'kc',
      print: () => undefined,
      sleep: cfn.step,
    });

    // then: all of it, in time order, by label
    expect(result.events.map((e) => `${e.stackLabel} ${e.logicalId} ${e.status}`)).toEqual([
      'kc kc CREATE_IN_PROGRESS',
      'EKSStack EKSStack CREATE_IN_PROGRESS',
      'EKSStack/SpotNodes SpotNodes CREATE_IN_PROGRESS',
      'EKSStack/SpotNodes SpotNodes CREATE_COMPLETE',
      'EKSStack EKSStack CREATE_COMPLETE',
      'kc kc CREATE_COMPLETE',
    ]);
  });

  test('a destroy: nested stacks from the snapshot are followed until deleted, then left alone', async () => {
    // given a tree recorded before the delete
    const cfn = new ScriptedCloudFormation();
    const root = cfn.addStack('kc', 'CREATE_COMPLETE');
    const vpc = cfn.addStack('kc-VPCStack-Q', 'CREATE_COMPLETE');
    cfn.event('kc', 0, 'kc', STACK, 'CREATE_COMPLETE');
    cfn.event('kc-VPCStack-Q', 0, 'kc-VPCStack-Q', STACK, 'CREATE_COMPLETE');
    const snapshot = [
      { stackId: root, path: [], newestEventId: (await cfn.listEvents(root)).events[0].eventId },
      { stackId: vpc, path: ['VPCStack'], newestEventId: (await cfn.listEvents(vpc)).events[0].eventId },
    ];
    cfn.calls.length = 0;
    cfn.event('kc', 100, 'kc', STACK, 'DELETE_IN_PROGRESS', 'User Initiated');
    cfn.event('kc', 101, 'VPCStack', STACK, 'DELETE_IN_PROGRESS', undefined, vpc);
    cfn.event('kc-VPCStack-Q', 102, 'kc-VPCStack-Q', STACK, 'DELETE_IN_PROGRESS', 'User Initiated');
    cfn.script(
      () => {
        cfn.event('kc-VPCStack-Q', 200, 'VPC', 'AWS::EC2::VPC', 'DELETE_COMPLETE');
        cfn.event('kc-VPCStack-Q', 201, 'kc-VPCStack-Q', STACK, 'DELETE_COMPLETE');
      },
      () => cfn.event('kc', 202, 'VPCStack', STACK, 'DELETE_COMPLETE', undefined, vpc),
      () => cfn.event('kc', 203, 'kc', STACK, 'DELETE_COMPLETE'),
    );

    // when
    const result = await watchStack(cfn, {
      rootStackId: root,
      rootName: 'kc',
      snapshot,
      print: () => undefined,
      sleep: cfn.step,
    });

    // then
    expect(
      result.events.map((e) => `${formatElapsed(e.elapsedMs)} ${e.stackLabel} ${e.logicalId} ${e.status}`),
    ).toEqual([
      '0:00 kc kc DELETE_IN_PROGRESS',
      '0:01 kc VPCStack DELETE_IN_PROGRESS',
      '0:02 VPCStack VPCStack DELETE_IN_PROGRESS',
      '1:40 VPCStack VPC DELETE_COMPLETE',
      '1:41 VPCStack VPCStack DELETE_COMPLETE',
      '1:42 kc VPCStack DELETE_COMPLETE',
      '1:43 kc kc DELETE_COMPLETE',
    ]);
    expect(result.status).toBe('DELETE_COMPLETE');
    // read twice (before and after its deletion), never again; its resources never listed
    expect(cfn.calls.filter((c) => c.startsWith(`listEvents ${vpc}`))).toHaveLength(2);
    expect(cfn.calls).not.toContain(`listNestedStacks ${vpc}`);
  });

  test('a dropped connection is retried; the watch carries on', async () => {
    const cfn = new ScriptedCloudFormation();
    const root = cfn.addStack('kc');
    cfn.event('kc', 0, 'kc', STACK, 'DELETE_IN_PROGRESS', 'User Initiated');
    cfn.failNextEventRead = true;
    cfn.script(() => cfn.event('kc', 30, 'kc', STACK, 'DELETE_COMPLETE'));
    const lines: string[] = [];

    const code = await watchAndReport(cfn, {
      rootStackId: root,
      rootName: 'kc',
      expected: 'DELETE_COMPLETE',
      print: (l) => lines.push(l),
      sleep: cfn.step,
    });

    expect(code).toBe(0);
    expect(lines).toContain("  (could not read the stack's progress: socket hang up; retrying)");
    expect(lines.filter((l) => l.includes('DELETE_IN_PROGRESS'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^kc: DELETE_COMPLETE in \d+:\d\d\.$/);
  });

  test('the watch gives up after its timeout, saying the operation carries on; exit 1', async () => {
    const cfn = new ScriptedCloudFormation();
    const root = cfn.addStack('kc');
    cfn.event('kc', 0, 'kc', STACK, 'CREATE_IN_PROGRESS', 'User Initiated');
    const lines: string[] = [];

    const code = await watchAndReport(cfn, {
      rootStackId: root,
      rootName: 'kc',
      expected: 'CREATE_COMPLETE',
      timeoutMs: 0,
      print: (l) => lines.push(l),
      sleep: cfn.step,
    });

    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(
      /^Stopped watching kc after \d+:\d\d: it is still CREATE_IN_PROGRESS\. The operation carries on in CloudFormation\.$/,
    );
  });
});

describe('rootCauses', () => {
  const ev = (status: string, reason?: string): StackEvent => ({
    eventId: Math.random().toString(36),
    stackId: arn('kc'),
    stackName: 'kc',
    logicalId: 'X',
    type: 'AWS::X::Y',
    status,
    reason,
    timestamp: new Date(t0),
  });

  test('leaves out cancellations and echoes of nested failures', () => {
    const cause = ev('UPDATE_FAILED', 'Custom::HelmRelease: helm upgrade failed: timed out waiting for the condition');
    expect(
      rootCauses([
        ev('UPDATE_IN_PROGRESS'),
        cause,
        ev('UPDATE_FAILED', 'Resource update cancelled'),
        ev(
          'UPDATE_FAILED',
          'Embedded stack arn:aws:cloudformation:eu-west-1:1:stack/a/b was not successfully updated. Currently in UPDATE_ROLLBACK_IN_PROGRESS with reason: The following resource(s) failed to update: [Jenkins].',
        ),
      ]),
    ).toEqual([cause]);
  });

  test('falls back to every failure when all of them are echoes', () => {
    const echo = ev('DELETE_FAILED', 'The following resource(s) failed to delete: [VPC].');
    expect(rootCauses([echo])).toEqual([echo]);
  });

  test('a failure without a reason still counts, and the summary says so', () => {
    const failed = { ...ev('CREATE_FAILED'), stackLabel: 'kc', elapsedMs: 0 };
    const lines = formatOutcome('kc', 'CREATE_COMPLETE', {
      status: 'ROLLBACK_COMPLETE',
      events: [failed],
      rootCauses: rootCauses([failed]),
      timedOut: false,
      elapsedMs: 0,
    });
    expect(lines).toContain('  ✗ kc / X (AWS::X::Y) CREATE_FAILED: no reason given');
  });
});

describe('formatElapsed', () => {
  test.each([
    [0, '0:00'],
    [59_999, '0:59'],
    [95_000, '1:35'],
    [3_600_000 + 62_000, '1:01:02'],
  ])('%d ms is %s', (ms, text) => expect(formatElapsed(ms)).toBe(text));
});
