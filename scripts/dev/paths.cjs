// The two locations every tool of this repository needs, defined once: the repository root and the
// user cache (built Kubernetes binaries, Python virtual environments, unpacked helm and kubectl).
// CommonJS so that the bootstrap, which runs on the machine's own Node before node_modules exists,
// can load it as well as the TypeScript tools.
const { homedir } = require('node:os');
const { join, resolve } = require('node:path');

/** The repository root (this file lives in scripts/dev). */
exports.repoRoot = resolve(__dirname, '..', '..');

/**
 * Where kubecfn keeps built and unpacked things: `$KUBECFN_CACHE`, else `$XDG_CACHE_HOME/kubecfn`,
 * else `~/.cache/kubecfn`. Read on every call so a test can point it elsewhere.
 */
exports.cacheRoot = () =>
  process.env.KUBECFN_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kubecfn');
