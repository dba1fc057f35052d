/**
 * The runtime in-process, through its one seam: outbound.ts's response PUT and Lambda Invoke are
 * replaced here, so each case sees exactly what CloudFormation and Lambda would have received.
 * (test/protocol runs the same promises through the bundled package in a child process.)
 */
import * as z from 'zod';
import {
  createProvider,
  defineResource,
  done,
  inProgress,
  outbound,
  prop,
  ResourceError,
  type ContinuationEvent,
  type LedgerRecord,
  type LedgerStore,
  type ResponseBody,
} from '../../../functions/src/runtime';
import { timers } from '../../../functions/src/shared';
import { cfnEvent, lambdaContext } from '../../helpers/events';

process.env.KUBECFN_LOG_LEVEL = 'SILENT';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the probe's steps did, in order (`create`, `cleanup`, `delete`…). */
let calls: string[] = [];
/** The request ledger the probe keeps, when a test gives it one. */
let ledgerStore: LedgerStore | undefined;

/** A resource whose steps do what its Mode says. */
const probe = defineResource<{ Mode: string; Steps: number }, { step: number }>({
  type: 'Custom::Probe',
  schema: z.strictObject({
    Mode: prop.enum(['ok', 'fail', 'hang', 'continue', 'late', 'fail-dirty']),
    Steps: prop.integer().default(2),
  }),
  attributes: ['Steps'],
  async create(props) {
    calls.push('create');
    if (props.Mode === 'fail' || props.Mode === 'fail-dirty')
      throw new ResourceError('Mode: the probe was told to fail');
    if (props.Mode === 'hang') return new Promise<never>(() => undefined);
    if (props.Mode === 'continue') return inProgress({ step: 1 }, { pollAfterSeconds: 60 });
    if (props.Mode === 'late') {
      // Deaf to its signal: returns well after the deadline guard has answered.
      await wait(1_200);
      calls.push('late step returned');
      return inProgress({ step: 1 }, { pollAfterSeconds: 0 });
    }
    return done({ data: { Steps: 1 } });
  },
  async update() {
    return done();
  },
  async delete() {
    calls.push('delete');
    return done();
  },
  async cleanupFailedCreate(props) {
    calls.push('cleanup');
    // fail-dirty: something is still being removed when the invocation has no time left to wait.
    return props.Mode === 'fail-dirty' ? inProgress({ step: 0 }, { pollAfterSeconds: 3_600 }) : done();
  },
  ledger() {
    return ledgerStore;
  },
  async continue(state, props) {
    const step = state.step + 1;
    return step >= props.Steps ? done({ data: { Steps: step } }) : inProgress({ step }, { pollAfterSeconds: 60 });
  },
});

const handler = createProvider({
  name: 'ProbeProvider',
  resources: { 'Custom::Probe': async () => ({ default: probe }) },
});

const real = { ...outbound };
const realSleep = timers.sleep;
let answers: ResponseBody[];
let invoked: ContinuationEvent[];

beforeEach(() => {
  answers = [];
  invoked = [];
  calls = [];
  ledgerStore = undefined;
  outbound.putResponse = async (_url, body) => {
    answers.push(JSON.parse(body) as ResponseBody);
    return 200;
  };
  outbound.invokeContinuation = async (_arn, payload) => {
    invoked.push(payload);
  };
});
afterEach(() => {
  Object.assign(outbound, real);
  timers.sleep = realSleep;
});

const event = (properties: Record<string, unknown>) =>
  cfnEvent('Create', 'Custom::Probe', properties, {
    ResponseURL:
      'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack%7CR%7Cid?X-Amz-Signature=s',
  });

describe('who may be answered', () => {
  test("an event whose ResponseURL is not CloudFormation's response bucket runs nothing and is not answered", async () => {
    const forged = cfnEvent('Create', 'Custom::Probe', { Mode: 'ok' }, { ResponseURL: 'https://attacker.example/x' });

    await handler(forged, lambdaContext('ProbeProvider', 'forged', 10_000));

    expect(calls).toEqual([]);
    expect(answers).toEqual([]);
  });
});

