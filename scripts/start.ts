// npm start [-- --once] [--stack-name NAME] [--param KEY=VALUE ...] [--template new-vpc|existing-vpc]
//
// The whole Quick Start on this machine, no AWS account: builds the provider packages, starts the
// local control plane (standing for EKS), moto server with kubecfn's CloudFormation engine
// (standing for AWS) and the local Lambda service (running the built packages), then does what a
// user does in AWS: `npm run publish` to S3 and `npm run deploy` of the new-VPC entrypoint, with
// live progress. It prints what was deployed and keeps running until Ctrl-C; with --once it deletes
// the stack right away, shows that the cluster is clean again, and exits.
process.env.TZ = 'UTC';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseCommandLine, parseKeyValues, runMain, UsageError } from './lib/args';
import { repoRoot } from './dev/paths.cjs';
import { localBucket, LocalDeployment, localRegion } from './local';

const usage = `Usage: npm start [-- options]

Deploys the Quick Start (new-VPC entrypoint, nested stacks, Helm releases, manifests) into a local
control plane and a local AWS emulator, with live progress, and prints what was deployed.

Options:
  --once                deploy, then delete the stack, show the cluster is clean, and exit
  --stack-name NAME     stack name (default kubecfn)
  --param KEY=VALUE     a stack parameter on top of the local defaults; repeat for more
  --skip-build          use the packages already in functions/packages
  -h, --help            show this help`;

/** Parameters the local deployment sets unless --param overrides them. */
export const localDefaults: Record<string, string> = {
  AvailabilityZones: `${localRegion}a,${localRegion}b,${localRegion}c`,
  ClusterName: 'kubecfn-local',
  // The local control plane is reachable from this machine only: nothing is public.
  EndpointAccess: 'Private',
};

function line(text = ''): void {
  console.log(text);
}

