/**
 * A private, short-lived helm environment per invocation: HOME, cache, config and data under
 * /tmp/helm-<id> (Lambda's only writable place), and a kubeconfig written 0600 in its own 0700
 * directory. `close()` removes all of it, so neither the bearer token nor a registry login outlives
 * the step that needed it, even on a warm container.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterAccess } from '../kube';
import { HelmCli } from './helm-cli';

/** An open helm environment; always `close()` it (in a `finally`). */
export interface HelmSession {
  readonly cli: HelmCli;
  /** /tmp/helm-<id>: the place for downloaded charts and values files. */
  readonly dir: string;
  /** Writes a file (0600) inside {@link dir}; returns its path. */
  writeFile(name: string, data: string | Uint8Array): Promise<string>;
  close(): Promise<void>;
}

/**
 * Kubeconfig YAML for one cluster and a token (or client-certificate) user. Holds a credential:
 * write it 0600 and never log it.
 *
 * @example
 * await writeFile(path, kubeconfigYaml(access), { mode: 0o600 });
 */
export function kubeconfigYaml(
  access: Pick<ClusterAccess, 'server' | 'caData' | 'token' | 'clientCert' | 'clientKey'>,
): string {
  const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
  const user: Record<string, string> = {};
  if (access.token) user.token = access.token;
  if (access.clientCert) user['client-certificate-data'] = b64(access.clientCert);
  if (access.clientKey) user['client-key-data'] = b64(access.clientKey);
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'cluster', cluster: { server: access.server, 'certificate-authority-data': b64(access.caData) } },
    ],
    users: [{ name: 'kubecfn', user }],
    contexts: [{ name: 'kubecfn', context: { cluster: 'cluster', user: 'kubecfn' } }],
    'current-context': 'kubecfn',
  });
}

/** Proxy settings pass through to helm (a VPC may reach repositories only through one). */
const PASSED_THROUGH = [
  'PATH',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
];

/**
 * Opens a helm environment for `access`. The token in the kubeconfig is the one `access` holds;
 * callers get access afresh per step, so an EKS token is minutes old at most.
 *
 * @example
 * const session = await openHelmSession(await getClusterAccess({ clusterName }));
 * try {
 *   await session.cli.run(['list', '-A', '-o', 'json'], { signal: ctx.signal });
 * } finally {
 *   await session.close();
 * }
 */
export async function openHelmSession(access: ClusterAccess, base = tmpdir()): Promise<HelmSession> {
  const dir = join(base, `helm-${randomBytes(6).toString('hex')}`);
  const paths = {
    home: join(dir, 'home'),
    cache: join(dir, 'cache'),
    config: join(dir, 'config'),
    data: join(dir, 'data'),
  };
  let kubeDir: string | undefined;
  try {
    await mkdir(dir, { mode: 0o700 });
    await Promise.all(Object.values(paths).map((p) => mkdir(p, { mode: 0o700 })));
    kubeDir = await mkdtemp(join(base, 'kubecfn-kube-'));
    const kubeconfig = join(kubeDir, 'config');
    await writeFile(kubeconfig, kubeconfigYaml(access), { mode: 0o600 });

    const env: Record<string, string> = {};
    for (const key of PASSED_THROUGH) if (process.env[key]) env[key] = process.env[key]!;
    Object.assign(env, {
      HOME: paths.home,
      HELM_CACHE_HOME: paths.cache,
      HELM_CONFIG_HOME: paths.config,
      HELM_DATA_HOME: paths.data,
      KUBECONFIG: kubeconfig,
      // API discovery is helm's first cost on every run; a warm Lambda keeps /tmp, so the discovery
      // cache (group/version lists, no credentials) outlives the session, one per API server.
      KUBECACHEDIR: join(
        base,
        'kubecfn-kube-cache',
        createHash('sha256').update(access.server).digest('hex').slice(0, 16),
      ),
      // Secrets, the default; named so a stray HELM_DRIVER in the environment cannot change where releases live.
      HELM_DRIVER: 'secret',
    });
    const cli = new HelmCli(env);
    const kube = kubeDir;
    return {
      cli,
      dir,
      async writeFile(name, data) {
        const path = join(dir, name);
        await writeFile(path, data, { mode: 0o600 });
        return path;
      },
      async close() {
        await Promise.all([rm(kube, { recursive: true, force: true }), rm(dir, { recursive: true, force: true })]);
      },
    };
  } catch (error) {
    await Promise.all([
      rm(dir, { recursive: true, force: true }),
      kubeDir ? rm(kubeDir, { recursive: true, force: true }) : undefined,
    ]);
    throw error;
  }
}

/**
 * Runs `fn` in a helm environment opened for `access`, and removes the environment afterwards,
 * whatever `fn` does.
 *
 * @example
 * const release = await withHelmSession(access, (session) => upgradeRelease(session.cli, options));
 */
export async function withHelmSession<T>(access: ClusterAccess, fn: (session: HelmSession) => Promise<T>): Promise<T> {
  const session = await openHelmSession(access);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
