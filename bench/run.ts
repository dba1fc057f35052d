/** `npm run bench [-- name ...]`: runs every benchmark in bench/ (or the named ones) and prints their figures. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const wanted = process.argv.slice(2);
const all = readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''));
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
