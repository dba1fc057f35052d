/**
 * Custom::HelmRelease from a private https chart repository: a real Node https server in the test
 * (its own CA, made here with openssl) serving index.yaml and a packaged chart behind basic auth,
 * the credentials in moto's Secrets Manager, the real helm binary behind a wrapper that records
 * every command line. The right credentials with the CA install; a wrong password, a missing CA
 * and a secret of the wrong form fail with a Reason that names what is wrong and never holds the
 * password; no helm command line ever carries it.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureHelm } from '../../../scripts/dev/binaries';
import { startMoto, type MotoServer } from '../../../scripts/local';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const execFileAsync = promisify(execFile);
const TYPE = 'Custom::HelmRelease';
const cluster = useLocalCluster();
const USER = 'chart-reader';
const PASSWORD = 'pw-7f3a;"quoted" $HOME';

let h: ProviderHarness;
let moto: MotoServer;
let work: string;
let repo: Server;
let repoUrl: string;
let caPem: string;
let otherCaPem: string;
let core: CoreV1Api;
let commandLines: string;
const secrets: Record<string, string> = {};
const seen = { authorized: 0, refused: 0 };
const ns = `pr-${Date.now().toString(36)}`;

const send = (type: 'Create' | 'Delete', props: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  h.send('HelmProvider', type, TYPE, { ClusterName: 'local', Namespace: ns, Chart: 'web', ...props }, extra);
const reason = (answer: { Reason?: string }) => answer.Reason?.replace(/ \(log: [^)]*\)$/, '');
const everything = (r: Awaited<ReturnType<typeof send>>) =>
  [JSON.stringify(r.bodies), ...r.invocations.map((i) => i.logs), readFileSync(commandLines, 'utf8')].join('\n');

/** A self-signed CA (openssl) and a server certificate for 127.0.0.1 it signed. */
async function makeCa(dir: string, name: string): Promise<{ ca: string; key: string; cert: string }> {
  const f = (s: string) => join(dir, `${name}-${s}`);
  const openssl = (...args: string[]) => execFileAsync('openssl', args);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    `/CN=${name} test CA`,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  await openssl('req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('ext'),
    '-out',
    f('server.pem'),
  );
  return {
    ca: readFileSync(f('ca.pem'), 'utf8'),
    key: readFileSync(f('server.key'), 'utf8'),
    cert: readFileSync(f('server.pem'), 'utf8'),
  };
}

beforeAll(async () => {
  const helm = await ensureHelm();
  work = mkdtempSync(join(tmpdir(), 'kubecfn-private-repo-'));
  // helm behind a wrapper that records each command line, as `ps` would show it.
  commandLines = join(work, 'helm-command-lines.txt');
  writeFileSync(commandLines, '');
  const wrapper = join(work, 'helm');
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${commandLines}'\nexec '${helm}' "$@"\n`);
  chmodSync(wrapper, 0o755);

  // The repository: the web chart packaged and indexed, served over TLS behind basic auth.
  const ca = await makeCa(work, 'repo');
  caPem = ca.ca;
  otherCaPem = (await makeCa(work, 'other')).ca;
  const repoDir = join(work, 'repo');
  mkdirSync(repoDir);
  await execFileAsync(helm, ['package', resolve(__dirname, '../../fixtures/charts/web'), '--destination', repoDir], {
    env: { PATH: process.env.PATH, HOME: work },
  });
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  repo = createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    if (req.headers.authorization !== expected) {
      seen.refused++;
      return res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized');
    }
    seen.authorized++;
    try {
      const name = new URL(req.url ?? '/', 'https://x').pathname.replace(/^\/+/, '').replace(/\.\./g, '');
      res.writeHead(200).end(readFileSync(join(repoDir, name)));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((ok) => repo.listen(0, '127.0.0.1', ok));
  repoUrl = `https://127.0.0.1:${(repo.address() as AddressInfo).port}`;
  await execFileAsync(helm, ['repo', 'index', repoDir, '--url', repoUrl], {
    env: { PATH: process.env.PATH, HOME: work },
  });

  // The credentials in moto's Secrets Manager.
  moto = await startMoto();
  const sm = new SecretsManagerClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const create = async (name: string, value: string) =>
    (secrets[name] = (await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }))).ARN!);
  await create('charts/right', JSON.stringify({ username: USER, password: PASSWORD }));
  await create('charts/right-with-ca', JSON.stringify({ username: USER, password: PASSWORD, caBundle: caPem }));
  await create('charts/wrong', JSON.stringify({ username: USER, password: 'not-the-password' }));
  await create('charts/not-json', `${USER}:${PASSWORD}`);

  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  h = await ProviderHarness.start([
    {
      name: 'HelmProvider',
      zipFile: packageZip('HelmProvider'),
      timeoutSeconds: 120,
      environment: { ...clusterAccessEnv(cluster()), HELM_BINARY: wrapper, AWS_ENDPOINT_URL: moto.endpoint },
    },
  ]);
}, 180_000);

