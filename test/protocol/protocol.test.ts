/**
 * Fault injection through the real protocol: the bundled handler (the built zip's index.js) runs in
 * a fresh Node process with a real deadline, and answers a real HTTP endpoint standing in for
 * CloudFormation's response URL. Each case asserts the exact body CloudFormation would receive and
 * that exactly one answer was sent.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleProvider } from '../../scripts/dev/build/bundle';
import type { Invocation } from '../../scripts/local';
import { CREATE_FAILED_PREFIX, MAX_RESPONSE_BYTES, type CloudFormationEvent } from '../../functions/src/runtime';
import { cfnEvent } from '../helpers/events';
import { packageZip, ProviderHarness } from '../helpers/provider-harness';

process.env.TZ = 'UTC';
let dir: string;
let h: ProviderHarness;
/** A Lambda endpoint that accepts connections and never answers: a hand-over to it hangs. */
let hung: Server;
const hungSockets = new Set<Socket>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubecfn-fault-'));
  hung = createServer((socket) => {
    hungSockets.add(socket);
    socket.on('close', () => hungSockets.delete(socket));
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const hungEndpoint = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
  const fixture = resolve(__dirname, 'fault-provider/fault-provider.ts');
  const { zipFile } = await bundleProvider(fixture, dir, 'FaultProvider');
  h = await ProviderHarness.start([
    { name: 'FaultProvider', zipFile, timeoutSeconds: 6 },
    { name: 'ShortProvider', zipFile, timeoutSeconds: 4 },
    // Steps of 4 s in an 8 s function: one step per invocation, with seconds to spare on a loaded machine.
    { name: 'StepProvider', zipFile, timeoutSeconds: 8 },
    { name: 'ColdProvider', zipFile, timeoutSeconds: 10 },
    // Its hand-overs go to a Lambda endpoint that never answers.
    { name: 'HungProvider', zipFile, timeoutSeconds: 8, environment: { AWS_ENDPOINT_URL_LAMBDA: hungEndpoint } },
    { name: 'KubeProvider', zipFile: packageZip('KubeProvider'), timeoutSeconds: 10 },
    // Its S3 endpoint (where CloudFormation's response bucket is) refuses connections.
    {
      name: 'NoS3Provider',
      zipFile,
      timeoutSeconds: 6,
      environment: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' },
    },
  ]);
});

