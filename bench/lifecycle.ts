/**
 * The whole lifecycle's wall time, warm, by phase: runs the lifecycle e2e test
 * (test/e2e/lifecycle.test.ts: the local cloud, the upload, the stacks created, updated, rolled back
 * and deleted on the real charts) BENCH_RUNS times (default 3), each in a jest process of its own,
 * and prints per phase the median, min and max seconds over the runs, the total wall time of each run
 * (the jest process: its global setup, the suite, the local cloud's stop) and their median, and how
 * many of the suite's tests passed in each run. The phases are the test's own (it writes them to
 * $KUBECFN_LIFECYCLE_TIMINGS in its afterAll). A run where a test failed is printed and marked, with
 * its jest output kept, and the bench then exits non-zero.
 *
 * Warm: the Kubernetes binaries (built from source on a machine's first run, about 10 minutes on two
 * cores), the Python environments and the packages are already there. A run that found no Kubernetes
 * build in the cache is marked cold.
 *
 * Needs the real charts: $KUBECFN_CHARTS_DIR, else ../shared/charts beside the repository when that
 * folder exists; without them the bench says so and exits 0 (the test skips as well).
 * KUBECFN_CHAOS=1 reaches the test (its faults injected into the local cloud) and the counts of the
 * faults injected are printed per run.
 *
 *   npm run bench -- lifecycle                 (BENCH_RUNS=1 for one run)
 *   KUBECFN_CHAOS=1 npm run bench -- lifecycle
 */
process.env.TZ = 'UTC';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kubernetesVersion, kwokVersion } from '../scripts/local';
import { cacheRoot } from '../scripts/dev/paths.cjs';
import { median, runs, table } from './lib';

const root = resolve(__dirname, '..');

/** What the test writes to $KUBECFN_LIFECYCLE_TIMINGS. */
interface Timings {
  timings: Array<[string, number]>;
  started: number;
  passed: number;
  injected: Record<string, number>;
}

interface Run {
  wallSeconds: number;
  exitCode: number;
  cold: boolean;
  log: string;
  result?: Timings;
  /** jest's own count (its `Tests:` line): every test of the suite, the ones the test's counter leaves out too. */
  tests?: { passed: number; total: number };
}

/** jest's summary line, `Tests:       1 failed, 10 passed, 11 total`. */
function jestCounts(log: string): Run['tests'] {
  const line = /^Tests:\s+(.*)$/m.exec(readFileSync(log, 'utf8'))?.[1];
  if (!line) return undefined;
  const count = (what: string) => Number(new RegExp(`(\\d+) ${what}`).exec(line)?.[1] ?? 0);
  return { passed: count('passed'), total: count('total') };
}

/** The Kubernetes binaries this checkout runs are already built (else the run builds them: cold). */
function kubernetesBuilt(): boolean {
  return (
    existsSync(join(cacheRoot(), 'k8s', kubernetesVersion(), 'build.json')) &&
    existsSync(join(cacheRoot(), 'kwok', kwokVersion, 'bin', 'kwok'))
  );
}

function jest(env: Record<string, string>, log: string): Promise<number> {
  return new Promise((ok, fail) => {
    const out = createWriteStream(log);
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), 'test/e2e/lifecycle.test.ts'],
      { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', fail);
    child.on('close', (code, signal) => out.end(() => ok(code ?? (signal ? 128 : 1))));
  });
}

