// npm start [-- --once] [--stack-name NAME] [--param KEY=VALUE ...] [--template new-vpc|existing-vpc|existing-cluster]
//           [--update KEY=VALUE ...] [--charts-dir DIR] [--after-deploy COMMAND]
//
// The whole Quick Start on this machine, no AWS account: builds the provider packages, starts the
// local control plane (standing for EKS), moto server with kubecfn's CloudFormation engine
// (standing for AWS) and the local Lambda service (running the built packages), then does what a
// user does in AWS: `npm run upload` to S3 and `npm run deploy` of the new-VPC entrypoint, with
// live progress. The stack's EKS cluster gets a local control plane of its own when the stack creates
// it. It prints what was deployed and keeps running until Ctrl-C; with --once it deletes the stack
// right away, shows that the cluster held nothing of the stack when it was deleted, and exits.
process.env.TZ = 'UTC';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { parseCommandLine, parseKeyValues, runMain, UsageError } from './lib/args';
import { repoRoot } from './dev/paths.cjs';
import { localBucket, LocalDeployment, localRegion, userClusterParameters } from './local';
import { defaultChartsDir, missingCharts, pullCharts, templateCharts } from './dev/charts-pull';
import { ensureHelm, ensureKubectl } from './dev/binaries';

const usage = `Usage: npm start [-- options]

Deploys the Quick Start (an entrypoint, its nested stacks, Helm releases, manifests) into a local
control plane and a local AWS emulator, with live progress, and prints what was deployed.

Options:
  --once                deploy, then delete the stack, show the cluster is clean, and exit
  --stack-name NAME     stack name (default kubecfn)
  --param KEY=VALUE     a stack parameter on top of the local defaults; repeat for more
  --template T          new-vpc (default) or existing-vpc: the existing-VPC entrypoint goes into a
                        VPC made first, as a user's own, from the VPC submodule (stack NAME-vpc);
                        existing-cluster: the existing-cluster entrypoint goes into a cluster made
                        first, as a user's own (stack NAME-cluster: the existing-VPC entrypoint with
                        its add-ons, agents and workloads off, in the VPC NAME-vpc), adding the agent
                        partition, every add-on and Jenkins; --once shows the cluster as it was after
  --update KEY=VALUE    after the deploy, update the stack with this parameter change (the others
                        keep their values); repeat for more
  --charts-dir DIR      real Helm charts (<chart>-<version>.tgz) to install; default
                        $KUBECFN_CHARTS_DIR, else ~/.cache/kubecfn/charts (npm run charts:pull)
  --skip-build          use the packages already in functions/packages
  --after-deploy CMD    once deployed (before --update and the delete), run CMD with sh in the
                        environment "Use it" prints (KUBECONFIG, the AWS variables, kubectl on
                        PATH, KUBECFN_STACK_NAME); a non-zero exit makes npm start's exit 1
  -h, --help            show this help`;

/** Parameters the local deployment sets unless --param overrides them. */
export const localDefaults: Record<string, string> = {
  AvailabilityZones: `${localRegion}a,${localRegion}b,${localRegion}c`,
  ClusterName: 'kubecfn-local',
  // The local control plane is reachable from this machine only: nothing is public.
  EndpointAccess: 'Private',
};

/** What --template existing-cluster adds to that cluster: a partition, every add-on and Jenkins. */
const existingClusterDefaults: Record<string, string> = {
  SystemPartition: 'ExistingNodes',
  AgentPartition: 'Enabled',
  PodIdentityAgent: 'AlreadyInstalled',
  LoadBalancerController: 'Enabled',
  EfsStorage: 'Enabled',
  EbsStorage: 'Enabled',
  MetricsServer: 'Enabled',
  ClusterAutoscaler: 'Enabled',
  JenkinsWorkload: 'Enabled',
};

/** The command that gets the real charts, printed wherever a stand-in is used. */
const realChartsHint = 'npm run charts:pull (online), or npm start -- --charts-dir DIR';

/**
 * Which real charts the local cloud can serve: the explicit chart directory (--charts-dir,
 * $KUBECFN_CHARTS_DIR) as it is, strictly (a missing chart fails its release as a repository without
 * it would); else the cache's, first filled from the real repositories where this machine is online,
 * and stand-ins only for what is still missing.
 */