afterAll(async () => {
  await h?.stop();
  for (const socket of hungSockets) socket.destroy();
  await new Promise((resolve) => hung?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** Sends one request and waits until it, and every continuation it started, has finished. */
function send(
  requestType: CloudFormationEvent['RequestType'],
  properties: Record<string, unknown>,
  options: { fn?: string; type?: string; extra?: Partial<CloudFormationEvent> } = {},
) {
  return h.send(options.fn ?? 'FaultProvider', requestType, options.type ?? 'Custom::Fault', properties, options.extra);
}

const logPointer = (inv: Invocation) => ` (log: /aws/lambda/${inv.functionName} local/${inv.requestId})`;

describe('create', () => {
  test('a handler that throws is answered FAILED with its message, the log stream and the create-failed marker', async () => {
    const { event, first, bodies } = await send('Create', { Mode: 'throw' });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toEqual({
      Status: 'FAILED',
      Reason: `Custom::Fault Create failed: deliberate failure in the handler${logPointer(first)}`,
      PhysicalResourceId: expect.stringMatching(new RegExp(`^${CREATE_FAILED_PREFIX}TestResource:[0-9a-f]{12}$`)),
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: 'TestResource',
    });
    expect(first.timedOut).toBe(false);
    // The package's source map turns the logged stack back into TypeScript locations.
    expect(first.logs).toMatch(/protocol\/fault-provider\/fault\.ts:\d+/);
  });

  test('a handler that never resolves is answered FAILED before the Lambda deadline', async () => {
    const { first, bodies } = await send('Create', { Mode: 'hang' });
    expect(first.timedOut).toBe(false);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.Status).toBe('FAILED');
    expect(bodies[0]!.Reason).toMatch(
      /^Custom::Fault did not finish before the Lambda function's timeout; the step was still running \d+ s in \(log: /,
    );
    // The deadline guard answered (the Reason above is its own), and the handler returned on its own:
    // the local Lambda did not have to kill it at the function's timeout, and recorded no error.
    expect(first.errorType).toBeUndefined();
  });

  test('a resource module that throws while it loads is answered FAILED naming the provider and type', async () => {
    const { first, bodies } = await send('Create', {}, { type: 'Custom::InitFault' });
    expect(bodies).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason: `FaultProvider could not load the code for Custom::InitFault: cannot find native module kubecfn_fixture.node${logPointer(first)}`,
      }),
    ]);
  });

  test('a type the provider does not handle is answered FAILED listing what it handles', async () => {
    const { first, bodies } = await send('Create', {}, { type: 'Custom::Nope' });
    expect(bodies.map((b) => b.Reason)).toEqual([
      `ResourceType 'Custom::Nope' is not handled by FaultProvider; it handles: Custom::Fault, Custom::InitFault${logPointer(first)}`,
    ]);
  });

  test.each([
    ['a missing required property', {}, 'Mode: required property is missing'],
    [
      'a value outside an enum',
      { Mode: 'sideways' },
      'Mode: expected one of ok | throw | hang | big-error | big-data | change-id | continue | fail-create | fail-create-dirty',
    ],
    ['a non-integer', { Mode: 'ok', Steps: 'three' }, 'Steps: expected a whole number, got text'],
    ['an integer below its minimum', { Mode: 'ok', Steps: '0' }, 'Steps: expected a whole number ≥ 1'],
    ['a non-boolean', { Mode: 'ok', Enabled: 'yes' }, 'Enabled: expected "true" or "false", got text'],
    ['malformed YAML', { Mode: 'ok', Document: 'a: [1, 2' }, 'Document: expected a YAML or JSON document:'],
    [
      'a YAML scalar where a document is expected',
      { Mode: 'ok', Document: 'just text' },
      'Document: expected a map or a list (as YAML/JSON text or a native value), got text',
    ],
    [
      'a bad nested object in a list',
      { Mode: 'ok', Items: '[{"Key": ""}]' },
      'Items[0].Key: expected a non-empty string',
    ],
    [
      'a nested value of the wrong type',
      { Mode: 'ok', Items: [{ Key: 'a', Value: 'many' }] },
      'Items[0].Value: expected a whole number, got text',
    ],
    [
      'a string that breaks its pattern',
      { Mode: 'ok', Name: 'Not_OK' },
      'Name: expected lower-case letters, digits and hyphens',
    ],
    [
      'an unknown property',
      { Mode: 'ok', Colour: 'blue' },
      'Colour: unknown property; expected one of Mode, Name, Steps, StepMs, Enabled, Document, Items, Password',
    ],
  ])('%s is answered FAILED naming the property and what was expected', async (_, properties, expected) => {
    const { first, bodies } = await send('Create', properties);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.Status).toBe('FAILED');
    expect(bodies[0]!.Reason).toContain(`Invalid properties for Custom::Fault: ${expected}`);
    expect(bodies[0]!.Reason!.endsWith(logPointer(first))).toBe(true);
    expect(bodies[0]!.PhysicalResourceId.startsWith(CREATE_FAILED_PREFIX)).toBe(true);
  });

  test('string forms of every property type are parsed into their values', async () => {
    const { bodies } = await send('Create', {
      Mode: 'ok',
      Steps: '3',
      Enabled: 'FALSE',
      Document: 'a: 1\nb: [x, "y"]', // YAML 1.1, as helm and kubectl read it: a bare y would be true
      Items: '[{"Key": "k", "Value": "7"}]',
    });
    expect(bodies).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        Data: {
          Name: 'fault',
          Pids: '',
          Enabled: 'false',
          Steps: '3',
          Items: '[{"Key":"k","Value":7}]',
          Document: '{"a":1,"b":["x","y"]}',
        },
      }),
    ]);
  });

  test('CloudFormation retrying the same Create (same RequestId) gets the same physical id', async () => {
    const first = await send('Create', { Mode: 'ok' });
    const again = await h.sendEvent('FaultProvider', first.event, first.id);
    const bodies = h.responses.bodiesFor(first.id);
    expect(bodies).toHaveLength(2);
    expect(again.invocations).toHaveLength(1);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[0]!.PhysicalResourceId).toMatch(/^teststack-TestResource-[0-9a-f]{12}$/);
  });

  test('a 100 KB error message is cut so the body stays within 4,096 bytes, keeping its head and the log pointer', async () => {
    const { first, bodies, id } = await send('Create', { Mode: 'big-error' });
    const raw = h.rawBody(id)!;
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    expect(Buffer.byteLength(raw)).toBeGreaterThan(MAX_RESPONSE_BYTES - 200);
    expect(bodies[0]!.Reason).toMatch(/^deliberate long failure: x{1000,}/);
    expect(bodies[0]!.Reason!.endsWith(` [truncated]${logPointer(first)}`)).toBe(true);
  });

  test('Data over the limit is capped, every attribute kept', async () => {
    const { bodies, id } = await send('Create', { Mode: 'big-data' });
    const raw = h.rawBody(id)!;
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    const data = bodies[0]!.Data!;
    expect(Object.keys(data).sort()).toEqual(['Big', 'Bigger', 'Name', 'Pids', 'Small']);
    expect(data.Small).toBe('kept');
    expect(data.Name).toBe('');
    expect(data.Bigger!.endsWith(' [truncated]') || data.Bigger === '').toBe(true);
    expect(bodies[0]!.Status).toBe('SUCCESS');
  });

  test('a failed Create answers the marker id, and the rollback Delete of that id succeeds at once', async () => {
    const created = await send('Create', { Mode: 'fail-create' });
    expect(created.bodies[0]).toMatchObject({
      Status: 'FAILED',
      Reason: expect.stringMatching(/^create failed after applying something/),
    });
    const markerId = created.bodies[0]!.PhysicalResourceId;
    // The rollback Delete carries properties that would throw if the delete step ran.
    const deleted = await send('Delete', { Mode: 'throw' }, { extra: { PhysicalResourceId: markerId } });
    expect(deleted.bodies).toEqual([
      {
        Status: 'SUCCESS',
        PhysicalResourceId: markerId,
        StackId: deleted.event.StackId,
        RequestId: deleted.event.RequestId,
        LogicalResourceId: 'TestResource',
      },
    ]);
  });
});