describe('create', () => {
  test('a step that finishes is answered SUCCESS once, every attribute a string', async () => {
    // act
    await handler(event({ Mode: 'ok' }), lambdaContext('ProbeProvider', 'r1'));

    // assess
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: expect.stringMatching(/^teststack-TestResource-[0-9a-f]{12}$/),
        Data: { Steps: '1' },
      }),
    ]);
    expect(invoked).toEqual([]);
  });

  test('a ResourceError is answered FAILED with its message, the log stream and the create-failed marker', async () => {
    await handler(event({ Mode: 'fail' }), lambdaContext('ProbeProvider', 'r2'));

    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason: 'Mode: the probe was told to fail (log: /aws/lambda/ProbeProvider in-process)',
        PhysicalResourceId: expect.stringMatching(/^kubecfn:create-failed:TestResource:/),
      }),
    ]);
  });

  test('a step that never returns is answered FAILED by the deadline guard, before the invocation ends', async () => {
    // prepare: 2 s left in the invocation, so the guard fires after 0.5 s (a 1.5 s margin)
    const context = lambdaContext('ProbeProvider', 'r3', 2_000);

    // act
    await handler(event({ Mode: 'hang' }), context);

    // assess: the guard's own Reason, with time still left in the invocation
    expect(answers).toHaveLength(1);
    expect(answers[0]!.Reason).toMatch(
      /^Custom::Probe did not finish before the Lambda function's timeout; the step was still running \d+ s in/,
    );
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });
});

describe('continuation', () => {
  test('work longer than the invocation goes on in a new one, carrying its state, and is answered once', async () => {
    // act: the first invocation hands over (its next poll, 60 s away, does not fit in 10 s)
    const first = event({ Mode: 'continue', Steps: '3' });
    await handler(first, lambdaContext('ProbeProvider', 'r4', 10_000));

    // assess: no answer yet, one Invoke with the state beside the original event
    expect(answers).toEqual([]);
    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({
      ...first,
      KubecfnContinuation: { state: { step: 1 }, attempt: 1, physicalId: expect.any(String) },
    });

    // act: Lambda runs the continuations it was asked for
    await handler(invoked[0]!, lambdaContext('ProbeProvider', 'r5', 10_000));
    await handler(invoked[1]!, lambdaContext('ProbeProvider', 'r6', 10_000));

    // assess: the third invocation answers, with the physical id the first one chose
    expect(invoked).toHaveLength(2);
    expect(invoked[1]!.KubecfnContinuation).toMatchObject({ state: { step: 2 }, attempt: 2 });
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: invoked[0]!.KubecfnContinuation.physicalId,
        Data: { Steps: '3' },
      }),
    ]);
  });

  test('an Invoke that fails is answered FAILED, naming why the work could not go on', async () => {
    // prepare
    outbound.invokeContinuation = async () => {
      throw new Error('AccessDeniedException: not authorized to perform lambda:InvokeFunction');
    };

    // act
    await handler(event({ Mode: 'continue' }), lambdaContext('ProbeProvider', 'r7', 10_000));

    // assess
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason:
          'Custom::Probe needed more time but could not continue in a new invocation: AccessDeniedException: not authorized to perform lambda:InvokeFunction (log: /aws/lambda/ProbeProvider in-process)',
      }),
    ]);
  });
});

describe('response delivery', () => {
  test('a PUT answered 500 is retried until it is accepted', async () => {
    // prepare: the backoff between attempts is not waited out
    timers.sleep = async () => undefined;
    const statuses = [500, 503, 200];
    const sent: string[] = [];
    outbound.putResponse = async (_url, body) => {
      sent.push(body);
      return statuses.shift()!;
    };

    // act
    await handler(event({ Mode: 'ok' }), lambdaContext('ProbeProvider', 'r8'));

    // assess: the same body three times
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(1);
  });
});

