/**
 * Bundles one provider entry point into a Lambda package: esbuild (minified, source map, Node 24,
 * CommonJS so `index.handler` works) and a deterministic zip holding index.js and index.js.map.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { writeDeterministicZip } from './zip';

/** The Lambda runtime the templates declare (`nodejs24.x`). */
export const NODE_TARGET = 'node24';

export interface BundleResult {
  provider: string;
  zipFile: string;
  /** index.js bytes (minified). */
  codeBytes: number;
  /** Everything in the zip, unzipped. */
  unzippedBytes: number;
}

/** `kube-provider.ts` → `KubeProvider`, the package folder name the templates reference. */
export const providerName = (file: string) =>
  file
    .replace(/\.ts$/, '')
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/**
 * @example
 * await bundleProvider('functions/src/providers/kube-provider.ts', 'functions/packages');
 * // → functions/packages/KubeProvider/lambda.zip
 */
export async function bundleProvider(
  entry: string,
  packagesDir: string,
  name = providerName(entry.split('/').pop()!),
): Promise<BundleResult> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: NODE_TARGET,
    format: 'cjs',
    minify: true,
    // 'linked' writes the sourceMappingURL comment Node's --enable-source-maps needs to find the map.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    // Error class names reach CloudFormation Reasons (`ClusterNotFoundError: …`): keep them readable.
    keepNames: true,
    outfile: 'index.js',
    write: false,
    // ESM-first packages (the Kubernetes client) resolve to their ESM builds, which tree-shake.
    mainFields: ['module', 'main'],
    logLevel: 'warning',
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('index.js'))!;
  const map = result.outputFiles.find((f) => f.path.endsWith('index.js.map'))!;
  const zipFile = join(packagesDir, name, 'lambda.zip');
  await writeDeterministicZip(zipFile, [
    { name: 'index.js', data: Buffer.from(code.contents) },
    { name: 'index.js.map', data: Buffer.from(map.contents) },
  ]);
  return {
    provider: name,
    zipFile,
    codeBytes: code.contents.byteLength,
    unzippedBytes: code.contents.byteLength + map.contents.byteLength,
  };
}
