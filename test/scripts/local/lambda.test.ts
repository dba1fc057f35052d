// The local Lambda service runs what a function's definition declares, as Lambda does: code,
// handler, runtime, timeout, memory, environment and layers at /opt; asynchronous events that fail
// are retried, old ones dropped, and with duplicateAsync every event arrives twice.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDeterministicZip } from '../../../scripts/dev/build/zip';
import { LocalLambda, type FunctionDefinition } from '../../../scripts/local';

process.env.TZ = 'UTC';

const code = `
const { existsSync, readFileSync, readdirSync } = require('node:fs');
const v8 = require('node:v8');
exports.main = async (event, context) => {
  if (event.fail) throw new Error('asked to fail');
  if (event.exit) process.exit(3);
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return {
    greeting: process.env.GREETING ?? null,
    opt: existsSync('/opt') ? readdirSync('/opt').sort() : null,
    layerFile: existsSync('/opt/bin/hello') ? readFileSync('/opt/bin/hello', 'utf8') : null,
    heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 1048576),
    memory: context.memoryLimitInMB,
    arn: context.invokedFunctionArn,
    taskRoot: process.env.LAMBDA_TASK_ROOT === __dirname,
    key: process.env.AWS_ACCESS_KEY_ID,
    sessionToken: process.env.AWS_SESSION_TOKEN ?? null,
  };
};
`;

let dir: string;
let lambda: LocalLambda;
const definitions = () => join(dir, 'functions');

async function define(name: string, over: Partial<FunctionDefinition> = {}): Promise<void> {
  const def: FunctionDefinition = {
    name,
    runtime: 'nodejs24.x',
    handler: 'app.main',
    timeout: 5,
    memorySize: 256,
    environment: { GREETING: 'hello from the template' },
    code: join(dir, 'code.zip'),
    layers: [join(dir, 'layer.zip')],
    ...over,
  };
  writeFileSync(join(definitions(), `${name}.json`), JSON.stringify(def));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubecfn-lambda-test-'));
  await writeDeterministicZip(join(dir, 'code.zip'), [{ name: 'app.js', data: Buffer.from(code) }]);
  await writeDeterministicZip(join(dir, 'layer.zip'), [
    { name: 'bin/hello', data: Buffer.from('from the layer'), mode: 0o755 },
  ]);
  await import('node:fs/promises').then((fs) => fs.mkdir(definitions(), { recursive: true }));
});

