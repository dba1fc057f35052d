#!/usr/bin/env node
// `npm test`: type check, lint, template checks (cfn-lint, taskcat lint), then jest over every suite
// (unit, fault injection on the bundled handlers, integration against the real local control plane).
// Ends with one plain summary line, `tests: N passed, N failed, N skipped`, that CI reads.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.cjs';

const root = repoRoot;
const step = (name, cmd, args) => {
  const started = Date.now();
  process.stderr.write(`\n=== ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  process.stderr.write(
    `=== ${name}: ${r.status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  return r.status === 0;
};

let ok = step('build', 'npm', ['run', '--silent', 'build']);
ok = step('typecheck', 'npm', ['run', '--silent', 'typecheck']) && ok;
ok = step('lint', 'npm', ['run', '--silent', 'lint']) && ok;
ok = step('format', 'npm', ['run', '--silent', 'format:check']) && ok;
ok = step('templates', 'npm', ['run', '--silent', 'lint:templates']) && ok;
ok = step('cfn-engine', 'npm', ['run', '--silent', 'test:cfn-engine']) && ok;
mkdirSync(join(root, '.tmp'), { recursive: true });
const report = join(root, '.tmp', 'jest-results.json');
// The packages were built a moment ago: jest's global setup need not build them again.
process.env.KUBECFN_SKIP_BUILD = '1';
const jestOk = step('jest', 'npx', ['jest', '--json', `--outputFile=${report}`, ...process.argv.slice(2)]);
ok = jestOk && ok;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  // Skipped (test.skip, a skipped describe) and todo tests are counted, so a skip shows in the line CI reads.
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(
    `tests: ${r.numPassedTests} passed, ${r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0)} failed, ${skipped} skipped`,
  );
} catch {
  console.log('tests: 0 passed, 1 failed, 0 skipped');
}
process.exit(ok ? 0 : 1);
