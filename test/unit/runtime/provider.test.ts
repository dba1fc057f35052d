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
  type ResponseBody,
} from '../../../functions/src/runtime';
import { timers } from '../../../functions/src/shared';
import { cfnEvent, lambdaContext } from '../../helpers/events';

process.env.KUBECFN_LOG_LEVEL = 'SILENT';

/** A resource whose steps do what its Mode says. */
const probe = defineResource<{ Mode: string; Steps: number }, { step: number }>({
  type: 'Custom::Probe',
  schema: z.strictObject({ Mode: prop.enum(['ok', 'fail', 'hang', 'continue']), Steps: prop.integer().default(2) }),
  attributes: ['Steps'],
  async create(props) {
    if (props.Mode === 'fail') throw new ResourceError('Mode: the probe was told to fail');
    if (props.Mode === 'hang') return new Promise<never>(() => undefined);
    if (props.Mode === 'continue') return inProgress({ step: 1 }, { pollAfterSeconds: 60 });
    return done({ data: { Steps: 1 } });
  },
  async update() {
    return done();
  },
  async delete() {
    return done();
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
  cfnEvent('Create', 'Custom::Probe', properties, { ResponseURL: 'https://cfn.example/response?X-Amz-Signature=s' });

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
