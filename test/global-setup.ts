import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureKubernetesBinaries } from '../scripts/local';

/**
 * Once per run, before the workers start: point the local cloud at the real charts when they are
 * beside the repository, build the packages the suites drive (unless `npm test` just did), and make
 * sure the local control plane's binaries are built and cached, so that a cold machine compiles
 * Kubernetes once here rather than inside a suite's beforeAll.
 */
export default async function globalSetup(): Promise<void> {
  // The real upstream charts, where CI and the project's machines keep them (beside the repository):
  // the local cloud then installs those instead of stand-ins, and a missing one fails its release.
  // Relative to the repository, as .ci/run sets it; the workers inherit it.
  if (!process.env.KUBECFN_CHARTS_DIR && existsSync(resolve(__dirname, '..', '..', 'shared', 'charts')))
    process.env.KUBECFN_CHARTS_DIR = '../shared/charts';
  if (process.env.KUBECFN_SKIP_BUILD !== '1') {
    execFileSync(
      process.execPath,
      [resolve(__dirname, '../node_modules/tsx/dist/cli.mjs'), resolve(__dirname, '../scripts/dev/build.ts')],
      {
        stdio: 'inherit',
      },
    );
  }
  await ensureKubernetesBinaries({ log: (m: string) => process.stderr.write(`[local cluster] ${m}\n`) });
}
