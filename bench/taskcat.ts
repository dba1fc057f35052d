/**
 * taskcat's run time per test against the local cloud: `npm run test:taskcat -- TEST` (scripts/local/taskcat.ts)
 * for each test of .taskcat.yml, BENCH_RUNS times each (default 1: a test takes minutes), one test per
 * invocation. Prints per test the seconds `taskcat test run` took (create, events, delete, report), the
 * seconds the test's own local cloud and its prerequisites took to be ready, the wall time of the whole
 * invocation, and PASS/FAIL as taskcat.ts judges it (report, CREATE_COMPLETE, every stack DELETE_COMPLETE).
 * A failed test is printed with what taskcat.ts said about it (failed events, where the logs are kept),
 * and the bench then exits non-zero.
 *
 *   npm run bench -- taskcat                                   (every test of .taskcat.yml)
 *   BENCH_TASKCAT_TESTS=existing-vpc,graviton-partition npm run bench -- taskcat
 *   npx tsx bench/taskcat.ts existing-vpc                      (BENCH_RUNS=3 for three runs each)
 *
 * Each invocation stages into a directory of this bench (kept, printed): the reports are
 * <dir>/stage/taskcat_outputs/<test>/ and each invocation's whole output is <dir>/<test>-<run>.log (not in
 * the stage directory, which each staging empties but for taskcat_outputs/). Build first
 * (npm run build): the bench runs the packages functions/packages holds. KUBECFN_CHARTS_DIR is passed on
 * as set (taskcat.ts serves stand-ins for charts missing from its default folder).
 */
process.env.TZ = 'UTC';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { median, runs, table } from './lib';

const root = resolve(__dirname, '..');

/** One invocation's outcome, read from the summary taskcat.ts prints last. */
interface Outcome {
  pass: boolean;
  taskcatSeconds?: number;
  setupSeconds?: number;
  /** The root stack's create as its events date it (User Initiated CREATE_IN_PROGRESS to CREATE_COMPLETE). */
  createSeconds?: number;
  wallSeconds: number;
  exitCode: number;
  /** The summary's lines about this test (the verdict, failed events, logs kept), for a failure. */
  summary: string[];
  log: string;
}

/**
 * The summary line of one test, as scripts/local/taskcat.ts prints it:
 * `  PASS name (region) stack …; taskcat 123.4 s (local cloud and prerequisites 56.7 s)`.
 */
function parseSummary(output: string, test: string): Omit<Outcome, 'wallSeconds' | 'exitCode' | 'log'> {
  const lines = output.split('\n');
  const start = lines.lastIndexOf('== taskcat against the local cloud');
  if (start < 0) return { pass: false, summary: ['no summary: taskcat.ts stopped before its summary (see the log)'] };
  const tail = lines.slice(start + 1);
  const at = tail.findIndex((l) => new RegExp(`^\\s*(PASS|FAIL) ${test} \\(`).test(l));
  if (at < 0) return { pass: false, summary: [`no summary line for ${test}`] };
  const line = tail[at]!;
  // Its detail lines (indented further) follow it until the next test's line or the reports line.
  const details: string[] = [];
  for (const l of tail.slice(at + 1)) {
    if (!/^ {4}\S/.test(l)) break;
    details.push(l);
  }
  const m = /taskcat ([\d.]+) s \(local cloud and prerequisites ([\d.]+) s\)/.exec(line);
  return {
    pass: /^\s*PASS /.test(line),
    ...(m ? { taskcatSeconds: Number(m[1]), setupSeconds: Number(m[2]) } : {}),
    summary: [line.trim(), ...details.map((l) => l.trim())],
  };
}

/**
 * The root stack's create time from taskcat's events file (`<stack>-<region>-cfnlogs.txt`: the root
 * stack's block first, its events newest first, `2026-12-01 15:01:03.993009+00:00  CREATE_COMPLETE  …`).
 * taskcat itself sees a stack's status change only when its Stack object refreshes, every 60 s, so its
 * run time counts whole minutes of create and of delete; the events give the create's own duration.
 */
function createSeconds(outputs: string): number | undefined {
  const file = existsSync(outputs) ? readdirSync(outputs).find((f) => f.endsWith('-cfnlogs.txt')) : undefined;
  if (!file) return undefined;
  const block = readFileSync(join(outputs, file), 'utf8').split(/\n-{20,}\n\n/)[0] ?? '';
  const stack = /^StackName: (\S+)/m.exec(block)?.[1];
  if (!stack) return undefined;
  const at = (status: string) => {
    const m = new RegExp(
      `^(\\d{4}-\\d\\d-\\d\\d) (\\d\\d:\\d\\d:\\d\\d)(\\.\\d{1,3})?\\d*(\\+00:00)?\\s+${status}\\s+AWS::CloudFormation::Stack\\s+${stack}\\b`,
      'm',
    ).exec(block);
    return m ? Date.parse(`${m[1]}T${m[2]}${m[3] ?? ''}Z`) : undefined;
  };
  const start = at('CREATE_IN_PROGRESS');
  const end = at('CREATE_COMPLETE');
  return start !== undefined && end !== undefined ? (end - start) / 1000 : undefined;
}

