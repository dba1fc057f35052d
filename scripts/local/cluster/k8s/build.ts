// Builds the local control plane's Kubernetes binaries from Go modules and caches them by version.
//
// kube-apiserver, kube-controller-manager and kube-scheduler come from the wrapper module beside
// this file (go.mod pins k8s.io/kubernetes and replaces each staging module by its published
// v0.<minor>.<patch>); kwok comes from `go install sigs.k8s.io/kwok/cmd/kwok@<pin>`. Everything
// lands in the user cache, so only the first run on a machine pays for the compile:
//
//   <cache>/k8s/<version>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler}
//   <cache>/k8s/<version>/build.json      written last: the build is complete
//   <cache>/kwok/<version>/bin/kwok
//
// Go's own module and build caches (GOMODCACHE, GOCACHE) keep their defaults, so a rebuild after
// a version bump reuses every unchanged package.
import { spawn, execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from '../../../dev/paths.cjs';

/** The kwok release the fake nodes run (its node and pod emulation does not depend on the API server's minor). */
export const kwokVersion = 'v0.7.0';

const moduleDir = __dirname;
const commands = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/** Paths of every binary the local control plane runs, and the Kubernetes version they report. */
export interface KubernetesBinaries {
  /** Kubernetes version, e.g. `v1.35.4` (from the wrapper go.mod). */
  version: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  /** Debian's etcd-server (`/usr/bin/etcd`), or `$KUBECFN_ETCD`. */
  etcd: string;
}

/** The k8s.io/kubernetes version the wrapper go.mod requires: the cache key and the version the binaries report. */
export function kubernetesVersion(): string {
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  // `go mod tidy` keeps it inside the require block (marked indirect: only `tool` lines use it).
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+)\b/m.exec(goMod);
  if (!match) throw new Error(`${join(moduleDir, 'go.mod')}: expected a requirement "k8s.io/kubernetes vX.Y.Z"`);
  return match[1]!;
}

type Log = (message: string) => void;
const stderrLog: Log = (message) => process.stderr.write(`[k8s] ${message}\n`);

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; log: Log }): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (err) =>
      fail(
        new Error(
          `${cmd}: ${err.message}${cmd === 'go' ? ' (Go 1.24 or newer must be on PATH to build Kubernetes)' : ''}`,
        ),
      ),
    );
    child.on('exit', (code, signal) =>
      code === 0 ? ok() : fail(new Error(`${cmd} ${args.slice(0, 2).join(' ')} … exited with ${signal ?? code}`)),
    );
  });
}

/**
 * Holds an exclusive lock file while `fn` runs, so two jest workers (or a test and the CLI) never
 * build into the same place at once. A lock left by a dead process is taken over.
 */
async function withLock<T>(lockPath: string, log: Log, fn: () => Promise<T>): Promise<T> {
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lockPath, 'utf8').trim());
      if (!isAlive(holder)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (!announced) log(`waiting for process ${holder}, which holds ${lockPath}`);
      announced = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The -ldflags that make the binaries report their real version through /version and --version,
 * as Kubernetes' own hack/lib/version.sh sets them (both version packages, every field).
 */
function versionLdflags(version: string): string {
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${version}`], {
      cwd: moduleDir,
      encoding: 'utf8',
    }),
  ) as { Time?: string; Origin?: { Hash?: string } };
  const [major, minor] = version.slice(1).split('.');
  const fields: Record<string, string> = {
    gitVersion: version,
    gitMajor: major!,
    gitMinor: minor!,
    gitCommit: info.Origin?.Hash ?? '',
    gitTreeState: 'clean',
    buildDate: (info.Time ?? '1970-01-01T00:00:00Z').replace(/\.\d+Z$/, 'Z'),
  };
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [key, value] of Object.entries(fields)) flags.push(`-X ${pkg}.${key}=${value}`);
  }
  return flags.join(' ');
}

/**
 * The Go release the wrapper go.mod needs (its `go` line), checked before a build so that a
 * missing or old Go ends in a sentence that says what to install rather than a compiler error.
 */
export function checkGo(): void {
  const want = /^go (\d+)\.(\d+)/m.exec(readFileSync(join(moduleDir, 'go.mod'), 'utf8'));
  if (!want) throw new Error(`${join(moduleDir, 'go.mod')}: expected a "go 1.N" line`);
  const need = `${want[1]}.${want[2]}`;
  let have: string;
  try {
    have = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new Error(
      `Go ${need} or newer is needed to build the local Kubernetes control plane, and 'go' is not on PATH: install it (https://go.dev/dl/, or Debian's golang-${need}-go) and make sure the Go module proxy is reachable`,
    );
  }
  const got = /^go(\d+)\.(\d+)/.exec(have);
  if (!got || Number(got[1]) < Number(want[1]) || (got[1] === want[1] && Number(got[2]) < Number(want[2]))) {
    throw new Error(
      `Go ${need} or newer is needed to build the local Kubernetes control plane; this machine has ${have}: install a newer Go (https://go.dev/dl/)`,
    );
  }
}