function heading(text: string): void {
  line();
  line(`== ${text}`);
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(process.argv.slice(2), {
    once: { type: 'boolean', default: false },
    'stack-name': { type: 'string', default: 'kubecfn' },
    param: { type: 'string', multiple: true },
    'skip-build': { type: 'boolean', default: false },
  });
  if (values.help) {
    line(usage);
    return 0;
  }
  const stackName = values['stack-name']!;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))
    throw new UsageError(
      `--stack-name must start with a letter and hold only letters, digits and hyphens (got "${stackName}")`,
    );
  const params = { ...localDefaults, ...parseKeyValues('--param', values.param) };
  const started = Date.now();
  const timings: Array<[string, number]> = [];
  const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await work();
    } finally {
      timings.push([label, (Date.now() - t) / 1000]);
    }
  };
  const timingLine = () =>
    `  timings: ${timings.map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}; total ${((Date.now() - started) / 1000).toFixed(1)} s`;

  if (!values['skip-build']) {
    heading('Building the provider packages');
    const t = Date.now();
    const built = spawnSync(
      join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [join(repoRoot, 'scripts', 'dev', 'build.ts')],
      { cwd: repoRoot, stdio: 'inherit' },
    );
    timings.push(['build', (Date.now() - t) / 1000]);
    if (built.status !== 0) {
      line('The build failed (see above).');
      return 1;
    }
  }

  heading('Starting the local cloud');
  const local = await timed('local cloud', () => LocalDeployment.start((m) => line(m)));
  let stopping: Promise<void> | undefined;
  let keepLogs = false;
  const stop = () => (stopping ??= local.stop({ keepLogs }));
  const onSignal = (signal: NodeJS.Signals) => {
    line(`\n${signal}: stopping every local process ...`);
    void stop().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  // After a signal the scripts end because they were stopped: nothing more to report.
  const interrupted = () => new Promise<never>(() => {});
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const before = await local.objectInventory();

    heading(`Publishing templates and packages to s3://${localBucket}/ (npm run publish)`);
    const published = await timed('publish', () =>
      local.runScript('publish.ts', ['--bucket', localBucket, '--region', localRegion, '--create-bucket'], (m) =>
        line(`  ${m}`),
      ),
    );
    if (stopping) return interrupted();
    if (published !== 0) {
      keepLogs = true;
      line(`npm run publish failed (exit ${published}).`);
      return 1;
    }

    heading(`Deploying stack ${stackName} (npm run deploy -- --template new-vpc)`);
    line(
      `  parameters: ${Object.entries(params)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    const deployArgs = [
      '--stack-name',
      stackName,
      '--template',
      'new-vpc',
      '--bucket',
      localBucket,
      '--region',
      localRegion,
      '--poll',
      '1',
    ];
    for (const [k, v] of Object.entries(params)) deployArgs.push('--param', `${k}=${v}`);
    const deployed = await timed('deploy', () => local.runScript('deploy.ts', deployArgs, (m) => line(`  ${m}`)));
    if (stopping) return interrupted();
    if (deployed !== 0) {
      keepLogs = true;
      line(
        `npm run deploy failed (exit ${deployed}). Provider logs: ${local.lambdaLogPath}; AWS and engine log: ${join(local.dir, 'aws.log')}`,
      );
      if (values.once) return 1;
      // Keep the evidence: the cluster and the local AWS stay up for a look until Ctrl-C.
      line(`  export KUBECONFIG=${local.cluster.kubeconfigPath}`);
      for (const [k, v] of Object.entries(local.awsEnv)) line(`  export ${k}=${v}`);
      line('Still running for inspection. Ctrl-C stops every local process.');
      await new Promise<never>(() => {});
    }

    heading(`Deployed: stack ${stackName} ${await local.stackStatus(stackName)}`);
    for (const o of await local.outputs(stackName)) line(`  ${o.OutputKey?.padEnd(28)} ${o.OutputValue}`);
    const releases = await local.helmReleases();
    heading('Helm releases (helm list -A)');
    for (const r of releases) line(`  release installed: ${r.name} (namespace ${r.namespace}) ${r.chart} ${r.status}`);
    if (!releases.length) line('  (none)');
    heading('Nodes (kubectl get nodes -L kubecfn.io/partition)');
    line(indent(await local.kubectl(['get', 'nodes', '-L', 'kubecfn.io/partition,eks.amazonaws.com/capacityType'])));
    heading('Workloads (kubectl get deploy,sts,svc,pvc -A)');
    line(
      indent(
        await local.kubectl([
          'get',
          'deployments,statefulsets,services,persistentvolumeclaims',
          '--all-namespaces',
          '--field-selector=metadata.namespace!=default',
        ]),
      ),
    );
    heading('Use it');
    line(`  export KUBECONFIG=${local.cluster.kubeconfigPath}`);
    for (const [k, v] of Object.entries(local.awsEnv)) line(`  export ${k}=${v}`);
    line(`  then: kubectl get pods -A; aws cloudformation describe-stacks --stack-name ${stackName};`);
    line(`        npm run deploy -- --stack-name ${stackName} --template new-vpc --param KEY=VALUE   (an update)`);
    line(`  provider logs: ${local.lambdaLogPath}`);
    line(timingLine());

    if (!values.once) {
      line();
      line('Running. Ctrl-C stops every local process.');
      await new Promise<never>(() => {});
    }

    heading(`Deleting stack ${stackName} (npm run destroy)`);
    const destroyed = await timed('destroy', () =>
      local.runScript('destroy.ts', ['--stack-name', stackName, '--region', localRegion, '--poll', '1'], (m) =>
        line(`  ${m}`),
      ),
    );
    if (stopping) return interrupted();
    if (destroyed !== 0) {
      keepLogs = true;
      line(`npm run destroy failed (exit ${destroyed}). Provider logs: ${local.lambdaLogPath}`);
      return 1;
    }
    heading('After the delete');
    const left = await local.helmReleases();
    line(`  releases after delete: ${left.length ? left.map((r) => `${r.name} (${r.namespace})`).join(', ') : 'none'}`);
    const after = await local.objectInventory();
    const added = [...after].filter((o) => !before.has(o)).sort();
    const removed = [...before].filter((o) => !after.has(o)).sort();
    for (const o of added) line(`  left behind: ${o}`);
    for (const o of removed) line(`  missing since before the deploy: ${o}`);
    // An object that was there before the deploy and is gone now was deleted by the stack (or its
    // providers) without being theirs: as much a failure as one left behind.
    const clean = !left.length && !added.length && !removed.length;
    line(
      clean
        ? '  cluster clean: every object the stack created is gone, and every object from before is still there'
        : `  cluster NOT clean: ${left.length} release(s) and ${added.length} object(s) left behind, ${removed.length} object(s) missing since before the deploy (see above)`,
    );
    keepLogs = !clean;
    line(timingLine());
    return clean ? 0 : 1;
  } catch (err) {
    keepLogs = true;
    throw err;
  } finally {
    await stop();
    if (keepLogs) line(`Logs kept in ${local.dir}`);
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

runMain(usage, main);