describe('a failed Create tells the truth about its cleanup', () => {
  test('a cleanup that did not finish: FAILED with the physical id, and the rollback Delete of that id runs the delete', async () => {
    // given a Create that fails and whose cleanup is still going when the invocation has no time left
    const created = await send('Create', { Mode: 'fail-create-dirty' });

    // then it answers its own physical id, not the create-failed marker, and says why
    expect(created.answer).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: expect.stringMatching(/^teststack-TestResource-[0-9a-f]{12}$/),
      Reason: expect.stringMatching(
        /^create failed after applying something \(what the Create applied is not all removed yet; the rollback Delete removes it\)/,
      ),
    });

    // when CloudFormation's rollback deletes that id, the resource's delete step runs
    const deleted = await send(
      'Delete',
      { Mode: 'ok' },
      { extra: { PhysicalResourceId: created.answer.PhysicalResourceId } },
    );
    expect(deleted.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.answer.PhysicalResourceId });
    expect(deleted.first.logs).toContain('fault delete step ran');
  });
});

describe('update', () => {
  test('an Update whose step returns another physical id answers it (CloudFormation then deletes the old one)', async () => {
    const { bodies } = await send(
      'Update',
      { Mode: 'change-id', Name: 'renamed' },
      { extra: { PhysicalResourceId: 'renamed-create', OldResourceProperties: { Mode: 'change-id' } } },
    );
    expect(bodies).toEqual([expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: 'renamed-update' })]);
  });

  test('a failed Update keeps the current physical id', async () => {
    const { bodies } = await send(
      'Update',
      { Mode: 'throw' },
      { extra: { PhysicalResourceId: 'keep-me', OldResourceProperties: { Mode: 'ok' } } },
    );
    expect(bodies).toEqual([expect.objectContaining({ Status: 'FAILED', PhysicalResourceId: 'keep-me' })]);
  });
});

