#!/usr/bin/env node
// Installs everything `npm start` and `npm test` need on a fresh clone, and nothing twice:
// npm packages (when package-lock.json changed since the last install), then one Python
// virtual environment per tool under the user cache, keyed by the hash of its requirements file.
// Plain Node (no dependencies): it runs before node_modules exists, on whatever Node the machine has.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  renameSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheRoot, repoRoot } from './paths.cjs';

const root = repoRoot;

const sha = (data) => createHash('sha256').update(data).digest('hex').slice(0, 16);
const log = (msg) => process.stderr.write(`[bootstrap] ${msg}\n`);
const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root, ...opts });

function npmPackages() {
  const lock = readFileSync(join(root, 'package-lock.json'));
  const stamp = join(root, 'node_modules', '.kubecfn-lock-hash');
  const want = sha(lock);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  log('installing npm packages');
  // `npm install` rather than `npm ci`: the registry this project reaches serves packuments whose
  // optional platform packages never reach the lockfile, and `npm ci` then refuses the lock as
  // out of sync. `npm install` honours the locked versions all the same.
  run('npm', ['install', '--no-audit', '--no-fund']);
  writeFileSync(stamp, want);
}

/** A requirements file's text and that of the constraint and requirement files it names (-c, -r), which
 * pip resolves beside it: a venv is rebuilt when any of them changes. */
function requirementsText(file) {
  const text = readFileSync(file, 'utf8');
  const named = [...text.matchAll(/^\s*-[cr]\s+(\S+)/gm)].map((m) => requirementsText(join(dirname(file), m[1])));
  return [text, ...named].join('\n');
}

/**
 * One venv per requirements/<name>.txt, cached outside the repository, linked as .venv/<name>.
 * `only` limits them to what a command needs (`npm start` runs moto only; `npm test` all three).
 */
function pythonVenvs(only) {
  const reqDir = join(root, 'requirements');
  mkdirSync(join(root, '.venv'), { recursive: true });
  for (const file of readdirSync(reqDir)
    .filter((f) => f.endsWith('.txt') && (!only || only.includes(f.replace(/\.txt$/, ''))))
    .sort()) {
    const name = file.replace(/\.txt$/, '');
    const target = join(cacheRoot(), 'venvs', `${name}-${sha(requirementsText(join(reqDir, file)))}`);
    if (!existsSync(join(target, '.complete'))) {
      log(`creating Python virtual environment ${name} in ${target}`);
      rmSync(target, { recursive: true, force: true });
      mkdirSync(dirname(target), { recursive: true });
      const python = process.env.PYTHON ?? 'python3';
      run(python, ['-m', 'venv', target]);
      run(join(target, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', join(reqDir, file)]);
      writeFileSync(join(target, '.complete'), new Date().toISOString());
    }
    const link = join(root, '.venv', name);
    let current;
    try {
      current = lstatSync(link).isSymbolicLink() ? execFileSync('readlink', [link]).toString().trim() : undefined;
    } catch {
      current = undefined;
    }
    if (current !== target) {
      rmSync(link, { recursive: true, force: true });
      const tmp = `${link}.${process.pid}`;
      symlinkSync(target, tmp);
      renameSync(tmp, link);
    }
  }
}

/** Debian packages the local control plane needs (etcd). Installed only when missing and we are root. */
function debianPackages() {
  const wanted = [
    ['etcd', 'etcd-server'],
    ['openssl', 'openssl'],
  ];
  const missing = wanted
    .filter(([bin]) => {
      try {
        execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
        return false;
      } catch {
        return true;
      }
    })
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages ${missing.join(' ')}: install them with apt-get (not root, so not installing)`);
    return;
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * The local control plane is built from Go modules on first use: when its binaries are not cached yet,
 * say now, before anything else takes minutes, if Go is missing or older than the wrapper module needs.
 */
function goForKubernetes() {
  const goMod = readFileSync(join(root, 'scripts', 'local', 'cluster', 'k8s', 'go.mod'), 'utf8');
  const k8s = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+)/m.exec(goMod)?.[1];
  const need = /^go (\d+)\.(\d+)/m.exec(goMod);
  if (!k8s || !need || existsSync(join(cacheRoot(), 'k8s', k8s, 'build.json'))) return;
  let have = '';
  try {
    have = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    have = '';
  }
  const got = /^go(\d+)\.(\d+)/.exec(have);
  const old = !got || +got[1] < +need[1] || (+got[1] === +need[1] && +got[2] < +need[2]);
  if (old) {
    log(
      `Kubernetes ${k8s} for the local control plane is built from Go modules on the first run, which needs Go ${need[1]}.${need[2]} or newer ` +
        `and the Go module proxy; this machine has ${have || 'no go on PATH'}. Install Go (https://go.dev/dl/) and run the command again.`,
    );
    process.exit(1);
  }
}

if (process.env.KUBECFN_SKIP_BOOTSTRAP !== '1') {
  // `node scripts/dev/bootstrap.mjs start` (npm start) installs what the local deployment needs; no argument, everything.
  const forStart = process.argv[2] === 'start';
  goForKubernetes(); // first: the one missing piece that cannot install itself
  npmPackages();
  pythonVenvs(forStart ? ['moto'] : undefined);
  debianPackages();
}
