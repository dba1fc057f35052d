/**
 * Private http(s) chart repositories: basic-auth credentials from AWS Secrets Manager and a CA
 * bundle of the repository's own. helm gets them in a repository config file (repositories.yaml,
 * 0600, in the session's private HELM_CONFIG_HOME, removed when the session closes), never on a
 * command line or in a log line; `helm repo update` fetches the index with them, and the chart is
 * then `<repo>/<chart>`, whose download carries the same credentials (to that host only).
 *
 * TLS verification is never switched off: a repository whose certificate the system does not trust
 * gets its CA bundle instead.
 */
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { awsSources } from './aws-sources';
import { describeAwsError } from './chart-source';
import { ChartSourceError, HelmCommandError } from './errors';
import type { HelmSession } from './helm-session';

/** The name the private repository has in the session's repository config. */
export const PRIVATE_REPO_NAME = 'kubecfn-private';

/** How to reach a private repository. Holds a password: never log it. */
export interface RepositoryAuth {
  username?: string;
  password?: string;
  /** PEM certificates the repository's certificate is verified against (instead of the system's). */
  caBundle?: string;
}

/**
 * The PEM certificates of `text`, each checked; `undefined` when there is none or one does not parse.
 *
 * @example
 * pemCertificates(readFileSync('ca.pem', 'utf8')); // ['-----BEGIN CERTIFICATE-----\n…']
 */
export function pemCertificates(text: string): string[] | undefined {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!blocks?.length) return undefined;
  try {
    for (const block of blocks) new X509Certificate(block);
  } catch {
    return undefined;
  }
  return blocks;
}

const SECRET_FORM =
  'a JSON object {"username": "…", "password": "…"} (and optionally "caBundle": PEM certificates) as its SecretString';

/**
 * Reads and checks the credentials a secret holds. Its text never reaches a message.
 *
 * @example
 * const auth = await readRepositorySecret('arn:aws:secretsmanager:eu-west-1:111122223333:secret:charts-AbCdEf', ctx.signal);
 */
export async function readRepositorySecret(secretArn: string, signal?: AbortSignal): Promise<RepositoryAuth> {
  let text: string;
  try {
    text = await (await awsSources.secrets()).get(secretArn, signal);
  } catch (error) {
    throw new ChartSourceError(
      'RepositorySecretArn',
      `RepositorySecretArn: could not read the secret ${secretArn}: ${describeAwsError(error)}`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ChartSourceError('RepositorySecretArn', `RepositorySecretArn: expected ${SECRET_FORM}; it is not JSON`);
  }
  const o = parsed as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o))
    throw new ChartSourceError('RepositorySecretArn', `RepositorySecretArn: expected ${SECRET_FORM}`);
  const problems = [
    typeof o.username !== 'string' || o.username === '' ? '"username" (a non-empty string)' : '',
    typeof o.password !== 'string' || o.password === '' ? '"password" (a non-empty string)' : '',
    o.caBundle !== undefined && (typeof o.caBundle !== 'string' || !pemCertificates(o.caBundle))
      ? '"caBundle" (PEM certificates) or no "caBundle"'
      : '',
  ].filter(Boolean);
  if (problems.length)
    throw new ChartSourceError(
      'RepositorySecretArn',
      `RepositorySecretArn: expected ${SECRET_FORM}; missing or wrong: ${problems.join(', ')}`,
    );
  return {
    username: o.username as string,
    password: o.password as string,
    ...(typeof o.caBundle === 'string' ? { caBundle: o.caBundle } : {}),
  };
}

/** `text` with every occurrence of `secret` masked (helm never prints it; this makes sure). */
const mask = (text: string, secret?: string) => (secret ? text.split(secret).join('****') : text);

/**
 * Adds `repository` to the session's repository config with `auth`, fetches its index, and
 * returns the chart part of helm's command line (`kubecfn-private/<chart> [--version v]`).
 * Throws a {@link ChartSourceError} naming Repository with helm's words when the index cannot be
 * had (401, a TLS error, …).
 *
 * @example
 * const chartArgs = await preparePrivateRepository('https://charts.example.com', 'web', '1.2.0', auth, session, ctx.signal);
 */
export async function preparePrivateRepository(
  repository: string,
  chart: string,
  version: string | undefined,
  auth: RepositoryAuth,
  session: HelmSession,
  signal?: AbortSignal,
): Promise<string[]> {
  const caFile = auth.caBundle ? await session.writeFile('repository-ca.pem', auth.caBundle) : '';
  const configHome = session.cli.env.HELM_CONFIG_HOME ?? join(session.dir, 'config');
  // JSON is YAML: helm reads it back exactly, whatever characters the password has.
  const config = {
    apiVersion: '',
    generated: new Date().toISOString(),
    repositories: [
      {
        name: PRIVATE_REPO_NAME,
        url: repository,
        username: auth.username ?? '',
        password: auth.password ?? '',
        caFile,
        certFile: '',
        keyFile: '',
        insecure_skip_tls_verify: false,
        pass_credentials_all: false,
      },
    ],
  };
  await writeFile(join(configHome, 'repositories.yaml'), JSON.stringify(config), { mode: 0o600 });
  try {
    await session.cli.run(['repo', 'update', PRIVATE_REPO_NAME, '--fail-on-repo-update-fail'], {
      signal,
      stdoutInErrors: true,
    });
  } catch (error) {
    // helm's words less its banner: "...Unable to get an update from … (url):\n\tGet …: x509: …".
    const helm = (error instanceof HelmCommandError ? error.stderrTail || error.message : (error as Error).message)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^Hang tight/.test(l))
      .join(' ');
    const tls = /x509:|tls:|certificate/i.test(helm)
      ? auth.caBundle
        ? ' (the repository certificate does not verify against the CA bundle given)'
        : " (the repository's certificate is not trusted: give its CA in RepositoryCaBundle or in the secret's caBundle)"
      : '';
    throw new ChartSourceError(
      'Repository',
      `Repository: could not read the index of chart repository ${repository}${tls}: ${mask(helm, auth.password)}`,
      { cause: error },
    );
  }
  return [`${PRIVATE_REPO_NAME}/${chart}`, ...(version ? ['--version', version] : [])];
}
