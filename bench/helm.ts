/**
 * Helm overhead: install, upgrade and uninstall of the same chart (test/fixtures/charts/web, one
 * Deployment + Service + ConfigMap, waited for) on the same local control plane, three ways, each
 * repeated and reported as medians, in one run:
 *
 * - `helm CLI`: the bare binary, as a person runs it (`helm upgrade --install --wait`, `helm uninstall --wait`);
 * - `handler (warm)`: the bundled HelmProvider's handler called in this process, as a warm Lambda
 *   container runs it (the real protocol: a CloudFormation event in, a response PUT out);
 * - `handler (cold)`: the same package run by the local Lambda stand-in, a fresh Node process per
 *   request, as a cold Lambda container runs it.
 *
 * The handler runs the very binary the layer carries; the ratio is handler ÷ CLI. Also prints the
 * helm layer's zipped and unzipped size.
 *
 *   npx tsx bench/helm.ts            (BENCH_RUNS=9 for more runs; default 5)
 */
process.env.TZ = 'UTC';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildHelmLayer } from '../scripts/dev/build/helm-layer';
import { readZip } from '../scripts/dev/build/zip';
import { ensureHelm } from '../scripts/dev/binaries';
import { startLocalCluster } from '../scripts/local';
import type { CloudFormationEvent, LambdaContext } from '../functions/src/runtime';
import { cfnEvent, lambdaContext } from '../test/helpers/events';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../test/helpers/provider-harness';
import { ResponseServer } from '../test/helpers/response-server';
import { median, ratioRows, runs, table } from './lib';

const execFileAsync = promisify(execFile);
const root = resolve(__dirname, '..');
const chartsDir = join(root, 'test', 'fixtures', 'charts');
const TYPE = 'Custom::HelmRelease';
type Step = 'install' | 'upgrade' | 'uninstall';
const STEPS: Step[] = ['install', 'upgrade', 'uninstall'];
type Handler = (event: CloudFormationEvent, context: LambdaContext) => Promise<void>;

