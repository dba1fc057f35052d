import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureKubernetesBinaries } from '../scripts/local';

/**
 * Once per run, before the workers start: build the packages the suites drive (unless `npm test`
 * just did), and make sure the local control plane's binaries are built and cached, so that a cold
 * machine compiles Kubernetes once here rather than inside a suite's beforeAll.
 */
export default async function globalSetup(): Promise<void> {
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
