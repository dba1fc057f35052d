// `npm run local:cluster -- <command>`: the local control plane for people.
//
//   up [--dir DIR] [--no-nodes]   start it, print its kubeconfig, run until Ctrl-C
//   build                         build and cache the binaries only (CI warms its cache with this)
//   kubectl ARGS...               kubectl 1.33 against the running cluster (or $KUBECONFIG)
//   helm ARGS...                  helm 3.18 likewise
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureHelm, ensureKubectl } from '../../dev/binaries';
import { cacheRoot } from '../../dev/paths.cjs';
import { startLocalCluster } from './cluster';
import { ensureKubernetesBinaries, kwokVersion } from './k8s/build';

/** Where `up` records its kubeconfig path, so `kubectl` and `helm` find the running cluster. */
const currentPointer = join(cacheRoot(), 'local-cluster', 'current-kubeconfig');

const usage = `usage: npm run local:cluster -- <command>
  up [--dir DIR] [--no-nodes]   start the local control plane, print its kubeconfig, run until Ctrl-C
  build                         build and cache the Kubernetes, kwok, kubectl and helm binaries
  kubectl ARGS...               run kubectl 1.33 against the running cluster (or $KUBECONFIG)
  helm ARGS...                  run helm 3.18 against the running cluster (or $KUBECONFIG)`;

async function up(args: string[]): Promise<void> {
  let dir: string | undefined;
  let nodes = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dir' && args[i + 1]) dir = resolve(args[++i]!);
    else if (args[i] === '--no-nodes') nodes = false;
    else throw new Error(`up: unknown option ${args[i]}\n${usage}`);
  }
  const started = Date.now();
  const cluster = await startLocalCluster({ dir, nodes, log: (m) => process.stderr.write(`[cluster] ${m}\n`) });
  mkdirSync(join(cacheRoot(), 'local-cluster'), { recursive: true });
  writeFileSync(currentPointer, cluster.kubeconfigPath);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `Kubernetes ${cluster.version} is up at ${cluster.server} (${seconds} s); logs in ${join(cluster.dir, 'logs')}`,
  );
  console.log(`kubeconfig: ${cluster.kubeconfigPath}`);
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}`);
  console.log('Press Ctrl-C to stop it.');
  await new Promise<void>((done) => {
    // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx);
    // a listener must stay, or the second signal ends the process half-way through the cleanup.
    const shutdown = () => done();
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  process.stderr.write('\n[cluster] stopping\n');
  if (existsSync(currentPointer) && readFileSync(currentPointer, 'utf8') === cluster.kubeconfigPath)
    rmSync(currentPointer);
  await cluster.stop();
}

async function passThrough(binary: string, args: string[]): Promise<number> {
  let kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig && existsSync(currentPointer)) kubeconfig = readFileSync(currentPointer, 'utf8').trim();
  if (!kubeconfig || !existsSync(kubeconfig.split(':')[0]!)) {
    throw new Error('no local cluster is running: start one with `npm run local:cluster -- up`, or set KUBECONFIG');
  }
  const child = spawn(binary, args, { stdio: 'inherit', env: { ...process.env, KUBECONFIG: kubeconfig } });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      await up(rest);
      return 0;
    case 'build': {
      const started = Date.now();
      const bins = await ensureKubernetesBinaries();
      const [kubectl, helm] = await Promise.all([ensureKubectl(), ensureHelm()]);
      console.log(
        `Kubernetes ${bins.version}: ${bins.kubeApiserver}, ${bins.kubeControllerManager}, ${bins.kubeScheduler}`,
      );
      console.log(`kwok ${kwokVersion}: ${bins.kwok}`);
      console.log(`etcd: ${bins.etcd}`);
      console.log(`kubectl: ${kubectl}`);
      console.log(`helm: ${helm}`);
      console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'kubectl':
      return passThrough(await ensureKubectl(), rest);
    case 'helm':
      return passThrough(await ensureHelm(), rest);
    default:
      console.error(usage);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
