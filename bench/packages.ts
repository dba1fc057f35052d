/**
 * Package size and cold-start cost per provider: zip and unzipped bytes; module-load time of the
 * bundled index.js in a fresh Node 24 process; the time from process start to the first answer on
 * the response URL (which loads the resource type's code); and the same code unbundled (our code
 * bundled, every npm package loaded from node_modules), measured in the same run.
 */
process.env.TZ = 'UTC';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
// Asynchronous: the probe answers this process's own response server, which must keep serving.
const execFileAsync = promisify(execFile);
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { readZip } from '../scripts/dev/build/zip';
import { median, runs, table } from './lib';

const root = resolve(__dirname, '..');
const N = runs(7);

/** First resource type each provider handles: the cold request loads its code. */
const firstType: Record<string, string> = {
  KubeProvider: 'Custom::KubeManifest',
  HelmProvider: 'Custom::HelmRelease',
  CleanupProvider: 'Custom::VpcCleanup',
};

const PROBE = `
const t0 = performance.now();
const mod = require(process.argv[2]);
const loaded = performance.now();
const url = process.argv[3];
const event = { RequestType: 'Create', ResponseURL: url, StackId: 'arn:aws:cloudformation:us-east-1:0:stack/bench/x', RequestId: 'r', LogicalResourceId: 'L', ResourceType: process.argv[4], ResourceProperties: {} };
const context = { awsRequestId: 'a', functionName: 'f', invokedFunctionArn: 'arn', logGroupName: 'g', logStreamName: 's', getRemainingTimeInMillis: () => 60000 };
mod.handler(event, context).then(() => { process.stdout.write(JSON.stringify({ loadMs: loaded - t0, firstAnswerMs: performance.now() - t0 }), () => process.exit(0)); });
`;

async function main() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const work = await mkdtemp(join(tmpdir(), 'kubecfn-bench-'));
  await writeFile(join(work, 'probe.cjs'), PROBE);
  const node = process.execPath;
  const nodeVersion = execFileSync(node, ['--version']).toString().trim();
  const rows = [];
  const packagesDir = join(root, 'functions', 'packages');
  for (const provider of (await readdir(packagesDir)).sort()) {
    const zipFile = join(packagesDir, provider, 'lambda.zip');
    const zipBytes = await stat(zipFile).then(
      (s) => s.size,
      () => 0,
    );
    if (!zipBytes) continue;
    const files = await readZip(zipFile);
    const dir = join(work, provider);
    for (const [name, f] of files) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), f.data);
    }
    const unzipped = [...files.values()].reduce((n, f) => n + f.data.length, 0);
    // The unbundled peer: the same entry point with every npm package left to node_modules.
    const entry = join(
      root,
      'functions',
      'src',
      'providers',
      `${provider.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}.ts`,
    );
    const unbundledFile = join(root, '.tmp', 'bench-unbundled', `${provider}.cjs`);
    await build({
      entryPoints: [entry],
      bundle: true,
      packages: 'external',
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      outfile: unbundledFile,
      logLevel: 'error',
    });
    const measure = async (file: string) => {
      const loads: number[] = [];
      const answers: number[] = [];
      for (let i = 0; i < N; i++) {
        const out = JSON.parse(
          (
            await execFileAsync(node, [join(work, 'probe.cjs'), file, url, firstType[provider] ?? 'Custom::Unknown'], {
              timeout: 60_000,
              env: { ...process.env, KUBECFN_LOG_LEVEL: 'SILENT' },
            })
          ).stdout,
        );
        loads.push(out.loadMs);
        answers.push(out.firstAnswerMs);
      }
      return { load: median(loads), answer: median(answers) };
    };
    const bundled = await measure(join(dir, 'index.js'));
    const unbundled = await measure(unbundledFile);
    rows.push({
      provider,
      'zip KiB': Math.round(zipBytes / 1024),
      'unzipped KiB': Math.round(unzipped / 1024),
      'index.js KiB': Math.round((files.get('index.js')?.data.length ?? 0) / 1024),
      'load ms': bundled.load,
      'unbundled load ms': unbundled.load,
      'first answer ms': bundled.answer,
      'unbundled first answer ms': unbundled.answer,
      'answer ratio': bundled.answer / unbundled.answer,
    });
  }
  server.close();
  await rm(work, { recursive: true, force: true });
  console.log(
    `packages — ${nodeVersion}, median of ${N} fresh processes each (targets: zip ≤ 1024 KiB, load ≤ 120 ms)`,
  );
  console.log(table(rows));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