/** Runs `npm run test:taskcat -- TEST --dir DIR`, its output to `log`; resolves with its exit code. */
function runTest(test: string, dir: string, log: string): Promise<{ exitCode: number; output: string }> {
  return new Promise((ok, fail) => {
    const out = createWriteStream(log);
    let output = '';
    const child = spawn('npm', ['run', 'test:taskcat', '--', test, '--dir', dir], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => {
        out.write(chunk);
        output += chunk.toString('utf8');
      });
    child.on('error', fail);
    child.on('close', (code, signal) => out.end(() => ok({ exitCode: code ?? (signal ? 128 : 1), output })));
  });
}

function testNames(): string[] {
  const fromArgs = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const fromEnv = (process.env.BENCH_TASKCAT_TESTS ?? '').split(/[\s,]+/).filter(Boolean);
  if (fromArgs.length) return fromArgs;
  if (fromEnv.length) return fromEnv;
  const config = parse(readFileSync(join(root, '.taskcat.yml'), 'utf8')) as { tests: Record<string, unknown> };
  return Object.keys(config.tests);
}

async function main() {
  const n = runs(1);
  const tests = testNames();
  if (!existsSync(join(root, 'functions', 'packages', 'HelmLayer', 'layer.zip'))) {
    console.log('functions/packages has no build: run `npm run build` first');
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubecfn-bench-taskcat-'));
  console.log(
    `taskcat against the local cloud: ${tests.length} test(s) × ${n} run(s), one \`npm run test:taskcat -- TEST\` each; ` +
      `staged in ${dir} (kept: logs <test>-<run>.log, reports stage/taskcat_outputs/<test>/)`,
  );
  console.log(
    `machine: ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )} at start; charts: ${process.env.KUBECFN_CHARTS_DIR ?? "taskcat.ts's default (stand-ins for missing)"}`,
  );
  const outcomes: Record<string, Outcome[]> = {};
  for (let run = 1; run <= n; run++)
    for (const test of tests) {
      const log = join(dir, `${test}-${run}.log`);
      const t0 = Date.now();
      const { exitCode, output } = await runTest(test, join(dir, 'stage'), log);
      const created = createSeconds(join(dir, 'stage', 'taskcat_outputs', test));
      const outcome: Outcome = {
        ...parseSummary(output, test),
        ...(created === undefined ? {} : { createSeconds: created }),
        wallSeconds: (Date.now() - t0) / 1000,
        exitCode,
        log,
      };
      // taskcat.ts exits non-zero when a test fails: a PASS line with a failing exit is not a pass.
      outcome.pass &&= exitCode === 0;
      // A test stopped before taskcat ran (its local cloud, a prerequisite) has no taskcat time.
      if (outcome.summary.some((l) => l.startsWith('not run:'))) delete outcome.taskcatSeconds;
      (outcomes[test] ??= []).push(outcome);
      const secs = (s?: number) => (s === undefined ? '-' : `${s.toFixed(1)} s`);
      console.log(
        `  run ${run} ${test}: ${outcome.pass ? 'PASS' : 'FAIL'}, taskcat ${secs(outcome.taskcatSeconds)}, ` +
          `stack create (events) ${secs(outcome.createSeconds)}, local cloud + prerequisites ${secs(outcome.setupSeconds)}, wall ${secs(outcome.wallSeconds)}` +
          (outcome.pass ? '' : ` (exit ${exitCode}; log ${log})`),
      );
      if (!outcome.pass) for (const l of outcome.summary) console.log(`      ${l}`);
    }

  const stat = (xs: Array<number | undefined>, f: (v: number[]) => number) => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length ? f(v).toFixed(1) : '-';
  };
  const min = (v: number[]) => Math.min(...v);
  const max = (v: number[]) => Math.max(...v);
  console.log('');
  console.log(
    table(
      tests.map((test) => {
        const o = outcomes[test]!;
        const tc = o.map((x) => x.taskcatSeconds);
        const passed = o.filter((x) => x.pass).length;
        return {
          test,
          result: passed === o.length ? 'PASS' : `FAIL (${o.length - passed}/${o.length})`,
          'taskcat median s': stat(tc, median),
          'min s': stat(tc, min),
          'max s': stat(tc, max),
          'create (events) s': stat(
            o.map((x) => x.createSeconds),
            median,
          ),
          'local cloud + prereq. s': stat(
            o.map((x) => x.setupSeconds),
            median,
          ),
          'wall s': stat(
            o.map((x) => x.wallSeconds),
            median,
          ),
        };
      }),
    ),
  );
  const failed = tests.filter((t) => outcomes[t]!.some((o) => !o.pass));
  if (failed.length) console.log(`\nfailed: ${failed.join(', ')} (logs and reports in ${dir})`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