describe('one answer, truthful', () => {
  test('a step that returns inProgress after the guard answered hands nothing over, and the handler waits for it', async () => {
    // prepare: 2 s left, so the guard answers after 0.5 s; the step returns 1.2 s in
    const context = lambdaContext('ProbeProvider', 'r9', 2_000);

    // act
    await handler(event({ Mode: 'late' }), context);
    await wait(1_000);

    // assess: the guard's FAILED answer alone; the late step's result went nowhere
    expect(answers).toHaveLength(1);
    expect(answers[0]!.Reason).toMatch(/did not finish before the Lambda function's timeout/);
    expect(invoked).toEqual([]);
    // the handler returned only once the step had settled: it cannot resume in a later invocation
    expect(calls).toEqual(['create', 'late step returned']);
  });

  test('a Create cut short by the guard answers its physical id, not the create-failed marker: the rollback Delete cleans up', async () => {
    await handler(event({ Mode: 'hang' }), lambdaContext('ProbeProvider', 'r10', 2_000));

    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: expect.stringMatching(/^teststack-TestResource-[0-9a-f]{12}$/),
    });
  });

  test('a failed Create whose cleanup did not finish answers its physical id and says so', async () => {
    await handler(event({ Mode: 'fail-dirty' }), lambdaContext('ProbeProvider', 'r11', 10_000));

    expect(calls).toEqual(['create', 'cleanup']);
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        PhysicalResourceId: expect.stringMatching(/^teststack-TestResource-[0-9a-f]{12}$/),
        Reason: expect.stringMatching(
          /^Mode: the probe was told to fail \(what the Create applied is not all removed yet; the rollback Delete removes it\)/,
        ),
      }),
    ]);
  });

  test('a failed Create whose cleanup finished answers the create-failed marker', async () => {
    await handler(event({ Mode: 'fail' }), lambdaContext('ProbeProvider', 'r12', 10_000));

    expect(calls).toEqual(['create', 'cleanup']);
    expect(answers[0]!.PhysicalResourceId).toMatch(/^kubecfn:create-failed:TestResource:/);
  });

  test('a hand-over whose Invoke never returns is answered FAILED before the invocation ends', async () => {
    // prepare: an Invoke that hangs and ignores its signal
    outbound.invokeContinuation = () => new Promise<never>(() => undefined);
    const context = lambdaContext('ProbeProvider', 'r13', 4_000);

    // act
    await handler(event({ Mode: 'continue' }), context);

    // assess
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason: expect.stringMatching(
          /^Custom::Probe needed more time but could not continue in a new invocation: the asynchronous Invoke did not complete within \d+ ms/,
        ),
      }),
    ]);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });
});

/** A request ledger in memory, as a cluster would keep it (versioned, conditional writes). */
function memoryLedger(): LedgerStore & { record?: LedgerRecord; version: number } {
  const store = {
    record: undefined as LedgerRecord | undefined,
    version: 0,
    async read() {
      return store.record ? { record: { ...store.record }, version: String(store.version) } : undefined;
    },
    async create(record: LedgerRecord) {
      if (store.record) return false;
      store.record = { ...record };
      store.version++;
      return true;
    },
    async replace(record: LedgerRecord, version: string) {
      if (String(store.version) !== version) return false;
      store.record = { ...record };
      store.version++;
      return true;
    },
  };
  return store;
}

