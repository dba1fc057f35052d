// The runner against the real helm binary (the one the layer carries): no cluster needed.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { HelmCli, HelmCommandError, kubeconfigYaml, openHelmSession, tail } from '../../../functions/src/helm';
import { ensureHelm } from '../../../scripts/dev/binaries';

const access = {
  clusterName: 'c',
  server: 'https://127.0.0.1:6443',
  caData: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  token: 'secret-token',
};

describe('HelmCli', () => {
  let helm: string;
  beforeAll(async () => {
    helm = await ensureHelm();
  });

  test('runs helm with an argument array and returns its output', async () => {
    const cli = new HelmCli({ HOME: '/tmp' }, helm);

    const { stdout } = await cli.run(['version', '--short']);

    expect(stdout.trim()).toMatch(/^v3\.18\.0\+g[0-9a-f]+$/);
  });

  test("a failing command rejects with helm's stderr, and arguments are never interpreted by a shell", async () => {
    const cli = new HelmCli({ HOME: '/tmp' }, helm);

    const error = await cli.run(['show', 'chart', '/nonexistent; echo injected']).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(HelmCommandError);
    expect((error as HelmCommandError).exitCode).toBe(1);
    expect((error as HelmCommandError).stderrTail).toBe('Error: path "/nonexistent; echo injected" not found');
    expect((error as HelmCommandError).message).toBe(
      'helm show exited with 1: Error: path "/nonexistent; echo injected" not found',
    );
  });

  test('a missing binary says where it looked and how to fix it', async () => {
    const cli = new HelmCli({}, '/nonexistent/helm');

    await expect(cli.run(['version'])).rejects.toThrow(
      'helm version could not run: helm binary not found at /nonexistent/helm (set HELM_BINARY, or attach the helm layer so that /opt/bin/helm exists)',
    );
  });

  test('an aborted signal kills helm', async () => {
    const cli = new HelmCli({ HOME: '/tmp', KUBECONFIG: '/nonexistent' }, helm);
    const controller = new AbortController();
    // `helm registry login` reads the password from stdin: without one it waits, until killed.
    const running = cli.run(['registry', 'login', 'registry.invalid', '--username', 'u', '--password-stdin'], {
      signal: controller.signal,
      stdin: undefined,
    });
    controller.abort();

    const error = (await running.catch((e: unknown) => e)) as HelmCommandError;

    expect(error).toBeInstanceOf(HelmCommandError);
    expect(error.signal).toBe('SIGKILL');
    expect(error.stderrTail).toMatch(/helm registry was stopped: the step ran out of time$/);
  });

  test('tail keeps the last whole lines of long output', () => {
    const long = Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n');

    const t = tail(long);

    expect(t.startsWith('…line ')).toBe(true);
    expect(t.endsWith('line 199')).toBe(true);
    expect(t.length).toBeLessThanOrEqual(1501);
  });
});

describe('openHelmSession', () => {
  test('gives helm a private home, cache, config, data and a 0600 kubeconfig, and removes them on close', async () => {
    const session = await openHelmSession(access);
    const env = session.cli.env;
    const kubeconfig = env.KUBECONFIG!;

    expect(env.HOME).toBe(`${session.dir}/home`);
    expect([env.HELM_CACHE_HOME, env.HELM_CONFIG_HOME, env.HELM_DATA_HOME]).toEqual([
      `${session.dir}/cache`,
      `${session.dir}/config`,
      `${session.dir}/data`,
    ]);
    expect(session.dir).toMatch(/\/helm-[0-9a-f]{12}$/);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    expect(statSync(session.dir).mode & 0o777).toBe(0o700);
    expect(env).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
    const values = await session.writeFile('values.yaml', 'password: x\n');
    expect(statSync(values).mode & 0o777).toBe(0o600);

    await session.close();

    expect(existsSync(kubeconfig)).toBe(false);
    expect(existsSync(session.dir)).toBe(false);
  });

  test('the kubeconfig names the server, the CA and a token user', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml(access));

    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    expect(Buffer.from(kc.getCurrentCluster()!.caData!, 'base64').toString()).toBe(access.caData);
    expect(kc.getCurrentUser()?.token).toBe('secret-token');
    expect(parse(kubeconfigYaml(access)).users[0].user).toEqual({ token: 'secret-token' });
  });

  test("helm reads the session's kubeconfig (it parses the CA given)", async () => {
    const session = await openHelmSession(access);
    try {
      const cli = new HelmCli(session.cli.env, await ensureHelm());
      const error = (await cli.run(['list', '-o', 'json']).catch((e: unknown) => e)) as HelmCommandError;
      expect(error.stderrTail).toBe(
        'Error: Kubernetes cluster unreachable: unable to load root certificates: failed to parse certificate: x509: malformed certificate',
      );
      expect(readFileSync(session.cli.env.KUBECONFIG!, 'utf8')).toContain('secret-token');
    } finally {
      await session.close();
    }
  });
});
