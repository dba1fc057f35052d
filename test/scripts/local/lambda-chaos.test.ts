// The local Lambda service's faults on request (chaos): a continuation that crashes at its start and
// a process killed mid-step are function errors, retried as Lambda retries asynchronous events; each
// happens once per CloudFormation request and is counted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDeterministicZip } from '../../../scripts/dev/build/zip';
import { LocalLambda, type FunctionDefinition } from '../../../scripts/local';

process.env.TZ = 'UTC';

// Logs a step start as the providers do (steps.ts), then works for `stepMs`.
const code = `
exports.main = async (event) => {
  console.log(JSON.stringify({ level: 'INFO', message: 'step started', step: 'create' }));
  await new Promise((r) => setTimeout(r, event.stepMs ?? 0));
  return { done: true, continuation: event.KubecfnContinuation !== undefined };
};
`;

let dir: string;
let lambda: LocalLambda | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubecfn-lambda-chaos-'));
  await writeDeterministicZip(join(dir, 'code.zip'), [{ name: 'app.js', data: Buffer.from(code) }]);
  await mkdir(join(dir, 'functions'));
  const def: FunctionDefinition = {
    name: 'Provider',
    runtime: 'nodejs24.x',
    handler: 'app.main',
    timeout: 10,
    memorySize: 256,
    environment: {},
    code: join(dir, 'code.zip'),
    layers: [],
  };
  writeFileSync(join(dir, 'functions', 'Provider.json'), JSON.stringify(def));
});

afterEach(async () => {
  await lambda?.stop({ force: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const request = (id: string, extra: Record<string, unknown> = {}) => ({
  RequestType: 'Create',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
  LogicalResourceId: 'Thing',
  RequestId: id,
  ...extra,
});

async function deliver(event: unknown): Promise<void> {
  const res = await fetch(`${lambda!.endpoint}/2015-03-31/functions/Provider/invocations`, {
    method: 'POST',
    headers: { 'x-amz-invocation-type': 'Event' },
    body: JSON.stringify(event),
  });
  expect(res.status).toBe(202);
}

const outcomes = () =>
  lambda!.invocations
    .map(
      (i) =>
        `${(i.event as { RequestId: string }).RequestId} attempt ${i.attempt} ${i.injected ?? i.errorType ?? 'ok'}`,
    )
    .sort();

test('the first continuation of each request crashes at its start and is retried; first deliveries are not', async () => {
  lambda = await LocalLambda.start([], {
    definitionsDir: join(dir, 'functions'),
    asyncRetryDelaysMs: [200, 400],
    chaos: { crashContinuation: true },
  });
  const continuation = { KubecfnContinuation: { state: {}, startedAt: Date.now(), attempt: 1, physicalId: 'p' } };

  await deliver(request('a'));
  await deliver(request('b', continuation));
  await deliver(request('c', continuation));
  await lambda.idle();
  await deliver(request('b', continuation)); // a later continuation of the same request runs
  await lambda.idle();

  expect(outcomes()).toEqual([
    'a attempt 0 ok',
    'b attempt 0 crash-at-start',
    'b attempt 0 ok',
    'b attempt 1 ok',
    'c attempt 0 crash-at-start',
    'c attempt 1 ok',
  ]);
  expect(lambda.invocations.find((i) => i.injected)?.errorType).toBe('Runtime.ExitError');
  expect(lambda.injected).toEqual({ duplicateDeliveries: 0, crashedContinuations: 2, killedMidStep: 0 });
});

test('the first invocation of each request to start a step is killed mid-step, once; a short step escapes', async () => {
  lambda = await LocalLambda.start([], {
    definitionsDir: join(dir, 'functions'),
    asyncRetryDelaysMs: [200, 400],
    chaos: { killMidStep: true },
  });

  await deliver(request('slow', { stepMs: 3_000 }));
  await deliver(request('quick', { stepMs: 0 }));
  await lambda.idle();

  expect(outcomes()).toEqual(['quick attempt 0 ok', 'slow attempt 0 killed-mid-step', 'slow attempt 1 ok']);
  const killed = lambda.invocations.find((i) => i.injected === 'killed-mid-step')!;
  expect(killed.errorMessage).toMatch(/Runtime exited with signal: SIGKILL/);
  expect(lambda.injected.killedMidStep).toBe(1);
}, 30_000);

test('without chaos nothing is injected', async () => {
  lambda = await LocalLambda.start([], { definitionsDir: join(dir, 'functions') });

  await deliver(request('plain', { stepMs: 1_000, KubecfnContinuation: { attempt: 1 } }));
  await lambda.idle();

  expect(outcomes()).toEqual(['plain attempt 0 ok']);
  expect(lambda.injected).toEqual({ duplicateDeliveries: 0, crashedContinuations: 0, killedMidStep: 0 });
});
