// npm run taskcat -- [taskcat arguments]   (default: test run)
//
// taskcat uploads its whole project directory to S3 and skips only dotfiles, *.md, functions/source/,
// venv/ and taskcat_outputs/: run from the repository it would upload node_modules (hundreds of MB),
// test/ and bench/. This script stages what a deployment reads — the templates, the submodules'
// templates and the built function packages (the files `npm run publish` uploads, from
// collectPublishFiles) — with .taskcat.yml and .cfnlintrc.yaml into a clean directory, then runs
// taskcat there (from .venv/taskcat). Build first: `npm run build`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { collectPublishFiles, formatBytes } from '../lib/publish-tree';
import { cacheRoot, repoRoot } from './paths.cjs';

/** The configuration files taskcat (and the cfn-lint it runs) reads from the project root. */
export const stagedConfigFiles = ['.taskcat.yml', '.cfnlintrc.yaml'];

/** taskcat writes its reports here; a restage keeps them. */
const outputsDir = 'taskcat_outputs';

/** Where `npm run taskcat` stages by default: the user cache, outside the repository. */
export const defaultStageDir = () => join(cacheRoot(), 'taskcat-stage');

/** What was staged. */
export interface StagedTree {
  dir: string;
  /** Repository-relative paths, sorted. */
  files: string[];
  bytes: number;
}

/**
 * Copies what a deployment needs from the repository at `root` into `dir`, emptied first (except
 * taskcat's reports): the templates and packages `npm run publish` uploads, and the taskcat and
 * cfn-lint configuration. Throws, naming what is missing, when the packages are not built.
 *
 * @example
 * const staged = stageTaskcat(repoRoot, '/tmp/kubecfn-taskcat');
 * // staged.files: ['.cfnlintrc.yaml', '.taskcat.yml', 'functions/packages/HelmLayer/layer.zip', ...]
 */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

export function stageTaskcat(root: string, dir: string): StagedTree {
  const stage = resolve(dir);
  const from = resolve(root);
  if (stage === from || !relative(from, stage).startsWith('..'))
    throw new Error(`the stage directory ${stage} must be outside the repository ${from}`);
  const files = collectPublishFiles(from);
  for (const config of stagedConfigFiles) {
    if (!existsSync(join(from, config))) throw new Error(`${config} is missing under ${from}`);
  }
  if (existsSync(stage)) {
    for (const entry of readdirSync(stage)) if (entry !== outputsDir) rmSync(join(stage, entry), { recursive: true });
  }
  const copy = (relativePath: string) => {
    const target = join(stage, ...relativePath.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(from, ...relativePath.split('/')), target);
    return statSync(target).size;
  };
  // .cfnlintrc.yaml appends the custom-resource rule in docs/schemas/cfn-lint, which reads the schemas beside it.
  const schemas = listFiles(join(from, 'docs', 'schemas'))
    .map((p) => relative(from, p).split(sep).join('/'))
    .filter((p) => !p.endsWith('.md') && !p.includes('__pycache__'));
  const paths = [...stagedConfigFiles, ...schemas, ...files.map((f) => f.relativePath)].sort();
  const bytes = paths.reduce((n, p) => n + copy(p), 0);
  return { dir: stage, files: paths, bytes };
}

function main(): number {
  const argv = process.argv.slice(2);
  let dir = defaultStageDir();
  if (argv[0] === '--dir') {
    if (!argv[1]) {
      console.error('--dir needs a directory');
      return 2;
    }
    dir = argv[1];
    argv.splice(0, 2);
  }
  if (argv[0] === '--') argv.shift();
  const args = argv.length ? argv : ['test', 'run'];
  if (args[0] === '-h' || args[0] === '--help') {
    console.log(`Usage: npm run taskcat -- [--dir DIR] [taskcat arguments]   (default: test run)

Stages templates/, submodules/*/templates/, functions/packages/ (npm run build first), .taskcat.yml and
.cfnlintrc.yaml into DIR (default ${defaultStageDir()}) and runs .venv/taskcat/bin/taskcat there.`);
    return 0;
  }
  const taskcat = join(repoRoot, '.venv', 'taskcat', 'bin', 'taskcat');
  if (!existsSync(taskcat)) {
    console.error(`${relative(repoRoot, taskcat)} is missing: run \`node scripts/dev/bootstrap.mjs\` to create it`);
    return 2;
  }
  const staged = stageTaskcat(repoRoot, dir);
  console.log(`staged ${staged.files.length} files (${formatBytes(staged.bytes)}) in ${staged.dir}`);
  console.log(`$ taskcat ${args.join(' ')}`);
  const r = spawnSync(taskcat, args, { cwd: staged.dir, stdio: 'inherit' });
  return r.status ?? 1;
}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