describe('delete', () => {
  test('a Delete that throws is answered FAILED with the current physical id', async () => {
    const { bodies } = await send('Delete', { Mode: 'throw' }, { extra: { PhysicalResourceId: 'doomed' } });
    expect(bodies).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        PhysicalResourceId: 'doomed',
        Reason: expect.stringMatching(/^Custom::Fault Delete failed: deliberate failure/),
      }),
    ]);
  });
});

describe('response delivery', () => {
  test('a response endpoint that answers 500 twice gets the body on the third attempt, once', async () => {
    const attemptsBefore = h.responses.attempts;
    h.responses.failNext(2);
    const { bodies, first } = await send('Create', { Mode: 'ok' });
    expect(h.responses.attempts - attemptsBefore).toBe(3);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.Status).toBe('SUCCESS');
    expect(first.logs).toContain('response PUT failed, retrying');
  });

  test('an unreachable response endpoint is retried, logged, and the invocation still ends before its deadline', async () => {
    const event = cfnEvent(
      'Create',
      'Custom::Fault',
      { Mode: 'ok' },
      {
        ResponseURL:
          'http://127.0.0.1:9/cloudformation-custom-resource-response-useast1/void?X-Amz-Signature=SECRETSIGNATUREvoid',
      },
    );
    const inv = await h.lambda.invoke('NoS3Provider', event);
    expect(inv.timedOut).toBe(false);
    expect(inv.logs).toContain('response not delivered');
    expect(inv.logs).toContain('ECONNREFUSED');
    expect(inv.logs).not.toContain('SECRETSIGNATURE');
  });
});

describe('who is answered', () => {
  test("an event whose ResponseURL is not CloudFormation's response bucket is refused: no work, no PUT anywhere", async () => {
    const before = h.responses.attempts;
    const event = cfnEvent(
      'Create',
      'Custom::Fault',
      { Mode: 'ok' },
      { ResponseURL: `${h.responses.origin}/some-other-bucket/x?X-Amz-Signature=SECRETSIGNATUREother` },
    );
    const inv = await h.lambda.invoke('FaultProvider', event);
    expect(inv.logs).toContain("request refused: its ResponseURL is not CloudFormation's");
    expect(inv.logs).not.toContain('SECRETSIGNATURE');
    expect(h.responses.attempts).toBe(before);
  });
});

/** Lambda's limit for an asynchronous invocation's payload. */
const ASYNC_LIMIT = 1_048_576;