async function main() {
  const n = runs(5);
  const layer = await buildHelmLayer(join(root, 'functions', 'packages'));
  const helm = await ensureHelm();
  const cluster = await startLocalCluster();
  const work = mkdtempSync(join(tmpdir(), 'kubecfn-bench-helm-'));
  const responses = await ResponseServer.start();
  const environment = {
    ...clusterAccessEnv(cluster),
    HELM_BINARY: helm,
    KUBECFN_CHART_PATH: chartsDir,
    KUBECFN_LOG_LEVEL: 'WARN',
  };
  const harness = await ProviderHarness.start([
    { name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 900, environment },
  ]);
  try {
    // The warm handler: the package's own index.js, loaded once into this process.
    const codeDir = join(work, 'code');
    for (const [name, file] of await readZip(packageZip('HelmProvider'))) {
      mkdirSync(join(codeDir, name, '..'), { recursive: true });
      writeFileSync(join(codeDir, name), file.data);
    }
    Object.assign(process.env, environment);
    const loaded = (await import(join(codeDir, 'index.js'))) as { handler?: Handler; default?: { handler: Handler } };
    const handler = (loaded.handler ?? loaded.default?.handler)!;
    let seq = 0;
    const warm = async (
      type: CloudFormationEvent['RequestType'],
      props: Record<string, unknown>,
      old?: Record<string, unknown>,
    ) => {
      const id = `warm${++seq}`;
      const event = cfnEvent(type, TYPE, props, {
        ResponseURL: responses.url(id),
        LogicalResourceId: 'Bench',
        ...(type === 'Create' ? {} : { PhysicalResourceId: `helm:local:${props.Namespace}/${props.ReleaseName}` }),
        ...(old ? { OldResourceProperties: old } : {}),
      });
      await handler(event, lambdaContext('HelmProvider', id));
      const body = responses.bodiesFor(id)[0];
      if (body?.Status !== 'SUCCESS') throw new Error(`warm handler ${type} failed: ${body?.Reason}`);
    };
    const cold = async (
      type: CloudFormationEvent['RequestType'],
      props: Record<string, unknown>,
      old?: Record<string, unknown>,
    ) => {
      const r = await harness.send('HelmProvider', type, TYPE, props, {
        LogicalResourceId: 'Bench',
        ...(type === 'Create' ? {} : { PhysicalResourceId: `helm:local:${props.Namespace}/${props.ReleaseName}` }),
        ...(old ? { OldResourceProperties: old } : {}),
      });
      if (r.answer.Status !== 'SUCCESS') throw new Error(`cold handler ${type} failed: ${r.answer.Reason}`);
    };
    const home = join(work, 'home');
    mkdirSync(home);
    const cli = (...args: string[]) =>
      execFileAsync(helm, args, { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: cluster.kubeconfigPath } });

    type Way = (step: Step, i: number) => Promise<void>;
    const viaHandler =
      (send: typeof warm, namespace: string, wait: boolean): Way =>
      async (step, i) => {
        const props = {
          ClusterName: 'local',
          Chart: 'web',
          Namespace: namespace,
          ReleaseName: 'bench',
          Wait: String(wait),
          Values: { message: `v${i}` },
        };
        if (step === 'install') return send('Create', props);
        if (step === 'upgrade') return send('Update', { ...props, Values: { message: `v${i}-up` } }, props);
        return send('Delete', props);
      };
    const viaCli =
      (namespace: string, wait: boolean): Way =>
      async (step, i) => {
        const chart = join(chartsDir, 'web');
        const waitArgs = wait ? ['--wait'] : [];
        if (step === 'install')
          await cli(
            'upgrade',
            '--install',
            'bench',
            chart,
            '-n',
            namespace,
            '--create-namespace',
            ...waitArgs,
            '--timeout',
            '600s',
            '--set',
            `message=v${i}`,
          );
        else if (step === 'upgrade')
          await cli(
            'upgrade',
            '--install',
            'bench',
            chart,
            '-n',
            namespace,
            ...waitArgs,
            '--timeout',
            '600s',
            '--set',
            `message=v${i}-up`,
          );
        // The handler's Delete always waits until the objects are gone; so does this.
        else await cli('uninstall', 'bench', '-n', namespace, '--wait', '--timeout', '600s');
      };

    console.log(
      `helm ${(await cli('version', '--short')).stdout.trim()}, chart web 0.1.0 (Deployment, Service, ConfigMap), ${n} runs each (medians), local control plane ${cluster.version} with kwok nodes; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} CPUs`,
    );
    for (const wait of [true, false]) {
      const suffix = wait ? 'w' : 'n';
      const ways: Record<string, Way> = {
        'helm CLI': viaCli(`bench-cli-${suffix}`, wait),
        'handler (warm)': viaHandler(warm, `bench-warm-${suffix}`, wait),
        'handler (cold)': viaHandler(cold, `bench-cold-${suffix}`, wait),
      };
      const times: Record<string, Record<Step, number[]>> = {};
      for (const w of Object.keys(ways)) times[w] = { install: [], upgrade: [], uninstall: [] };

      // One untimed round each (caches, first connections), then the rounds: the ways in a new
      // random order each round, so that a burst of load elsewhere on the machine hits all alike.
      for (const way of Object.values(ways)) for (const step of STEPS) await way(step, 0);
      for (let i = 1; i <= n; i++) {
        const order = Object.keys(ways).sort(() => Math.random() - 0.5);
        for (const name of order) {
          for (const step of STEPS) {
            const t = performance.now();
            await ways[name]!(step, i);
            times[name]![step].push(performance.now() - t);
          }
        }
      }

      const rows = ratioRows(times, STEPS, 'helm CLI');
      console.log(
        `\n${wait ? "Wait: true (helm --wait; the cluster's readiness is part of every figure)" : "Wait: false (no --wait: helm's own work and the handler's overhead only)"}\n`,
      );
      console.log(table(rows));
      const total = (w: string) => STEPS.reduce((s, step) => s + median(times[w]![step]), 0);
      console.log(
        `install+upgrade+uninstall: helm CLI ${Math.round(total('helm CLI'))} ms; handler (warm) ${Math.round(total('handler (warm)'))} ms = ${(total('handler (warm)') / total('helm CLI')).toFixed(2)}×; handler (cold) ${Math.round(total('handler (cold)'))} ms = ${(total('handler (cold)') / total('helm CLI')).toFixed(2)}× (target ≤ 1.1×)`,
      );
    }
    const mb = (b: number) => (b / 1e6).toFixed(1);
    console.log(
      `\nhelm layer: ${mb(layer.zippedBytes)} MB zipped (target ≤ 25 MB), ${mb(layer.unzippedBytes)} MB unzipped (bin/helm only; ${layer.zipFile.slice(root.length + 1)})`,
    );
  } finally {
    await harness.stop();
    await responses.stop();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