afterEach(async () => {
  await lambda?.stop({ force: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a function definition', () => {
  test('runs its handler with its environment, memory and layers at /opt, and nothing else at /opt', async () => {
    // given a definition as the engine exports it
    await define('Greeter');
    lambda = await LocalLambda.start([], { definitionsDir: definitions(), region: 'eu-west-1' });

    // when it is invoked
    const inv = await lambda.invoke('Greeter', {});

    // then it ran the declared handler with what the definition declares
    expect(inv.errorMessage).toBeUndefined();
    expect(inv.result).toEqual({
      greeting: 'hello from the template',
      opt: ['bin'],
      layerFile: 'from the layer',
      heapLimitMb: expect.any(Number),
      memory: '256',
      arn: 'arn:aws:lambda:eu-west-1:123456789012:function:Greeter',
      taskRoot: true,
      key: 'testing',
      sessionToken: null,
    });
    // V8's old space is capped below MemorySize (the limit reported includes a little young space)
    expect((inv.result as { heapLimitMb: number }).heapLimitMb).toBeLessThan(256);
  });

  test('a runtime the local service does not run fails closed, naming it', async () => {
    await define('Pythonic', { runtime: 'python3.12' });
    lambda = await LocalLambda.start([], { definitionsDir: definitions() });

    const inv = await lambda.invoke('Pythonic', {});

    expect(inv.errorType).toBe('Runtime.NotEmulated');
    expect(inv.errorMessage).toContain('declares Runtime python3.12');
  });

  test('a handler export that does not exist is Runtime.HandlerNotFound', async () => {
    await define('Misnamed', { handler: 'app.nope' });
    lambda = await LocalLambda.start([], { definitionsDir: definitions() });

    const inv = await lambda.invoke('Misnamed', {});

    expect(inv.errorType).toBe('Runtime.HandlerNotFound');
  });

  test('the Timeout kills the process at the deadline', async () => {
    await define('Slow', { timeout: 1 });
    lambda = await LocalLambda.start([], { definitionsDir: definitions() });

    const inv = await lambda.invoke('Slow', { sleepMs: 5000 });

    expect(inv.timedOut).toBe(true);
    expect(inv.result).toBeUndefined();
  });

  test('a process that exits without answering is a Runtime.ExitError', async () => {
    await define('Quitter');
    lambda = await LocalLambda.start([], { definitionsDir: definitions() });

    const inv = await lambda.invoke('Quitter', { exit: true });

    expect(inv.errorType).toBe('Runtime.ExitError');
    expect(inv.errorMessage).toContain('exit status 3');
  });

  test('a name with neither a definition nor a static config is not found on the Invoke API', async () => {
    lambda = await LocalLambda.start([], { definitionsDir: definitions() });

    const res = await fetch(`${lambda.endpoint}/2015-03-31/functions/Nobody/invocations`, {
      method: 'POST',
      body: '{}',
    });

    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
  });
});

describe('the execution role', () => {
  test('a function runs with a session of its role, named after the function', async () => {
    await define('Roled', { role: 'arn:aws:iam::123456789012:role/provider' });
    const asked: string[] = [];
    lambda = await LocalLambda.start([], {
      definitionsDir: definitions(),
      assumeRole: async (role, session) => {
        asked.push(`${role} ${session}`);
        return {
          accessKeyId: 'ASIASESSION',
          secretAccessKey: 's',
          sessionToken: 't',
          expiration: new Date(Date.now() + 3600_000),
        };
      },
    });

    const first = await lambda.invoke('Roled', {});
    await lambda.invoke('Roled', {});

    expect(first.result).toMatchObject({ key: 'ASIASESSION', sessionToken: 't' });
    // one session, reused while it is fresh
    expect(asked).toEqual(['arn:aws:iam::123456789012:role/provider Roled']);
  });

  test('a role that cannot be assumed fails the invocation as Lambda does', async () => {
    await define('Unassumable', { role: 'arn:aws:iam::123456789012:role/missing' });
    lambda = await LocalLambda.start([], {
      definitionsDir: definitions(),
      assumeRole: async () => {
        throw new Error('AccessDenied');
      },
    });

    const inv = await lambda.invoke('Unassumable', {});

    expect(inv.errorType).toBe('Lambda.AccessDeniedException');
    expect(inv.errorMessage).toContain('arn:aws:iam::123456789012:role/missing');
  });
});

describe('asynchronous invocations', () => {
  const invokeAsync = (name: string, event: unknown) =>
    fetch(`${lambda.endpoint}/2015-03-31/functions/${name}/invocations`, {
      method: 'POST',
      headers: { 'x-amz-invocation-type': 'Event' },
      body: JSON.stringify(event),
    });

  test('a function error is retried twice, after the configured delays', async () => {
    await define('Failing');
    lambda = await LocalLambda.start([], { definitionsDir: definitions(), asyncRetryDelaysMs: [300, 600] });

    const res = await invokeAsync('Failing', { fail: true });
    await lambda.idle();

    expect(res.status).toBe(202);
    expect(lambda.invocations.map((i) => [i.attempt, i.errorMessage])).toEqual([
      [0, 'asked to fail'],
      [1, 'asked to fail'],
      [2, 'asked to fail'],
    ]);
  });

  test('MaximumRetryAttempts 0 means no retry, and a success is never retried', async () => {
    await define('NoRetry', { maximumRetryAttempts: 0 });
    await define('Fine');
    lambda = await LocalLambda.start([], { definitionsDir: definitions(), asyncRetryDelaysMs: [100, 100] });

    await invokeAsync('NoRetry', { fail: true });
    await invokeAsync('Fine', {});
    await lambda.idle();

    expect(lambda.invocations.map((i) => [i.functionName, i.attempt]).sort()).toEqual([
      ['Fine', 0],
      ['NoRetry', 0],
    ]);
  });

  test('an event older than MaximumEventAgeInSeconds is dropped instead of retried', async () => {
    await define('Aging', { maximumEventAgeInSeconds: 1 });
    lambda = await LocalLambda.start([], { definitionsDir: definitions(), asyncRetryDelaysMs: [1500, 1500] });

    await invokeAsync('Aging', { fail: true });
    await lambda.idle();

    expect(lambda.invocations).toHaveLength(1);
  });

  test('with duplicateAsync every event is delivered twice, the second marked as the duplicate', async () => {
    await define('Twice');
    lambda = await LocalLambda.start([], { definitionsDir: definitions(), duplicateAsync: true });

    await invokeAsync('Twice', { n: 1 });
    await lambda.idle();

    expect(lambda.invocations.map((i) => [i.event, i.duplicate ?? false]).sort()).toEqual([
      [{ n: 1 }, false],
      [{ n: 1 }, true],
    ]);
  });
});