async function main(): Promise<number> {
  const chartsDir = process.env.KUBECFN_CHARTS_DIR
    ? resolve(root, process.env.KUBECFN_CHARTS_DIR)
    : resolve(root, '..', 'shared', 'charts');
  if (!existsSync(join(chartsDir, 'aws-load-balancer-controller-3.5.0.tgz'))) {
    console.log(
      `no real charts in ${chartsDir} (KUBECFN_CHARTS_DIR, else ../shared/charts beside the repository): ` +
        'the lifecycle test skips without them, so there is nothing to time (npm run charts:pull fetches them into ' +
        '~/.cache/kubecfn/charts; then KUBECFN_CHARTS_DIR=~/.cache/kubecfn/charts)',
    );
    return 0;
  }
  const n = runs(3);
  const chaos = process.env.KUBECFN_CHAOS === '1';
  const dir = mkdtempSync(join(tmpdir(), 'kubecfn-bench-lifecycle-'));
  console.log(
    `lifecycle e2e test × ${n} run(s), warm (Kubernetes built, environments and packages in place; a run that ` +
      `builds Kubernetes is marked cold)${chaos ? ', under faults (KUBECFN_CHAOS=1)' : ''}; charts ${chartsDir}; ` +
      `jest output in ${dir}`,
  );
  console.log(
    `machine: ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start`,
  );
  const all: Run[] = [];
  for (let i = 1; i <= n; i++) {
    const file = join(dir, `timings-${i}.json`);
    const log = join(dir, `jest-${i}.log`);
    const cold = !kubernetesBuilt();
    const t0 = Date.now();
    const exitCode = await jest({ KUBECFN_LIFECYCLE_TIMINGS: file, KUBECFN_CHARTS_DIR: chartsDir }, log);
    const run: Run = { wallSeconds: (Date.now() - t0) / 1000, exitCode, cold, log };
    if (existsSync(file)) run.result = JSON.parse(readFileSync(file, 'utf8')) as Timings;
    const tests = jestCounts(log);
    if (tests) run.tests = tests;
    all.push(run);
    const r = run.result;
    const ok = !failed(run);
    console.log(
      `  run ${i}${cold ? ' (cold: built Kubernetes)' : ''}: wall ${run.wallSeconds.toFixed(1)} s, ` +
        `tests passed ${passedOf(run)}` +
        (r ? '' : ', no timings written (the suite did not reach its afterAll)') +
        `, jest exit ${exitCode}${ok ? '' : `  ** FAILED: see ${log}`}`,
    );
    if (r && (chaos || Object.keys(r.injected).length))
      console.log(
        `    faults injected: ${
          Object.entries(r.injected)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'none'
        }`,
      );
  }

  // Phases in the order the first run that wrote them has them; a phase missing from a run is left out there.
  const phases = [...new Set(all.flatMap((r) => (r.result?.timings ?? []).map(([p]) => p)))];
  const secondsOf = (phase: string) =>
    all.flatMap((r) => (r.result?.timings ?? []).filter(([p]) => p === phase).map(([, s]) => s));
  const round = (s: number) => s.toFixed(1);
  /** One row of the table: median, min and max of a phase's seconds over the runs. */
  const row = (phase: string, s: number[]) => ({
    phase,
    runs: s.length,
    'median s': round(median(s)),
    'min s': round(Math.min(...s)),
    'max s': round(Math.max(...s)),
  });
  const rows = phases.map((phase) => row(phase, secondsOf(phase)));
  const sums = all.filter((r) => r.result).map((r) => r.result!.timings.reduce((t, [, s]) => t + s, 0));
  if (sums.length) rows.push(row('sum of the phases', sums));
  const walls = all.map((r) => r.wallSeconds);
  rows.push(row('wall (jest process)', walls));
  console.log('');
  console.log(table(rows));
  console.log(
    `\nwall time per run: ${all.map((r, i) => `${r.wallSeconds.toFixed(1)} s${r.cold ? ' (cold)' : ''}${failed(all[i]!) ? ' (FAILED)' : ''}`).join(', ')}; ` +
      `median ${median(walls).toFixed(1)} s; tests passed per run: ${all.map(passedOf).join(', ')}`,
  );
  const bad = all.filter(failed).length;
  if (bad) console.log(`${bad} of ${all.length} run(s) FAILED (jest output kept in ${dir})`);
  return bad ? 1 : 0;
}

/** A test failed, or the suite did not run them all (its beforeAll failed, the process died). */
const failed = (r: Run) =>
  r.exitCode !== 0 || !r.result || !r.tests || r.tests.total === 0 || r.tests.passed !== r.tests.total;
const passedOf = (r: Run) => (r.tests ? `${r.tests.passed}/${r.tests.total}` : '-');

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
