/**
 * The retry loop's rare branches, which a healthy API server does not produce on demand: throttling
 * and restarts (retried a few times, then reported), and a race lost until time runs short (handed
 * to a later step instead of failing). The common branch — a real 409 Conflict — is exercised
 * against the real API server in test/integration/aws-auth.test.ts.
 */
import { KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { createServer, type AddressInfo } from 'node:net';
import { ApiServerUnreachableError, apiServerStore, KubeStatusError, updateAwsAuth, type AwsAuthStore } from '../../../functions/src/resources/aws-auth/config-map';
import type { Mappings } from '../../../functions/src/resources/aws-auth/mappings';
import { role } from './fixtures';

const wanted: Mappings = { mapRoles: [{ rolearn: role(1), username: 'team-1', groups: ['team-1'] }], mapUsers: [], mapAccounts: [] };
const quiet = { info: () => undefined, warn: () => undefined };
const noWait = async () => undefined;

/** A store over one in-memory ConfigMap whose writes fail with the given statuses first. */
function flakyStore(failures: number[]): AwsAuthStore & { writes: V1ConfigMap[] } {
  const writes: V1ConfigMap[] = [];
  let current: V1ConfigMap | undefined;
  const write = async (cm: V1ConfigMap) => {
    const status = failures.shift();
    if (status !== undefined) throw new KubeStatusError(status, undefined, `updating ConfigMap kube-system/aws-auth: status ${status}`);
    current = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(writes.length + 1) } };
    writes.push(current);
  };
  return { writes, read: async () => current, create: write, replace: write };
}

test('throttling and server errors are retried, then the write goes through', async () => {
  const store = flakyStore([429, 503, 500]);
  const outcome = await updateAwsAuth(store, 'stack-A-1', wanted, { remainingMs: () => 60_000, logger: quiet, sleep: noWait });
  expect(outcome).toMatchObject({ done: true, attempts: 4 });
  expect(store.writes).toHaveLength(1);
  expect(store.writes[0]!.data!.mapRoles).toBe(`- rolearn: ${role(1)}\n  username: team-1\n  groups:\n    - team-1\n`);
});

test('a server that keeps failing is reported after five tries, with its message', async () => {
  const store = flakyStore([503, 503, 503, 503, 503, 503]);
  await expect(updateAwsAuth(store, 'stack-A-1', wanted, { remainingMs: () => 60_000, logger: quiet, sleep: noWait })).rejects.toThrow(
    new KubeStatusError(503, undefined, 'updating ConfigMap kube-system/aws-auth: status 503'),
  );
});

test('a permanent refusal (403) is not retried', async () => {
  const store = flakyStore([403]);
  await expect(updateAwsAuth(store, 'stack-A-1', wanted, { remainingMs: () => 60_000, logger: quiet, sleep: noWait })).rejects.toThrow('status 403');
  expect(store.writes).toHaveLength(0);
});

test('conflicts are retried for as long as time allows, then handed on rather than failed', async () => {
  const store = flakyStore(Array.from({ length: 50 }, () => 409));
  let left = 20_000;
  const outcome = await updateAwsAuth(store, 'stack-A-1', wanted, {
    remainingMs: () => left,
    logger: quiet,
    sleep: async (ms) => {
      left -= ms + 1_000;
    },
  });
  expect(outcome).toEqual({ done: false, attempts: expect.any(Number) });
  expect(store.writes).toHaveLength(0);
});

test('an API server that refuses connections is tried five times, then reported with its address', async () => {
  // given a port nothing listens on
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  const warnings: unknown[] = [];
  const logger = { info: (_m: unknown, ...extra: unknown[]) => void warnings.push(extra[0]), warn: () => undefined };

  // when an owner writes
  const error = await updateAwsAuth(apiServerStore(kc), 'stack-A-1', wanted, { remainingMs: () => 60_000, logger, sleep: noWait }).catch((e: unknown) => e);

  // then it gave up after five tries, saying where it could not connect
  expect(error).toBeInstanceOf(ApiServerUnreachableError);
  expect((error as Error).message).toMatch(new RegExp(`^reading ConfigMap kube-system/aws-auth: cannot reach the API server at https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  expect(warnings).toHaveLength(4);
});
