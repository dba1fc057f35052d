/**
 * Release operations on top of the helm CLI: history, install-or-upgrade, recovery of a release
 * stuck in a pending state, and uninstall. Everything a custom resource needs, nothing that
 * knows about CloudFormation.
 */
import { HelmCommandError } from './errors';
import type { HelmCli } from './helm-cli';

/** What `helm upgrade -o json` and `helm status -o json` print (the fields kubecfn reads). */
export interface HelmRelease {
  name: string;
  namespace: string;
  /** The revision number. */
  version: number;
  info: { status: string; description?: string; notes?: string };
  chart?: { metadata?: { name?: string; version?: string; appVersion?: string } };
  /** The rendered manifests (hooks excluded), `---` separated. */
  manifest?: string;
}

/** One line of `helm history -o json`. */
export interface HistoryEntry {
  revision: number;
  status: string;
  chart: string;
  app_version?: string;
  description?: string;
  updated?: string;
}

/** Helm's release statuses that mean an operation started and never finished. */
export const PENDING_STATUSES = ['pending-install', 'pending-upgrade', 'pending-rollback'] as const;

export const isPending = (status: string | undefined) => (PENDING_STATUSES as readonly string[]).includes(status ?? '');

/** helm says this when the release (or its whole namespace) does not exist. */
export const isReleaseNotFound = (error: unknown) =>
  error instanceof HelmCommandError && /release: not found|release not found/i.test(error.stderr);

/** helm's answer for a release whose last operation is still marked as running. */
export const isOperationInProgress = (error: unknown) =>
  error instanceof HelmCommandError &&
  /another operation \(install\/upgrade\/rollback\) is in progress/i.test(error.stderr);

/** helm's answers when `--wait` (or a hook) ran out of time. */
export const isTimeout = (error: unknown) =>
  error instanceof HelmCommandError &&
  /context deadline exceeded|timed out waiting for the condition|timed out waiting/i.test(error.stderr);

/** `--timeout` in the form helm parses; whole seconds, at least one. */
export const helmDuration = (ms: number) => `${Math.max(1, Math.floor(ms / 1000))}s`;

export interface ReleaseRef {
  name: string;
  namespace: string;
}

/**
 * The release's history, oldest first (at most the last 20 revisions), or `undefined` when it
 * does not exist.
 *
 * @example
 * const history = await releaseHistory(cli, { name: 'web', namespace: 'apps' }, ctx.signal);
 * const latest = history?.at(-1)?.status; // 'deployed'
 */
export async function releaseHistory(
  cli: HelmCli,
  ref: ReleaseRef,
  signal?: AbortSignal,
): Promise<HistoryEntry[] | undefined> {
  try {
    const entries = await cli.json<HistoryEntry[]>(
      ['history', ref.name, '--namespace', ref.namespace, '--max', '20', '-o', 'json'],
      { signal },
    );
    return [...entries].sort((a, b) => a.revision - b.revision);
  } catch (error) {
    if (isReleaseNotFound(error)) return undefined;
    throw error;
  }
}

/** The release as `helm status` reports it, or `undefined` when it does not exist. */
export async function releaseStatus(
  cli: HelmCli,
  ref: ReleaseRef,
  signal?: AbortSignal,
): Promise<HelmRelease | undefined> {
  try {
    return await cli.json<HelmRelease>(['status', ref.name, '--namespace', ref.namespace, '-o', 'json'], { signal });
  } catch (error) {
    if (isReleaseNotFound(error)) return undefined;
    throw error;
  }
}

/** What {@link recoverRelease} did. */
export type Recovery = 'none' | 'rolled-back' | 'uninstalled';

/**
 * Makes a release usable again before an upgrade:
 * - stuck in `pending-*` (a helm process was killed mid-operation, e.g. by an earlier tool's
 *   Lambda timeout): rolled back to the last `deployed` revision, or uninstalled when it never had one;
 * - never successfully deployed (only `failed` revisions): uninstalled, so the next install starts clean.
 *
 * @example
 * const recovery = await recoverRelease(cli, ref, history, { timeoutMs: 60_000, signal });
 */