describe('duplicate deliveries (request ledger)', () => {
  test('a second delivery while the first is at work stays silent; the first answers once', async () => {
    // prepare
    const ledger = memoryLedger();
    ledgerStore = ledger;
    const e = event({ Mode: 'ok' });
    ledger.record = { holder: 'first-invocation', attempt: 0, until: Date.now() + 30_000 };

    // act: the duplicate arrives while the first holds the request
    await handler(e, lambdaContext('ProbeProvider', 'dup', 10_000));

    // assess
    expect(answers).toEqual([]);
    expect(calls).toEqual([]);
  });

  test('a delivery after the answer sends the recorded answer again and runs nothing', async () => {
    const ledger = memoryLedger();
    ledgerStore = ledger;
    const e = event({ Mode: 'fail' });

    await handler(e, lambdaContext('ProbeProvider', 'one', 10_000));
    await handler(e, lambdaContext('ProbeProvider', 'two', 10_000));

    expect(calls).toEqual(['create', 'cleanup']);
    expect(answers).toHaveLength(2);
    expect(answers[1]).toEqual(answers[0]);
    expect(ledger.record?.answer).toMatchObject({ Status: 'FAILED' });
  });

  test('a holder that stopped renewing (crashed) is replaced by the next delivery, which does the work', async () => {
    const ledger = memoryLedger();
    ledgerStore = ledger;
    ledger.record = { holder: 'crashed', attempt: 0, until: Date.now() - 1 };

    await handler(event({ Mode: 'ok' }), lambdaContext('ProbeProvider', 'retry', 10_000));

    expect(calls).toEqual(['create']);
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test('after a hand-over, a late duplicate of the earlier attempt stays silent and the continuation works', async () => {
    const ledger = memoryLedger();
    ledgerStore = ledger;
    const first = event({ Mode: 'continue', Steps: '2' });

    await handler(first, lambdaContext('ProbeProvider', 'a0', 10_000));
    expect(ledger.record).toMatchObject({ holder: '', attempt: 1 });
    await handler(first, lambdaContext('ProbeProvider', 'a0-duplicate', 10_000));
    expect(calls).toEqual(['create']);
    await handler(invoked[0]!, lambdaContext('ProbeProvider', 'a1', 10_000));

    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS', Data: { Steps: '2' } })]);
  });

  test('a late delivery of a request issued before the resource was deleted stays silent and runs nothing', async () => {
    const ledger = memoryLedger();
    const deletedAt = Date.UTC(2026, 11, 1, 12, 0, 0);
    ledgerStore = { ...ledger, deletedAt: async () => deletedAt };
    const late = cfnEvent(
      'Create',
      'Custom::Probe',
      { Mode: 'ok' },
      {
        ResponseURL:
          'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack%7CR%7Cid?X-Amz-Date=20261201T115900Z&X-Amz-Expires=7200',
      },
    );

    await handler(late, lambdaContext('ProbeProvider', 'late', 10_000));

    expect(calls).toEqual([]);
    expect(answers).toEqual([]);
  });

  test('a request issued after the Delete works (the logical id added back)', async () => {
    const ledger = memoryLedger();
    ledgerStore = { ...ledger, deletedAt: async () => Date.UTC(2026, 11, 1, 12, 0, 0) };
    const fresh = cfnEvent(
      'Create',
      'Custom::Probe',
      { Mode: 'ok' },
      {
        ResponseURL:
          'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack%7CR%7Cid?X-Amz-Date=20261201T120100Z&X-Amz-Expires=7200',
      },
    );

    await handler(fresh, lambdaContext('ProbeProvider', 'fresh', 10_000));

    expect(calls).toEqual(['create']);
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test("a successful Delete leaves its record as the tombstone and removes the resource's other records", async () => {
    const ledger = memoryLedger();
    let removed = 0;
    ledgerStore = Object.assign(ledger, {
      removeOthers: async () => {
        removed++;
      },
    });
    const del = cfnEvent(
      'Delete',
      'Custom::Probe',
      { Mode: 'ok' },
      { ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack%7CR%7Cid' },
    );

    await handler(del, lambdaContext('ProbeProvider', 'del', 10_000));

    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(ledger.record?.deleted).toEqual(expect.any(Number));
    expect(removed).toBe(1);
  });

  test("the rollback Delete of a create-failed marker also removes the failed Create's records", async () => {
    const ledger = memoryLedger();
    let removed = 0;
    ledgerStore = Object.assign(ledger, {
      removeOthers: async () => {
        removed++;
      },
    });
    await handler(event({ Mode: 'fail' }), lambdaContext('ProbeProvider', 'c', 10_000));
    const marker = answers[0]!.PhysicalResourceId;
    ledger.record = undefined;

    const del = cfnEvent(
      'Delete',
      'Custom::Probe',
      { Mode: 'fail' },
      {
        ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack%7CR%7Cid',
        PhysicalResourceId: marker,
      },
    );
    await handler(del, lambdaContext('ProbeProvider', 'd', 10_000));

    expect(calls).toEqual(['create', 'cleanup']);
    expect(answers[1]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: marker });
    expect((ledger.record as LedgerRecord | undefined)?.deleted).toEqual(expect.any(Number));
    expect(removed).toBe(1);
  });

  test('a ledger that cannot be reached never fails the request', async () => {
    ledgerStore = {
      read: async () => {
        throw new Error('connect ECONNREFUSED');
      },
      create: async () => false,
      replace: async () => false,
    };

    await handler(event({ Mode: 'ok' }), lambdaContext('ProbeProvider', 'r14', 10_000));

    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });
});
