/**
 * The retry loop's rare branches, which a healthy API server does not produce on demand: throttling
 * and restarts (retried a few times, then reported), and a race lost until time runs short (handed
 * to a later step instead of failing). The common branch — a real 409 Conflict — is exercised
 * against the real API server in test/integration/aws-auth.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../../../functions/src/kube';
import {
  ApiServerUnreachableError,
  apiServerStore,
  KubeStatusError,
  updateAwsAuth,
  type AwsAuthConfigMap,
  type AwsAuthStore,
} from '../../../../functions/src/resources/aws-auth/config-map';
import type { Mappings } from '../../../../functions/src/resources/aws-auth/mappings';
import { timers } from '../../../../functions/src/shared';
import { role } from './fixtures';

const wanted: Mappings = {
  mapRoles: [{ rolearn: role(1), username: 'team-1', groups: ['team-1'] }],
  mapUsers: [],
  mapAccounts: [],
};
const quiet = { info: () => undefined, warn: () => undefined };

// The backoff between attempts is not waited out here: the seam is the shared timers' sleep.
const realSleep = timers.sleep;
beforeEach(() => {
  timers.sleep = async () => undefined;
});
afterEach(() => {
  timers.sleep = realSleep;
});

/** A store over one in-memory ConfigMap whose writes fail with the given statuses first. */
function flakyStore(failures: number[]): AwsAuthStore & { writes: AwsAuthConfigMap[] } {
  const writes: AwsAuthConfigMap[] = [];
  let current: AwsAuthConfigMap | undefined;
  const write = async (cm: AwsAuthConfigMap) => {
    const status = failures.shift();
    if (status !== undefined)
      throw new KubeStatusError(status, undefined, `updating ConfigMap kube-system/aws-auth: status ${status}`);
    current = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(writes.length + 1) } };
    writes.push(current);
  };
  const remove = async () => {
    current = undefined;
  };
  return { writes, read: async () => current, create: write, replace: write, remove };
}

test('throttling and server errors are retried, then the write goes through', async () => {
  const store = flakyStore([429, 503, 500]);
  const outcome = await updateAwsAuth(store, 'stack-A-1', wanted, {
    remainingMs: () => 60_000,
    logger: quiet,
  });
  expect(outcome).toMatchObject({ done: true, attempts: 4 });
  expect(store.writes).toHaveLength(1);
  expect(store.writes[0]!.data!.mapRoles).toBe(`- rolearn: ${role(1)}\n  username: team-1\n  groups:\n    - team-1\n`);
});

test('a server that keeps failing is reported after five tries, with its message', async () => {
  const store = flakyStore([503, 503, 503, 503, 503, 503]);
  await expect(updateAwsAuth(store, 'stack-A-1', wanted, { remainingMs: () => 60_000, logger: quiet })).rejects.toThrow(
    new KubeStatusError(503, undefined, 'updating ConfigMap kube-system/aws-auth: status 503'),
  );
});

test('a permanent refusal (403) is not retried', async () => {
  const store = flakyStore([403]);
  await expect(updateAwsAuth(store, 'stack-A-1', wanted, { remainingMs: () => 60_000, logger: quiet })).rejects.toThrow(
    'status 403',
  );
  expect(store.writes).toHaveLength(0);
});