async function planCharts(
  explicitDir: string | undefined,
): Promise<{ chartsDir: string; standIns: boolean; missing: string[]; pulled: string[] }> {
  const fromEnv = defaultChartsDir();
  const dir = explicitDir ? resolve(explicitDir) : fromEnv.dir;
  const strict = Boolean(explicitDir) || fromEnv.explicit;
  const pulled: string[] = [];
  if (!strict && missingCharts(dir).length) {
    line(`  ${dir}: pulling the charts the templates name from their repositories (${realChartsHint}) ...`);
    const result = await pullCharts({ dir, helm: await ensureHelm(), timeoutMs: 20_000 });
    pulled.push(...result.pulled.map((c) => `${c.chart}-${c.version}`));
  }
  const missing = missingCharts(dir).map((c) => `${c.chart}-${c.version}`);
  return { chartsDir: dir, standIns: !strict && missing.length > 0, missing, pulled };
}

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
    template: { type: 'string', default: 'new-vpc' },
    update: { type: 'string', multiple: true },
    'charts-dir': { type: 'string' },
    'after-deploy': { type: 'string' },
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
  const template = values.template!;
  if (template !== 'new-vpc' && template !== 'existing-vpc' && template !== 'existing-cluster')
    throw new UsageError(`--template must be new-vpc, existing-vpc or existing-cluster (got "${template}")`);
  const updates = parseKeyValues('--update', values.update);
  const defaults: Record<string, string> = { ...localDefaults };
  // The existing-VPC entrypoint takes the VPC's subnets instead of zones (filled in below).
  if (template === 'existing-vpc') delete defaults.AvailabilityZones;
  // The existing-cluster entrypoint takes the cluster's settings (filled in below) and what to add.
  if (template === 'existing-cluster') {
    delete defaults.AvailabilityZones;
    delete defaults.EndpointAccess;
    Object.assign(defaults, existingClusterDefaults);
  }
  const params = { ...defaults, ...parseKeyValues('--param', values.param) };
  const userVpcStack = `${stackName}-vpc`;
  const userClusterStack = `${stackName}-cluster`;
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

  heading('Charts');
  const charts = await planCharts(values['charts-dir']);
  const wanted = templateCharts().map((c) => `${c.chart}-${c.version}`);
  for (const c of charts.pulled) line(`  pulled ${c} into ${charts.chartsDir}`);
  line(
    `  real charts from ${charts.chartsDir}: ${wanted.filter((c) => !charts.missing.includes(c)).join(', ') || 'none'}`,
  );
  if (charts.missing.length && charts.standIns)
    line(
      `  STAND-IN charts for ${charts.missing.join(', ')}: no real chart could be had (offline, not in ${charts.chartsDir}). ` +
        `Their releases install generated stand-ins (no CRDs, webhooks, RBAC or values checks); get the real ones with ${realChartsHint}`,
    );
  else if (charts.missing.length)
    line(
      `  missing from ${charts.chartsDir}: ${charts.missing.join(', ')}: their releases fail as against a repository without them`,
    );

  heading('Starting the local cloud');
  const local = await timed('local cloud', () =>
    LocalDeployment.start((m) => line(m), {
      chartsDir: charts.chartsDir,
      standIns: charts.standIns,
      // The deployer has the documented deploy policy only: a call it misses fails here, naming its action.
      deployer: 'deploy-policy',
    }),
  );
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

  /** The stack's EKS cluster: the one named by ClusterName, else the only one running. */
  const clusterName = () => {
    const names = local.clusterNames();
    return params.ClusterName && names.includes(params.ClusterName)
      ? params.ClusterName
      : names.length === 1
        ? names[0]
        : undefined;
  };
  const kubeconfigLines = () =>
    local
      .clusterNames()
      .map((name) => `  export KUBECONFIG=${local.controlPlane(name).cluster.kubeconfigPath}   # EKS cluster ${name}`);

  /** With --template existing-cluster: the user's cluster before the entrypoint went in (what its delete must leave). */
  let userClusterBefore: Set<string> | undefined;

  try {
    heading(`Uploading templates and packages to s3://${localBucket}/ (npm run upload)`);
    const published = await timed('upload', () =>
      local.runScript('upload.ts', ['--bucket', localBucket, '--region', localRegion, '--create-bucket'], (m) =>
        line(`  ${m}`),
      ),
    );
    if (stopping) return interrupted();
    if (published !== 0) {
      keepLogs = true;
      line(`npm run upload failed (exit ${published}).`);
      return 1;
    }

    if (template === 'existing-vpc' || template === 'existing-cluster') {
      heading(`Creating the VPC to deploy into, as a user's own (stack ${userVpcStack} from submodules/vpc)`);
      const vpc = await timed('user VPC', () => local.createUserVpc(userVpcStack));
      line(
        `  ${vpc.VPCID} ${vpc.VPCCIDR}: private subnets ${vpc.PrivateSubnet1ID}, ${vpc.PrivateSubnet2ID}, ${vpc.PrivateSubnet3ID}`,
      );
      Object.assign(params, {
        VPCID: vpc.VPCID!,
        VPCCIDR: vpc.VPCCIDR!,
        PrivateSubnet1ID: vpc.PrivateSubnet1ID!,
        PrivateSubnet2ID: vpc.PrivateSubnet2ID!,
        PrivateSubnet3ID: vpc.PrivateSubnet3ID ?? '',
        ...parseKeyValues('--param', values.param),
      });
    }
    if (template === 'existing-cluster') {
      heading(
        `Creating the cluster to deploy into, as a user's own (stack ${userClusterStack}: the existing-VPC entrypoint, add-ons off)`,
      );
      const clusterName = params.ClusterName!;
      const clusterParams = {
        ...userClusterParameters,
        ClusterName: clusterName,
        VPCID: params.VPCID!,
        VPCCIDR: params.VPCCIDR!,
        PrivateSubnet1ID: params.PrivateSubnet1ID!,
        PrivateSubnet2ID: params.PrivateSubnet2ID!,
        PrivateSubnet3ID: params.PrivateSubnet3ID ?? '',
      };
      const clusterArgs = ['--stack-name', userClusterStack, '--template', 'existing-vpc', '--bucket', localBucket];
      clusterArgs.push('--region', localRegion, '--poll', '1', '--yes');
      for (const [k, v] of Object.entries(clusterParams)) clusterArgs.push('--param', `${k}=${v}`);
      const made = await timed('user cluster', () => local.runScript('deploy.ts', clusterArgs, (m) => line(`  ${m}`)));
      if (stopping) return interrupted();
      if (made !== 0) {
        keepLogs = true;
        line(`Creating the user's cluster failed (exit ${made}).`);
        return 1;
      }
      // What a user reads with aws eks describe-cluster before launching the entrypoint.
      const eks = new EKSClient({
        region: localRegion,
        endpoint: local.aws.moto.endpoint,
        credentials: local.aws.deployer,
      });
      const cluster = (await eks.send(new DescribeClusterCommand({ name: clusterName }))).cluster!;
      eks.destroy();
      line(
        `  ${clusterName}: ${cluster.accessConfig?.authenticationMode}, security group ${cluster.resourcesVpcConfig?.clusterSecurityGroupId}, VPC ${cluster.resourcesVpcConfig?.vpcId}`,
      );
      params.ClusterSecurityGroupId = cluster.resourcesVpcConfig!.clusterSecurityGroupId!;
      params.ClusterAuthenticationMode = cluster.accessConfig?.authenticationMode ?? 'CONFIG_MAP';
      Object.assign(params, parseKeyValues('--param', values.param));
      // The cluster as the user has it: what the delete must leave.
      userClusterBefore = await local.objectInventory(clusterName);
    }
    heading(`Deploying stack ${stackName} (npm run deploy -- --template ${template})`);
    line(
      `  parameters: ${Object.entries(params)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    const deployArgs = [
      '--stack-name',
      stackName,
      '--template',
      template,
      '--bucket',
      localBucket,
      '--region',
      localRegion,
      '--poll',
      '1',
      '--yes',
    ];
    // An update names only what changes: the other parameters keep their values.
    const updateArgs = [...deployArgs];
    for (const [k, v] of Object.entries(updates)) updateArgs.push('--param', `${k}=${v}`);
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
      for (const l of kubeconfigLines()) line(l);
      for (const [k, v] of Object.entries(local.awsEnv)) line(`  export ${k}=${v}`);
      line('Still running for inspection. Ctrl-C stops every local process.');
      await new Promise<never>(() => {});
    }

    heading(`Deployed: stack ${stackName} ${await local.stackStatus(stackName)}`);
    for (const o of await local.outputs(stackName)) line(`  ${o.OutputKey?.padEnd(28)} ${o.OutputValue}`);
    const cluster = clusterName();
    if (!cluster) {
      keepLogs = true;
      line(`  no EKS cluster of the stack runs (running: ${local.clusterNames().join(', ') || 'none'})`);
      return 1;
    }
    const plane = local.controlPlane(cluster);
    line(`  EKS cluster ${cluster}: its own control plane at ${plane.cluster.server}`);
    const releases = await local.helmReleases(cluster);
    heading('Helm releases (helm list -A)');
    const standIn = (chart: string) =>
      local.charts.standInsServed().some((w) => `${w.chart}-${w.version}` === chart)
        ? `  [STAND-IN chart, not the real ${chart}: ${realChartsHint}]`
        : '';
    for (const r of releases)
      line(`  release installed: ${r.name} (namespace ${r.namespace}) ${r.chart} ${r.status}${standIn(r.chart)}`);
    if (!releases.length) line('  (none)');
    heading('Nodes (kubectl get nodes -L kubecfn.io/partition)');
    line(
      indent(
        await local.kubectl(['get', 'nodes', '-L', 'kubecfn.io/partition,eks.amazonaws.com/capacityType'], cluster),
      ),
    );
    heading('Workloads (kubectl get deploy,sts,svc,pvc -A)');
    line(
      indent(
        await local.kubectl(
          [
            'get',
            'deployments,statefulsets,services,persistentvolumeclaims',
            '--all-namespaces',
            '--field-selector=metadata.namespace!=default',
          ],
          cluster,
        ),
      ),
    );
    heading('Use it');
    for (const l of kubeconfigLines()) line(l);
    for (const [k, v] of Object.entries(local.awsEnv)) line(`  export ${k}=${v}`);
    line(`  then: kubectl get pods -A; aws cloudformation describe-stacks --stack-name ${stackName};`);
    line(`        npm run deploy -- --stack-name ${stackName} --template ${template} --param KEY=VALUE   (an update)`);
    line(`  provider logs: ${local.lambdaLogPath}`);
    line(timingLine());

    let afterDeployFailed = false;
    if (values['after-deploy']) {
      heading(`After deploy: ${values['after-deploy']}`);
      const env = {
        ...process.env,
        ...local.awsEnv,
        KUBECONFIG: local.controlPlane(cluster).cluster.kubeconfigPath,
        KUBECFN_STACK_NAME: stackName,
        PATH: `${dirname(await ensureKubectl())}:${process.env.PATH ?? ''}`,
      };
      const code = await timed('after-deploy', () => runShell(values['after-deploy']!, env, (m) => line(`  ${m}`)));
      if (stopping) return interrupted();
      line(`  after-deploy: exit ${code}`);
      afterDeployFailed = code !== 0;
    }

    if (Object.keys(updates).length) {
      heading(
        `Updating stack ${stackName}: ${Object.entries(updates)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')} (npm run deploy, the other parameters kept)`,
      );
      const updated = await timed('update', () => local.runScript('deploy.ts', updateArgs, (m) => line(`  ${m}`)));
      if (stopping) return interrupted();
      line(`  update: exit ${updated}, stack ${await local.stackStatus(stackName)}`);
      for (const r of await local.helmReleases(cluster))
        line(
          `  release after the update: ${r.name} (namespace ${r.namespace}) ${r.chart} ${r.status}${standIn(r.chart)}`,
        );
      if (updated !== 0) {
        keepLogs = true;
        if (values.once) return 1;
      }
      line(timingLine());
    }

    if (!values.once) {
      line();
      line('Running. Ctrl-C stops every local process.');
      await new Promise<never>(() => {});
    }

    heading(`Deleting stack ${stackName} (npm run destroy)`);
    const destroyed = await timed('destroy', () =>
      local.runScript('destroy.ts', ['--stack-name', stackName, '--region', localRegion, '--poll', '1', '--yes'], (m) =>
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
    // existing-cluster: the user's cluster outlives the entrypoint; what it holds now is compared
    // with what it held before the entrypoint went in. Otherwise the cluster's control plane stopped
    // with DeleteCluster: what it held then is what the stack's delete left in it (compared with what
    // it held when its control plane came up).
    const survivor = userClusterBefore
      ? {
          releases: await local.helmReleases(cluster),
          created: { objects: userClusterBefore },
          deleted: { objects: await local.objectInventory(cluster) },
        }
      : undefined;
    const gone = survivor ?? local.deletedCluster(cluster);
    const stillRunning = !survivor && local.clusterNames().includes(cluster);
    if (!gone || stillRunning) {
      keepLogs = true;
      line(
        stillRunning
          ? `  EKS cluster ${cluster} still runs after the delete: the stack did not delete it`
          : `  EKS cluster ${cluster}: no record of its deletion`,
      );
      return 1;
    }
    line(
      survivor
        ? `  EKS cluster ${cluster} (the user's) still runs, as it should: compared with before the entrypoint went in`
        : `  EKS cluster ${cluster} deleted: its control plane stopped; compared at its deletion with its start`,
    );
    const left = gone.releases;
    line(`  releases after delete: ${left.length ? left.map((r) => `${r.name} (${r.namespace})`).join(', ') : 'none'}`);
    const before = gone.created.objects;
    const after = gone.deleted.objects;
    const added = [...after].filter((o) => !before.has(o)).sort();
    const removed = [...before].filter((o) => !after.has(o)).sort();
    // A chart's crds/ are deleted by the HelmProvider that installed them (RetainCrds false): a CRD
    // left here is left behind like any other object.
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
    if (template === 'existing-cluster') {
      // The user's cluster outlived what the entrypoint added, as it should; now it goes too.
      const clusterStatus = await timed('user cluster delete', () => local.deleteStack(userClusterStack, 900_000));
      line(`  the user's cluster stack ${userClusterStack}: ${clusterStatus}`);
      if (clusterStatus !== 'DELETE_COMPLETE') keepLogs = true;
    }
    if (template === 'existing-vpc' || template === 'existing-cluster') {
      // The user's VPC outlived the Quick Start, as it should; now it goes too.
      const vpcStatus = await timed('user VPC delete', () => local.deleteStack(userVpcStack));
      line(`  the user's VPC stack ${userVpcStack}: ${vpcStatus}`);
      if (vpcStatus !== 'DELETE_COMPLETE') keepLogs = true;
    }
    const standIns = local.charts.standInsServed();
    if (standIns.length)
      line(
        `  stand-in charts were installed for ${standIns.map((w) => `${w.chart}-${w.version}`).join(', ')}: ${realChartsHint}`,
      );
    line(timingLine());
    if (afterDeployFailed) keepLogs = true;
    return clean && !keepLogs ? 0 : 1;
  } catch (err) {
    keepLogs = true;
    throw err;
  } finally {
    // What the fault switches (KUBECFN_CHAOS_*, KUBECFN_LAMBDA_DUPLICATE_ASYNC) injected in this run.
    const injected = local.injectedLine();
    if (injected) line(injected);
    await stop();
    if (keepLogs) line(`Logs kept in ${local.dir}`);
  }
}

/** Runs `command` with sh, its output shown line by line as it comes; resolves with its exit code. */
function runShell(command: string, env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<number> {
  return new Promise((ok, fail) => {
    const child = spawn('sh', ['-c', command], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const l of lines) print(l);
      });
      stream.on('end', () => buffered && print(buffered));
    }
    child.on('error', fail);
    child.on('close', (code, signal) => ok(code ?? (signal ? 128 : 1)));
  });
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

runMain(usage, main);
