/**
 * `npm run bench [-- name ...]`: runs every benchmark in bench/ (or the named ones) and prints their figures.
 * The long ones (the lifecycle e2e test three times, every taskcat test) run only when named.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const wanted = process.argv.slice(2);
const onlyWhenNamed = ['lifecycle', 'taskcat'];
const all = readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((name) => !onlyWhenNamed.includes(name));
if (!wanted.length)
  console.log(
    `(${onlyWhenNamed.join(', ')}: minutes each, run only when named: npm run bench -- ${onlyWhenNamed.join(' ')})`,
  );
let failed = false;
for (const name of wanted.length ? wanted : all) {
  console.log(`\n### ${name}`);
  const r = spawnSync(
    process.execPath,
    [join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(__dirname, `${name}.ts`)],
    { stdio: 'inherit' },
  );
  failed ||= r.status !== 0;
}
process.exit(failed ? 1 : 0);