async function buildKubernetes(version: string, dir: string, log: Log): Promise<void> {
  const stamp = join(dir, 'build.json');
  if (existsSync(stamp)) return;
  checkGo();
  mkdirSync(dir, { recursive: true });
  await withLock(join(dir, '.lock'), log, async () => {
    if (existsSync(stamp)) return; // another process finished it while we waited
    const started = Date.now();
    log(
      `building ${commands.join(', ')} ${version} from Go modules (first run only: ~16 CPU-minutes, ~10 min on 2 idle cores)`,
    );
    const staging = join(dir, `bin.${process.pid}.tmp`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      await run(
        'go',
        [
          'build',
          '-trimpath',
          '-ldflags',
          versionLdflags(version),
          '-o',
          `${staging}/`,
          ...commands.map((c) => `k8s.io/kubernetes/cmd/${c}`),
        ],
        { cwd: moduleDir, log },
      );
      mkdirSync(join(dir, 'bin'), { recursive: true });
      for (const c of commands) renameSync(join(staging, c), join(dir, 'bin', c));
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    const goVersion = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
    writeFileSync(
      stamp,
      `${JSON.stringify({ version, goVersion, seconds, builtAt: new Date().toISOString() }, null, 2)}\n`,
    );
    log(`built Kubernetes ${version} in ${seconds} s`);
  });
}

async function installKwok(dir: string, log: Log): Promise<void> {
  const bin = join(dir, 'bin', 'kwok');
  if (existsSync(bin)) return;
  mkdirSync(dir, { recursive: true });
  await withLock(join(dir, '.lock'), log, async () => {
    if (existsSync(bin)) return;
    const started = Date.now();
    log(`installing kwok ${kwokVersion} from Go modules`);
    // GOBIN receives the binary under its final name only once the link succeeded.
    await run('go', ['install', '-trimpath', '-ldflags', '-s -w', `sigs.k8s.io/kwok/cmd/kwok@${kwokVersion}`], {
      cwd: dir, // outside any module: `go install pkg@version` uses kwok's own go.mod
      env: { ...process.env, GOBIN: join(dir, 'bin') },
      log,
    });
    log(`installed kwok ${kwokVersion} in ${Math.round((Date.now() - started) / 1000)} s`);
  });
}

function findEtcd(): string {
  const candidates = [process.env.KUBECFN_ETCD, '/usr/bin/etcd', '/usr/local/bin/etcd'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `etcd not found (looked at ${candidates.join(', ')}): run \`node scripts/dev/bootstrap.mjs\`, which installs Debian's etcd-server, or set KUBECFN_ETCD`,
    );
  }
  return found;
}

/**
 * Returns the control plane's binaries, building them first when the cache lacks them.
 * Warm, this is a few stat calls; cold, it compiles Kubernetes (tens of minutes on 2 cores).
 *
 * @example
 * const bins = await ensureKubernetesBinaries();
 * execFileSync(bins.kubeApiserver, ['--version']); // Kubernetes v1.35.4
 */
export async function ensureKubernetesBinaries(opts: { log?: Log } = {}): Promise<KubernetesBinaries> {
  const log = opts.log ?? stderrLog;
  const version = kubernetesVersion();
  const etcd = findEtcd();
  const k8sDir = join(cacheRoot(), 'k8s', version);
  const kwokDir = join(cacheRoot(), 'kwok', kwokVersion);
  // One after the other: both compile, and on 2 cores running them together only thrashes.
  await buildKubernetes(version, k8sDir, log);
  await installKwok(kwokDir, log);
  return {
    version,
    kubeApiserver: join(k8sDir, 'bin', 'kube-apiserver'),
    kubeControllerManager: join(k8sDir, 'bin', 'kube-controller-manager'),
    kubeScheduler: join(k8sDir, 'bin', 'kube-scheduler'),
    kwok: join(kwokDir, 'bin', 'kwok'),
    etcd,
  };
}