test('conflicts are retried for as long as time allows, then handed on rather than failed', async () => {
  const store = flakyStore(Array.from({ length: 50 }, () => 409));
  let left = 20_000;
  // Each wait between attempts uses up its own length and a second more of the step's time.
  timers.sleep = async (ms) => {
    left -= ms + 1_000;
  };
  const outcome = await updateAwsAuth(store, 'stack-A-1', wanted, {
    remainingMs: () => left,
    logger: quiet,
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
  const client = new KubeClient({ clusterName: 'c', server: `https://127.0.0.1:${port}`, caData: '', token: 'x' });
  const warnings: unknown[] = [];
  const logger = { info: (_m: unknown, ...extra: unknown[]) => void warnings.push(extra[0]), warn: () => undefined };

  // when an owner writes
  const error = await updateAwsAuth(apiServerStore(client), 'stack-A-1', wanted, {
    remainingMs: () => 60_000,
    logger,
  }).catch((e: unknown) => e);

  // then it gave up after five tries, saying where it could not connect
  expect(error).toBeInstanceOf(ApiServerUnreachableError);
  expect((error as Error).message).toMatch(
    new RegExp(
      `^reading ConfigMap kube-system/aws-auth: cannot reach the API server at https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
    ),
  );
  expect(warnings).toHaveLength(4);
  client.close();
});

describe('against an API server that answers with error statuses', () => {
  /** A self-signed certificate for 127.0.0.1 (made by the openssl CLI): the server's and the client's CA. */
  let tls: { cert: string; key: string };
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'kubecfn-aws-auth-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          'key.pem',
          '-out',
          'cert.pem',
          '-subj',
          '/CN=127.0.0.1',
          '-days',
          '1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { cwd: dir, stdio: 'pipe' },
      );
      tls = { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /**
   * An HTTPS server answering each request with the next of `answers` (status and Status message),
   * recording `METHOD path`; past the list, GET answers 404 and POST echoes the body with 201.
   */
  async function apiServer(answers: Array<{ status: number; reason: string; message: string }>) {
    const seen: string[] = [];
    const server = createHttpsServer(tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`);
        res.setHeader('content-type', 'application/json');
        const next = answers.shift();
        if (next) {
          res.statusCode = next.status;
          res.end(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              message: next.message,
              reason: next.reason,
              code: next.status,
            }),
          );
        } else if (req.method === 'POST') {
          res.statusCode = 201;
          res.end(Buffer.concat(chunks));
        } else {
          res.statusCode = 404;
          res.end(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              message: 'configmaps "aws-auth" not found',
              reason: 'NotFound',
              code: 404,
            }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new KubeClient({
      clusterName: 'c',
      server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      caData: tls.cert,
      token: 'x',
    });
    const close = () => {
      client.close();
      return new Promise((resolve) => server.close(resolve));
    };
    return { seen, store: apiServerStore(client), close };
  }

  const throttled = { status: 429, reason: 'TooManyRequests', message: 'too many requests, please try again later' };
  const unavailable = {
    status: 503,
    reason: 'ServiceUnavailable',
    message: 'the server is currently unable to handle the request',
  };

  test('throttling is retried by the store’s own loop, one request per attempt, then the ConfigMap is created', async () => {
    // given a server that throttles the first two reads
    const api = await apiServer([throttled, throttled]);
    try {
      // when an owner writes
      const outcome = await updateAwsAuth(api.store, 'stack-A-1', wanted, {
        remainingMs: () => 60_000,
        logger: quiet,
      });

      // then each attempt made exactly one request (the client did not retry on its own), and the third created aws-auth
      expect(outcome).toMatchObject({ done: true, attempts: 3 });
      const path = '/api/v1/namespaces/kube-system/configmaps';
      expect(api.seen).toEqual([
        `GET ${path}/aws-auth`,
        `GET ${path}/aws-auth`,
        `GET ${path}/aws-auth`,
        `POST ${path}`,
      ]);
    } finally {
      await api.close();
    }
  });

  test('a server that stays unavailable is reported after five requests, with its status, reason and message', async () => {
    const api = await apiServer(Array.from({ length: 10 }, () => ({ ...unavailable })));
    try {
      const error = await updateAwsAuth(api.store, 'stack-A-1', wanted, {
        remainingMs: () => 60_000,
        logger: quiet,
      }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(KubeStatusError);
      expect(error).toMatchObject({
        status: 503,
        reason: 'ServiceUnavailable',
        message: 'reading ConfigMap kube-system/aws-auth: the server is currently unable to handle the request',
      });
      expect(api.seen).toHaveLength(5);
    } finally {
      await api.close();
    }
  });
});