afterAll(async () => {
  await h?.stop();
  await moto?.stop();
  await new Promise((ok) => (repo ? repo.close(ok) : ok(undefined)));
  await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

const configMessage = async (name: string) => {
  try {
    return (await core.readNamespacedConfigMap({ name: `${name}-config`, namespace: ns })).data?.message;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  }
};

test('the right credentials and the CA (property or secret) install; the password is on no command line', async () => {
  // given the credentials in a secret and the repository's CA in RepositoryCaBundle
  const r = await send('Create', {
    ReleaseName: 'private-a',
    Repository: repoUrl,
    Version: '0.1.0',
    RepositorySecretArn: secrets['charts/right'],
    RepositoryCaBundle: caPem,
    Wait: 'false',
    Values: { message: 'from-private' },
  });
  // then the release is installed, the chart fetched with the credentials
  expect(reason(r.answer)).toBeUndefined();
  expect(r.answer.Data).toMatchObject({ ReleaseName: 'private-a', Chart: 'web', ChartVersion: '0.1.0' });
  expect(await configMessage('private-a')).toBe('from-private');
  expect(seen.authorized).toBeGreaterThanOrEqual(2); // the index and the chart
  // and the password reached neither a helm command line nor a log nor the response
  expect(readFileSync(commandLines, 'utf8')).toMatch(/repo update kubecfn-private/);
  expect(everything(r)).not.toContain(PASSWORD);
  expect(everything(r)).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));

  // given the CA in the secret instead
  const s = await send('Create', {
    ReleaseName: 'private-b',
    Repository: repoUrl,
    RepositorySecretArn: secrets['charts/right-with-ca'],
    Wait: 'false',
  });
  expect(reason(s.answer)).toBeUndefined();
  expect(await configMessage('private-b')).toBe('hello');

  for (const [name, answer] of [
    ['private-a', r.answer],
    ['private-b', s.answer],
  ] as const) {
    const d = await send(
      'Delete',
      { ReleaseName: name, Repository: repoUrl },
      { PhysicalResourceId: answer.PhysicalResourceId },
    );
    expect(d.answer.Status).toBe('SUCCESS');
    expect(await configMessage(name)).toBeUndefined();
  }
}, 180_000);

test('a wrong password: FAILED naming the repository and 401, without the password', async () => {
  const refused = seen.refused;
  const r = await send('Create', {
    ReleaseName: 'private-wrong',
    Repository: repoUrl,
    RepositorySecretArn: secrets['charts/wrong'],
    RepositoryCaBundle: caPem,
  });
  expect(r.answer.Status).toBe('FAILED');
  expect(reason(r.answer)).toMatch(
    new RegExp(
      `^Repository: could not read the index of chart repository ${repoUrl.replace(/[.]/g, '\\.')}: .*401`,
      's',
    ),
  );
  expect(seen.refused).toBeGreaterThan(refused);
  expect(everything(r)).not.toContain('not-the-password');
  expect(await configMessage('private-wrong')).toBeUndefined();
}, 60_000);

test.each([
  [
    'no CA',
    undefined,
    /the repository's certificate is not trusted: give its CA in RepositoryCaBundle.*x509: certificate signed by unknown authority/s,
  ],
  [
    'another CA',
    'other',
    /does not verify against the CA bundle given.*x509: certificate signed by unknown authority/s,
  ],
])(
  '%s: FAILED naming the TLS error',
  async (_name, ca, expected) => {
    const r = await send('Create', {
      ReleaseName: 'private-tls',
      Repository: repoUrl,
      RepositorySecretArn: secrets['charts/right'],
      ...(ca ? { RepositoryCaBundle: otherCaPem } : {}),
    });
    expect(r.answer.Status).toBe('FAILED');
    expect(reason(r.answer)).toMatch(
      /^Repository: could not read the index of chart repository https:\/\/127\.0\.0\.1:\d+/,
    );
    expect(reason(r.answer)).toMatch(expected);
    expect(everything(r)).not.toContain(PASSWORD);
  },
  60_000,
);

test.each([
  [
    'a secret that is not JSON',
    () => ({ Repository: repoUrl, RepositorySecretArn: secrets['charts/not-json'] }),
    /^RepositorySecretArn: expected a JSON object \{"username": "…", "password": "…"\}.*; it is not JSON$/,
  ],
  [
    'a secret that does not exist',
    () => ({
      Repository: repoUrl,
      RepositorySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:charts/none-AbCdEf',
    }),
    /^RepositorySecretArn: could not read the secret arn:aws:secretsmanager:us-east-1:123456789012:secret:charts\/none-AbCdEf: ResourceNotFoundException/,
  ],
  [
    'credentials for an http:// repository',
    () => ({ Repository: repoUrl.replace('https:', 'http:'), RepositorySecretArn: secrets['charts/right'] }),
    /RepositorySecretArn: expected an https:\/\/ Repository; over http:\/\/ the credentials would cross the network in clear text/,
  ],
  [
    'a CA bundle that is not PEM',
    () => ({ Repository: repoUrl, RepositoryCaBundle: 'not a certificate' }),
    /RepositoryCaBundle: expected PEM certificates/,
  ],
  [
    'credentials without a Repository',
    () => ({ Chart: 'oci://127.0.0.1:1/charts/web', RepositorySecretArn: secrets['charts/right'] }),
    /RepositorySecretArn: only applies to an http\(s\) chart repository in Repository/,
  ],
])(
  '%s: FAILED naming the property, nothing installed',
  async (_name, props, expected) => {
    const r = await send('Create', { ReleaseName: 'private-bad', ...props() });
    expect(r.answer.Status).toBe('FAILED');
    expect(reason(r.answer)).toMatch(expected);
    expect(everything(r)).not.toContain(PASSWORD);
    expect(await configMessage('private-bad')).toBeUndefined();
  },
  60_000,
);