export async function recoverRelease(
  cli: HelmCli,
  ref: ReleaseRef,
  history: readonly HistoryEntry[] | undefined,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Recovery> {
  const latest = history?.at(-1);
  if (!history || !latest) return 'none';
  const lastDeployed = [...history].reverse().find((h) => h.status === 'deployed' || h.status === 'superseded');
  if (isPending(latest.status)) {
    if (lastDeployed) {
      await cli.run(
        [
          'rollback',
          ref.name,
          String(lastDeployed.revision),
          '--namespace',
          ref.namespace,
          '--timeout',
          helmDuration(options.timeoutMs),
        ],
        {
          signal: options.signal,
        },
      );
      return 'rolled-back';
    }
    await uninstallRelease(cli, ref, { timeoutMs: options.timeoutMs, wait: true, signal: options.signal });
    return 'uninstalled';
  }
  if (!lastDeployed && history.every((h) => h.status === 'failed' || h.status === 'uninstalled')) {
    await uninstallRelease(cli, ref, { timeoutMs: options.timeoutMs, wait: true, signal: options.signal });
    return 'uninstalled';
  }
  return 'none';
}

export interface UpgradeOptions extends ReleaseRef {
  /** Chart reference and source flags (e.g. `['web', '--repo', url, '--version', '1.2.3']`). */
  chartArgs: readonly string[];
  /** Values files, applied in order (later wins). */
  valuesFiles: readonly string[];
  createNamespace: boolean;
  wait: boolean;
  skipCrds: boolean;
  /** helm's own `--timeout`: for `--wait` and for hooks. */
  timeoutMs: number;
  /** Release labels (helm `--labels`, merged with the release's own), e.g. who owns the release. */
  labels?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

/**
 * `helm upgrade --install` with the full values (no reuse of earlier values: what the template
 * says is what is deployed). No `--atomic` (deprecated in helm 4): the caller decides what a failure
 * undoes.
 *
 * @example
 * const release = await upgradeRelease(cli, { name: 'web', namespace: 'apps', chartArgs: ['./web'], valuesFiles: [], createNamespace: true, wait: true, skipCrds: false, timeoutMs: 300_000 });
 */
export async function upgradeRelease(cli: HelmCli, o: UpgradeOptions): Promise<HelmRelease> {
  const args = [
    'upgrade',
    '--install',
    o.name,
    ...o.chartArgs,
    '--namespace',
    o.namespace,
    '--reset-values',
    '--timeout',
    helmDuration(o.timeoutMs),
    '-o',
    'json',
  ];
  if (o.createNamespace) args.push('--create-namespace');
  if (o.wait) args.push('--wait');
  if (o.skipCrds) args.push('--skip-crds');
  const labels = Object.entries(o.labels ?? {});
  if (labels.length) args.push('--labels', labels.map(([k, v]) => `${k}=${v}`).join(','));
  for (const file of o.valuesFiles) args.push('--values', file);
  return cli.json<HelmRelease>(args, { signal: o.signal });
}

/**
 * `helm uninstall`, waiting (by default) until the release's objects are gone. Answers
 * `not-found` when there was nothing to uninstall — the release or its namespace is already gone.
 */
export async function uninstallRelease(
  cli: HelmCli,
  ref: ReleaseRef,
  options: { timeoutMs: number; wait?: boolean; signal?: AbortSignal },
): Promise<'uninstalled' | 'not-found'> {
  const args = ['uninstall', ref.name, '--namespace', ref.namespace, '--timeout', helmDuration(options.timeoutMs)];
  if (options.wait ?? true) args.push('--wait');
  try {
    await cli.run(args, { signal: options.signal });
    return 'uninstalled';
  } catch (error) {
    if (isReleaseNotFound(error)) return 'not-found';
    throw error;
  }
}