describe('continuation', () => {
  test('work longer than one invocation continues in fresh invocations and is answered once', async () => {
    const { bodies, invocations } = await send(
      'Create',
      { Mode: 'continue', Steps: '3', StepMs: '4000' },
      { fn: 'StepProvider' },
    );
    expect(invocations).toHaveLength(3);
    expect(invocations.every((i) => !i.timedOut)).toBe(true);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ Status: 'SUCCESS' });
    const pids = bodies[0]!.Data!.Pids!.split(',');
    expect(pids).toHaveLength(3);
    expect(new Set(pids).size).toBe(3);
    expect(bodies[0]!.PhysicalResourceId).toMatch(/^teststack-TestResource-[0-9a-f]{12}$/);
  });

  test("an Update event within bytes of Lambda's 1 MB asynchronous limit still continues across invocations", async () => {
    // given an Update whose new and old properties fill the event to 64 bytes under the limit
    const id = 'near-limit';
    const event = cfnEvent(
      'Update',
      'Custom::Fault',
      { Mode: 'continue', Steps: '2', StepMs: '4000', Document: { pad: '' } },
      {
        ResponseURL: h.responses.url(id),
        PhysicalResourceId: 'teststack-TestResource-000000000000',
        OldResourceProperties: { Mode: 'ok', Document: { pad: '' } },
      },
    );
    const half = Math.floor((ASYNC_LIMIT - 64 - Buffer.byteLength(JSON.stringify(event))) / 2);
    (event.ResourceProperties.Document as { pad: string }).pad = 'n'.repeat(half);
    (event.OldResourceProperties!.Document as { pad: string }).pad = 'o'.repeat(
      ASYNC_LIMIT - 64 - Buffer.byteLength(JSON.stringify(event)),
    );
    expect(Buffer.byteLength(JSON.stringify(event))).toBe(ASYNC_LIMIT - 64);

    // when its work spans two invocations
    const { bodies, invocations } = await h.sendEvent('StepProvider', event, id);

    // then the hand-over fitted (without the old properties) and the second invocation answered
    expect(invocations).toHaveLength(2);
    expect(bodies).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(invocations[0]!.logs).toContain('the hand-over leaves OldResourceProperties out');
    expect(invocations[0]!.logs).toMatch(/continuing in a new invocation.*"payloadBytes":\d+/);
  });

  test('the local Lambda refuses an asynchronous payload over 1 MB, as Lambda does', async () => {
    const res = await fetch(`${h.lambda.endpoint}/2015-03-31/functions/FaultProvider/invocations`, {
      method: 'POST',
      headers: { 'x-amz-invocation-type': 'Event' },
      body: JSON.stringify({ pad: 'x'.repeat(ASYNC_LIMIT) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('x-amzn-errortype')).toBe('RequestEntityTooLargeException');
  });

  test('a hand-over whose Invoke hangs is answered FAILED before the Lambda deadline', async () => {
    // given a step of 5 s in an 8 s function: the next one does not fit, so it hands over, to an endpoint that never answers
    const { bodies, invocations } = await send(
      'Create',
      { Mode: 'continue', Steps: '3', StepMs: '5000' },
      { fn: 'HungProvider' },
    );

    // then one answer, from the first invocation, which was not killed at its deadline
    expect(invocations).toHaveLength(1);
    expect(invocations[0]!.timedOut).toBe(false);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.Status).toBe('FAILED');
    expect(bodies[0]!.Reason).toMatch(
      /^Custom::Fault needed more time but could not continue in a new invocation: the asynchronous Invoke did not complete within \d+ ms/,
    );
  });

  test('continuation past the ServiceTimeout is answered FAILED once, naming the timeout', async () => {
    const { bodies, invocations } = await send(
      'Create',
      { Mode: 'continue', Steps: '20', StepMs: '1500', ServiceTimeout: '6' },
      { fn: 'ShortProvider' },
    );
    expect(invocations.length).toBeGreaterThanOrEqual(2);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.Status).toBe('FAILED');
    expect(bodies[0]!.Reason).toMatch(/^Custom::Fault did not finish within its ServiceTimeout of 6 s/);
  });
});

describe('concurrency', () => {
  test('ten concurrent first invocations of a function are each answered once', async () => {
    const exchanges = await Promise.all(
      Array.from({ length: 10 }, () => send('Create', { Mode: 'ok' }, { fn: 'ColdProvider' })),
    );
    for (const x of exchanges) expect(x.answer.Status).toBe('SUCCESS');
  });
});

describe('logs', () => {
  test('every line is JSON with the request id; the response URL and sensitive properties never appear', async () => {
    const { first, event } = await send('Create', { Mode: 'ok', Password: 'hunter2-secret' });
    const lines = first.logs.split('\n').filter((l) => l.trim());
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines)
      expect(JSON.parse(line)).toMatchObject({ requestId: event.RequestId, resourceType: 'Custom::Fault' });
    expect(first.logs).not.toContain('SECRETSIGNATURE');
    expect(first.logs).not.toContain('SECRETCRED');
    expect(first.logs).not.toContain('hunter2-secret');
  });
});

describe('the real KubeProvider package', () => {
  test('answers a type it does not handle with FAILED, through the same protocol', async () => {
    const { bodies } = await send('Create', {}, { fn: 'KubeProvider', type: 'Custom::Unknown' });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.Status).toBe('FAILED');
    expect(bodies[0]!.Reason).toMatch(/^ResourceType 'Custom::Unknown' is not handled by KubeProvider/);
  });
});
