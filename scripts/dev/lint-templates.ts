// `npm run lint:templates`: cfn-lint over every template (errors, warnings and informational findings
// all fail), then `taskcat lint --strict` over .taskcat.yml from the repository root — both offline,
// from their own virtual environments (.venv/cfn-lint, .venv/taskcat; `node scripts/dev/bootstrap.mjs`
// creates them). Prints each command it runs and what it covered; exits non-zero on any finding.
//
// taskcat lints every template once per test and per template tree, so with nine tests it takes
// minutes. Its verdict is kept in the cache, keyed by the hash of everything it reads (templates,
// .taskcat.yml, .cfnlintrc.yaml, the taskcat environment); an unchanged tree is not linted twice.
// KUBECFN_TASKCAT_LINT=always runs it regardless, =never skips it (cfn-lint still runs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cacheRoot, repoRoot } from './paths.cjs';

const root = repoRoot;

/** Template files: templates/** and submodules/<name>/templates/**, sorted. */
export function templateFiles(base = root): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(base, dir))
      .sort()
      .flatMap((name) => {
        const rel = `${dir}/${name}`;
        if (statSync(join(base, rel)).isDirectory()) return walk(rel);
        return /\.template\.ya?ml$/.test(name) ? [rel] : [];
      });
  const subs = existsSync(join(base, 'submodules'))
    ? readdirSync(join(base, 'submodules'))
        .sort()
        .filter((s) => existsSync(join(base, 'submodules', s, 'templates')))
        .flatMap((s) => walk(`submodules/${s}/templates`))
    : [];
  return [...walk('templates'), ...subs];
}

function tool(venv: string, bin: string): string {
  const path = join(root, '.venv', venv, 'bin', bin);
  if (!existsSync(path)) {
    console.error(
      `${relative(root, path)} is missing: run \`node scripts/dev/bootstrap.mjs\` (npm test does) to create the ${venv} environment`,
    );
    process.exit(2);
  }
  return path;
}

function run(label: string, cmd: string, args: string[]): boolean {
  const started = Date.now();
  console.log(`\n$ ${[relative(root, cmd), ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  const ok = r.status === 0;
  console.log(
    `${label}: ${ok ? 'passed' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return ok;
}

function taskcatKey(files: string[], taskcat: string): string {
  const h = createHash('sha256');
  for (const f of [...files, '.taskcat.yml', '.cfnlintrc.yaml']) {
    h.update(f).update('\0');
    if (existsSync(join(root, f))) h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  // The environment directory's name carries the hash of requirements/taskcat.txt (bootstrap).
  h.update(realpathSync(join(taskcat, '..', '..')));
  return h.digest('hex').slice(0, 24);
}

function main(): void {
  const files = templateFiles();
  console.log(`templates (${files.length}):\n${files.map((f) => `  ${f}`).join('\n')}`);

  const cfnLint = tool('cfn-lint', 'cfn-lint');
  // .cfnlintrc.yaml adds the regions and the informational checks; any finding makes cfn-lint exit non-zero.
  let ok = run('cfn-lint', cfnLint, ['--', ...files]);

  const mode = process.env.KUBECFN_TASKCAT_LINT ?? 'auto';
  if (mode === 'never') {
    console.log('\ntaskcat lint: skipped (KUBECFN_TASKCAT_LINT=never)');
  } else {
    const taskcat = tool('taskcat', 'taskcat');
    const stamp = join(cacheRoot(), 'taskcat-lint', taskcatKey(files, taskcat));
    if (mode !== 'always' && existsSync(stamp)) {
      console.log(
        `\ntaskcat lint: passed earlier on exactly these inputs (${readFileSync(stamp, 'utf8').trim()}); not run again. KUBECFN_TASKCAT_LINT=always forces it.`,
      );
    } else {
      const passed = run('taskcat lint', taskcat, [
        'lint',
        '--strict',
        '--input-file',
        '.taskcat.yml',
        '--project-root',
        '.',
      ]);
      if (passed) {
        mkdirSync(join(stamp, '..'), { recursive: true });
        writeFileSync(stamp, `${new Date().toISOString()}\n`);
      }
      ok = passed && ok;
    }
  }
  console.log(`\ntemplate checks: ${ok ? 'passed' : 'FAILED'}`);
  process.exit(ok ? 0 : 1);
}

if (require.main === module) main();
