import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** The suites drive the bundled handlers, so the packages must be current: build them once per run. */
export default function globalSetup(): void {
  if (process.env.KUBECFN_SKIP_BUILD === '1') return;
  execFileSync(process.execPath, [resolve(__dirname, '../node_modules/tsx/dist/cli.mjs'), resolve(__dirname, '../scripts/build.ts')], {
    stdio: 'inherit',
  });
}
