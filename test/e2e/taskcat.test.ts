// `npm run test:taskcat -- new-vpc-defaults existing-vpc existing-cluster`: taskcat's own `test run` of the project's
// .taskcat.yml against the local cloud, each test in a local cloud of its own. What is checked is what
// taskcat itself reports in taskcat_outputs/: index.html's row for the test, and the events file it
// links (the root stack's CREATE_COMPLETE and DELETE_COMPLETE, no *_FAILED event in any stack of the
// tree). taskcat writes that report once the stacks are created, before it deletes them; the delete
// shows in its exit status (it fails on DELETE_FAILED) and in the stacks the local cloud lists after it
// (local-cloud-after-delete.txt, written by the script beside the report): every stack of the test's
// tree DELETE_COMPLETE, none left. Each test's taskcat run time is printed (a bench figure, never asserted).
//
// The packages were built by jest's global setup; the script stages them from functions/packages.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');
const tests = ['new-vpc-defaults', 'existing-vpc', 'existing-cluster'];
const regions: Record<string, string> = {
  'new-vpc-defaults': 'us-east-1',
  'existing-vpc': 'us-west-2',
  'existing-cluster': 'us-east-2',
};
/** What the script made before taskcat ran, as a user makes it once in an account: it must outlive the test. */
const prerequisites: Record<string, string[]> = {
  'new-vpc-defaults': [],
  'existing-vpc': ['kubecfn-taskcat-existing-vpc'],
  'existing-cluster': ['kubecfn-taskcat-existing-vpc', 'kubecfn-taskcat-existing-cluster'],
};

interface Run {
  code: number | null;
  output: string;
}

function runTaskcat(args: string[]): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(
      resolve(repoRoot, 'node_modules', '.bin', 'tsx'),
      [resolve(repoRoot, 'scripts', 'local', 'taskcat.ts'), ...args],
      { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.on('error', fail);
    child.on('close', (code) => ok({ code, output }));
  });
}

/** The test's row in taskcat's index.html: region, stack name, status. */
function reportRow(outputs: string, test: string): { region: string; stack: string; status: string } | undefined {
  const html = readFileSync(join(outputs, 'index.html'), 'utf8');
  const m = new RegExp(
    `<h3>\\s*${test}\\s*</h3>[\\s\\S]*?<td class="?text-left"?>\\s*([\\w-]+)\\s*</td>\\s*<td class="?text-left"?>\\s*([\\w-]+)\\s*</td>\\s*<td class="?test-\\w+"?>\\s*([A-Z_]+)`,
  ).exec(html);
  return m ? { region: m[1]!, stack: m[2]!, status: m[3]! } : undefined;
}

describe('npm run test:taskcat (taskcat test run against the local cloud)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubecfn-taskcat-e2e-'));
  let run: Run;

  beforeAll(async () => {
    run = await runTaskcat([...tests, '--dir', dir]);
    const summary = run.output.slice(run.output.lastIndexOf('== taskcat against the local cloud'));
    console.log(summary);
  }, 1_500_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('exits 0', () => {
    if (run.code !== 0) console.log(run.output.slice(-8000));
    expect(run.code).toBe(0);
  });

  test('stages .taskcat.yml unchanged', () => {
    expect(readFileSync(join(dir, '.taskcat.yml'), 'utf8')).toBe(readFileSync(join(repoRoot, '.taskcat.yml'), 'utf8'));
  });

  test.each(tests)('%s: taskcat reports CREATE_COMPLETE for the whole tree, then deletes it cleanly', (test) => {
    const outputs = join(dir, 'taskcat_outputs', test);
    expect(existsSync(join(outputs, 'index.html'))).toBe(true);
    const row = reportRow(outputs, test);
    expect(row).toMatchObject({ region: regions[test] });
    const logsFile = join(outputs, `${row!.stack}-${row!.region}-cfnlogs.txt`);
    expect(readdirSync(outputs)).toContain(`${row!.stack}-${row!.region}-cfnlogs.txt`);
    const logs = readFileSync(logsFile, 'utf8');
    // The root stack's block comes first: its events, newest first.
    const root = logs.split(/\n-{20,}\n\n/)[0]!;
    expect(row!.status).toBe('CREATE_COMPLETE');
    expect(root).toMatch(new RegExp(`\\sCREATE_COMPLETE\\s+AWS::CloudFormation::Stack\\s+${row!.stack}\\b`));
    // Nested stacks were created too (the events file has a block per stack of the tree).
    const stacks = [...new Set([...logs.matchAll(/^StackName: (\S+)/gm)].map((m) => m[1]!))];
    expect(stacks.length).toBeGreaterThan(3);
    expect(logs).not.toMatch(/\s[A-Z_]+_FAILED\s/);

    const after = readFileSync(join(outputs, 'local-cloud-after-delete.txt'), 'utf8');
    expect(after).toMatch(/^taskcat exit status: 0$/m);
    for (const stack of stacks) expect(after).toMatch(new RegExp(`^${stack} DELETE_COMPLETE$`, 'm'));
    expect(after).not.toMatch(/^left:/m);
    // The user's VPC (and cluster) are still there after the test's delete.
    for (const stack of prerequisites[test]!)
      expect(after).toMatch(new RegExp(`^prerequisite: ${stack} CREATE_COMPLETE$`, 'm'));
  });

  test('prints each test as passed with its taskcat run time', () => {
    for (const test of tests) {
      expect(run.output).toMatch(
        new RegExp(
          `PASS ${test} \\(${regions[test]}\\) stack \\S+: .*create CREATE_COMPLETE, delete DELETE_COMPLETE \\(\\d+ stacks\\); taskcat \\d+\\.\\d s`,
        ),
      );
    }
    expect(run.output).not.toMatch(/left behind:/);
  });
});
