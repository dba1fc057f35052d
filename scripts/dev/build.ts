/**
 * `npm run build`: one Lambda package per provider entry point in functions/src/providers, plus the
 * helm layer, under functions/packages/ (the Quick Start key layout the templates reference).
 */
process.env.TZ = 'UTC';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleProvider } from './build/bundle';
import { buildHelmLayer } from './build/helm-layer';
import { repoRoot } from './paths.cjs';

const root = repoRoot;
export const providersDir = join(root, 'functions', 'src', 'providers');
export const packagesDir = join(root, 'functions', 'packages');

async function main() {
  const started = Date.now();
  const entries = (await readdir(providersDir)).filter((f) => f.endsWith('.ts')).sort();
  for (const file of entries) {
    const r = await bundleProvider(join(providersDir, file), packagesDir);
    const zipBytes = (await stat(r.zipFile)).size;
    console.log(
      `${r.provider.padEnd(14)} ${(zipBytes / 1024).toFixed(0).padStart(6)} KiB zipped  ${(r.codeBytes / 1024).toFixed(0).padStart(6)} KiB index.js  → ${r.zipFile.slice(root.length + 1)}`,
    );
  }
  const layer = await buildHelmLayer(packagesDir);
  console.log(
    `${'HelmLayer'.padEnd(14)} ${(layer.zippedBytes / 1024).toFixed(0).padStart(6)} KiB zipped  ${(layer.unzippedBytes / 1024).toFixed(0).padStart(6)} KiB bin/helm${layer.rebuilt ? '' : ' (unchanged)'} → ${layer.zipFile.slice(root.length + 1)}`,
  );
  console.log(`built ${entries.length} provider package(s) and the helm layer in ${Date.now() - started} ms`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
