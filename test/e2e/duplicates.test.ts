// Lambda delivers asynchronous events at least once: with every custom-resource event and every
// continuation delivered twice, the whole Quick Start still deploys, deletes, and leaves the
// cluster clean (the providers' request ledger answers each request once).
import { spawn } from 'node:child_process';
import { repoRoot } from '../../scripts/dev/paths.cjs';

test('npm start -- --once succeeds with every asynchronous Lambda event delivered twice', async () => {
  const run = await new Promise<{ code: number | null; output: string }>((ok, fail) => {
    const child = spawn(
      `${repoRoot}/node_modules/.bin/tsx`,
      [`${repoRoot}/scripts/start.ts`, '--once', '--skip-build'],
      {
        cwd: repoRoot,
        env: { ...process.env, FORCE_COLOR: '0', KUBECFN_LAMBDA_DUPLICATE_ASYNC: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.on('error', fail);
    child.on('close', (code) => ok({ code, output }));
  });

  if (run.code !== 0) console.log(run.output.slice(-6000));
  expect(run.output).toContain('every asynchronous event delivered twice');
  expect(run.code).toBe(0);
  expect(run.output).toMatch(/kubecfn: CREATE_COMPLETE/);
  expect(run.output).toMatch(/cluster clean: every object the stack created is gone/);
  expect(run.output).not.toMatch(/left behind:/);
}, 900_000);
