// npm run test:taskcat [-- TEST ...] [--dir DIR] [--charts-dir DIR]
//
// `taskcat test run` of the project's .taskcat.yml against the local cloud instead of an AWS account.
// The configuration is staged unchanged (scripts/dev/stage-taskcat.ts); what makes taskcat talk to the
// local cloud is its environment only: boto3 honours AWS_ENDPOINT_URL, and the deployer's keys are the
// credentials of the default profile. Each test gets a local cloud of its own (its own control plane,
// moto server and Lambda service, in the test's Region), so no two tests' stacks share a cluster; the
// tests run one after the other. taskcat then does all it does in AWS: it creates its bucket, uploads
// the staged project, generates the $[taskcat_*] values (zones from DescribeAvailabilityZones, SSM
// parameters), creates the stack, follows its events, deletes it and writes taskcat_outputs/.
//
// What a test needs that a user prepares once in an account is prepared here the same way: the
// existing-VPC test's VPC is a stack of submodules/vpc whose outputs are written to the SSM
// parameters .taskcat.yml names (docs/deployment-guide.md, "Testing with taskcat"); the
// existing-cluster test's cluster is the existing-VPC entrypoint with its add-ons off in such a VPC,
// its settings written from eks:DescribeCluster, as the guide's commands do.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStacksCommand,
  type StackSummary,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { parseCommandLine, runMain, UsageError } from '../lib/args';
import { repoRoot } from '../dev/paths.cjs';
import { defaultStageDir, stageTaskcat } from '../dev/stage-taskcat';
import { defaultChartsDir, missingCharts } from '../dev/charts-pull';
import { ensureHelm } from '../dev/binaries';
import { startChartMirror } from './aws/chart-mirror';
import { LocalDeployment, userClusterParameters } from './deployment';

const usage = `Usage: npm run test:taskcat [-- TEST ...] [options]

Runs \`taskcat test run\` of .taskcat.yml against the local cloud, one test at a time, each in a local
cloud of its own (control plane, AWS, Lambda) in the test's Region. Every test of .taskcat.yml unless
TEST names some. Build first: npm run build.

Options:
  --dir DIR          where the project is staged and taskcat runs (default ${defaultStageDir()});
                     the reports are DIR/taskcat_outputs/<test>/
  --charts-dir DIR   real Helm charts (<chart>-<version>.tgz); default $KUBECFN_CHARTS_DIR, else
                     ~/.cache/kubecfn/charts with stand-ins for what is missing there
  -h, --help         show this help`;

/**
 * What taskcat fetches from the web besides AWS: the stylesheet its report embeds, read from GitHub
 * each time it writes index.html (a report fails without it). The local cloud answers that URL with
 * a stylesheet of its own: the report's content is taskcat's, only its look differs.
 */
export const taskcatWebFiles: Record<string, { contentType: string; body: string }> = {
  'https://raw.githubusercontent.com/aws-ia/taskcat/main/assets/css/taskcat_reporting.css': {
    contentType: 'text/css',
    body: [
      "/* kubecfn local cloud: stand-in for taskcat's report stylesheet (no network here). */",
      'body { font-family: sans-serif; margin: 2em; }',
      'table { border-collapse: collapse; width: 100%; }',
      'th, td { border-bottom: 1px solid #ccc; padding: 0.4em; text-align: left; }',
      '.test-green { color: #1a7f37; font-weight: bold; }',
      '.test-red { color: #cf222e; font-weight: bold; }',
      '',
    ].join('\n'),
  },
};

/** Where taskcat writes its reports, under the stage directory (one folder per test). */
export const outputsDirName = 'taskcat_outputs';

/** A test of .taskcat.yml as this script runs it. */
export interface TaskcatTest {
  name: string;
  region: string;
  template: string;
  /** SSM parameter names the test's $[taskcat_ssm_...] values read. */
  ssmParameters: string[];
}

/** The tests of a .taskcat.yml, each with the one Region it runs in here (its first). */
export function taskcatTests(configText: string): TaskcatTest[] {
  const config = parse(configText) as {
    project: { regions?: string[]; template: string; parameters?: Record<string, unknown> };
    tests: Record<string, { regions?: string[]; template?: string; parameters?: Record<string, unknown> }>;
  };
  return Object.entries(config.tests).map(([name, test]) => {
    const region = test.regions?.[0] ?? config.project.regions?.[0];
    if (!region) throw new Error(`.taskcat.yml: test ${name} has no Region (tests.${name}.regions)`);
    const values = Object.values({ ...config.project.parameters, ...test.parameters }).map(String);
    const ssmParameters = values.flatMap((v) => [...v.matchAll(/\$\[taskcat_ssm_([^\]]+)\]/g)].map((m) => m[1]!));
    return { name, region, template: test.template ?? config.project.template, ssmParameters };
  });
}

/** What one test's taskcat report says about its stack. */
export interface ReportVerdict {
  stackName?: string;
  /** The status index.html gives the test's stack. */
  reportStatus?: string;
  /** The root stack's CREATE_COMPLETE event is in the events file. */
  created: boolean;
  /** How many stacks (root and nested) the events file has blocks for. */
  stacks: number;
  /** Events of any stack in the file that ended *_FAILED. */
  failedEvents: string[];
}

/**
 * Reads taskcat's report for one test: index.html (the test's row: stack name and status) and the
 * `<stack>-<region>-cfnlogs.txt` it links (the root stack's events, then each nested stack's).
 * taskcat writes both once the stacks are created, before it deletes them: the delete shows in its
 * exit status (it fails when a stack ends DELETE_FAILED) and in {@link afterDeleteFile}.
 */
export function readTaskcatReport(outputsDir: string, test: string): ReportVerdict {
  const index = join(outputsDir, 'index.html');
  const verdict: ReportVerdict = { created: false, stacks: 0, failedEvents: [] };
  if (!existsSync(index)) return verdict;
  const html = readFileSync(index, 'utf8');
  const row = new RegExp(
    `<h3>\\s*${test}\\s*</h3>[\\s\\S]*?<td class="?text-left"?>\\s*([\\w-]+)\\s*</td>\\s*<td class="?text-left"?>\\s*([\\w-]+)\\s*</td>\\s*<td class="?test-\\w+"?>\\s*([A-Z_]+)`,
  ).exec(html);
  if (!row) return verdict;
  const [, region, stackName, status] = row;
  verdict.stackName = stackName;
  verdict.reportStatus = status;
  const logs = join(outputsDir, `${stackName}-${region}-cfnlogs.txt`);
  if (!existsSync(logs)) return verdict;
  const text = readFileSync(logs, 'utf8');
  // The first block is the root stack's: its events, newest first, one per line.
  const root = text.split(/\n-{20,}\n\n/)[0] ?? '';
  const rootEvent = (status: string) =>
    new RegExp(`\\s${status}\\s+AWS::CloudFormation::Stack\\s+${stackName}\\b`).test(root);
  verdict.created = rootEvent('CREATE_COMPLETE');
  // taskcat writes a nested stack's block once per ancestor that lists it: count each stack once.
  verdict.stacks = new Set([...text.matchAll(/^StackName: (\S+)/gm)].map((m) => m[1])).size;
  verdict.failedEvents = text
    .split('\n')
    .filter((l) => /\s[A-Z_]+_FAILED\s/.test(l))
    .map((l) => l.trim().replace(/\s+/g, ' '));
  return verdict;
}

/** One test's outcome. */
export interface TestResult {
  test: string;
  region: string;
  exitCode: number;
  /** Seconds `taskcat test run` took (upload, parameters, create, delete, report). */
  taskcatSeconds: number;
  /** Seconds the local cloud took to start, and the prerequisites (existing-VPC stack, SSM) to be made. */
  setupSeconds: number;
  verdict: ReportVerdict;
  /** The test's stacks (root and nested) after taskcat ended, as `name status` (ListStacks). */
  afterDelete: string[];
  /** The root stack and every nested stack ended DELETE_COMPLETE, and no other stack is left. */
  deleted: boolean;
  /** Stacks still there after taskcat ended (besides the prerequisite ones this script made). */
  leftStacks: string[];
  logsDir?: string;
  /** What stopped the test before taskcat could judge it (the local cloud, a prerequisite). */
  error?: string;
}

const prereqBucket = 'kubecfn-taskcat-prerequisites';
const prereqPrefix = 'kubecfn/';
const vpcStackName = 'kubecfn-taskcat-existing-vpc';
/** The SSM folder .taskcat.yml reads the existing VPC from; each parameter is named for a VPC stack output. */
const existingVpcSsmPrefix = '/kubecfn/taskcat/existing-vpc/';
/** The SSM folder .taskcat.yml reads the existing cluster from; each parameter is named for a setting. */
const existingClusterSsmPrefix = '/kubecfn/taskcat/existing-cluster/';
/** The stack of the cluster the existing-cluster test goes into (its nested stacks start with this name). */
const clusterStackName = 'kubecfn-taskcat-existing-cluster';
const prerequisiteClusterName = 'kubecfn-taskcat-cluster';
/** The stacks this script made before taskcat ran: neither the test's nor left by it. */
const isPrerequisiteStack = (name: string | undefined) =>
  name === vpcStackName || name === clusterStackName || !!name?.startsWith(`${clusterStackName}-`);
/** What the GitLab runner test's token parameter holds locally (no GitLab is reached). */
const localRunnerToken = 'glrt-local-taskcat-token';

/** Runs a Python snippet of the taskcat venv's boto3 against the local cloud. */
function boto3(env: Record<string, string>, code: string, input: string): void {
  const python = join(repoRoot, '.venv', 'taskcat', 'bin', 'python');
  const r = spawnSync(python, ['-c', code], { env: { ...process.env, ...env }, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`boto3 against the local cloud failed: ${r.stderr.trim()}`);
}

/** Writes SSM String parameters (name → value) into the local cloud. */
function putSsmParameters(env: Record<string, string>, values: Record<string, string>): void {
  boto3(
    env,
    `import json, sys, boto3
ssm = boto3.client("ssm")
for name, value in json.load(sys.stdin).items():
    ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)`,
    JSON.stringify(values),
  );
}

/**
 * What the test reads from SSM, made as a user makes it once in an account: the existing VPC from a
 * stack of submodules/vpc (two zones), its outputs copied to the parameters; the GitLab runner token
 * as a placeholder.
 */
async function preparePrerequisites(
  local: LocalDeployment,
  test: TaskcatTest,
  stageDir: string,
  print: (line: string) => void,
): Promise<void> {
  if (!test.ssmParameters.length) return;
  const env = { ...local.awsEnv, AWS_REGION: test.region, AWS_DEFAULT_REGION: test.region };
  const values: Record<string, string> = {};
  const vpcParams = test.ssmParameters.filter((p) => p.startsWith(existingVpcSsmPrefix));
  const clusterParams = test.ssmParameters.filter((p) => p.startsWith(existingClusterSsmPrefix));
  if (vpcParams.length || clusterParams.length) {
    const clientConfig = { region: test.region, endpoint: local.aws.moto.endpoint, credentials: local.aws.deployer };
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const cfn = new CloudFormationClient(clientConfig);
    try {
      await s3.send(
        new CreateBucketCommand({
          Bucket: prereqBucket,
          ...(test.region === 'us-east-1'
            ? {}
            : { CreateBucketConfiguration: { LocationConstraint: test.region as 'us-west-2' } }),
        }),
      );
      const key = 'submodules/vpc/templates/vpc.template.yaml';
      await s3.send(
        new PutObjectCommand({
          Bucket: prereqBucket,
          Key: `${prereqPrefix}${key}`,
          Body: readFileSync(join(stageDir, key)),
        }),
      );
      await cfn.send(
        new CreateStackCommand({
          StackName: vpcStackName,
          TemplateURL: `https://${prereqBucket}.s3.${test.region}.amazonaws.com/${prereqPrefix}${key}`,
          Parameters: [
            { ParameterKey: 'AvailabilityZones', ParameterValue: `${test.region}a,${test.region}b` },
            { ParameterKey: 'NumberOfAZs', ParameterValue: '2' },
            { ParameterKey: 'NATGateways', ParameterValue: 'Single' },
          ],
        }),
      );
      const stack = await waitForStack(cfn, vpcStackName, 300_000);
      if (stack.status !== 'CREATE_COMPLETE')
        throw new Error(`the existing-VPC prerequisite stack ${vpcStackName} ended ${stack.status}`);
      for (const name of vpcParams) {
        const output = name.slice(existingVpcSsmPrefix.length);
        const value = stack.outputs[output];
        if (value === undefined)
          throw new Error(`${vpcStackName} has no output ${output} for the SSM parameter ${name}`);
        values[name] = value;
      }
      if (clusterParams.length) {
        const cluster = await makeUserCluster(local, test.region, stack.outputs, print);
        for (const name of clusterParams) {
          const value = cluster[name.slice(existingClusterSsmPrefix.length)];
          if (value === undefined)
            throw new Error(`the prerequisite cluster has no setting for the SSM parameter ${name}`);
          values[name] = value;
        }
      }
    } finally {
      s3.destroy();
      cfn.destroy();
    }
  }
  for (const name of test.ssmParameters) if (name.endsWith('/gitlab-runner-token')) values[name] = localRunnerToken;
  const unknown = test.ssmParameters.filter((p) => !(p in values));
  if (unknown.length)
    throw new Error(`no local value for the SSM parameter(s) ${unknown.join(', ')} of test ${test.name}`);
  putSsmParameters(env, values);
}

/**
 * The cluster a user has before launching the existing-cluster entrypoint: the existing-VPC
 * entrypoint with its system partition and the core EKS add-ons, nothing else (as `npm start --
 * --template existing-cluster` makes it), in the prerequisite VPC; then its settings as
 * `aws eks describe-cluster` gives them.
 */
async function makeUserCluster(
  local: LocalDeployment,
  region: string,
  vpc: Record<string, string>,
  print: (line: string) => void,
): Promise<Record<string, string>> {
  const indent = (l: string) => print(`  ${l}`);
  const uploaded = await local.runScript('upload.ts', ['--bucket', prereqBucket, '--region', region], indent);
  if (uploaded !== 0) throw new Error(`npm run upload to ${prereqBucket} failed (exit ${uploaded})`);
  const parameters = {
    ...userClusterParameters,
    ClusterName: prerequisiteClusterName,
    VPCID: vpc.VPCID ?? '',
    VPCCIDR: vpc.VPCCIDR ?? '',
    PrivateSubnet1ID: vpc.PrivateSubnet1ID ?? '',
    PrivateSubnet2ID: vpc.PrivateSubnet2ID ?? '',
  };
  const args = ['--stack-name', clusterStackName, '--template', 'existing-vpc', '--bucket', prereqBucket];
  args.push('--region', region, '--poll', '1', '--yes');
  for (const [k, v] of Object.entries(parameters)) args.push('--param', `${k}=${v}`);
  const made = await local.runScript('deploy.ts', args, indent);
  if (made !== 0)
    throw new Error(`the existing-cluster prerequisite stack ${clusterStackName} failed (npm run deploy exit ${made})`);
  const eks = new EKSClient({ region, endpoint: local.aws.moto.endpoint, credentials: local.aws.deployer });
  try {
    const cluster = (await eks.send(new DescribeClusterCommand({ name: prerequisiteClusterName }))).cluster;
    const config = cluster?.resourcesVpcConfig;
    if (!cluster?.name || !config?.clusterSecurityGroupId || !config.vpcId)
      throw new Error(`DescribeCluster of ${prerequisiteClusterName} gave no name, cluster security group or VPC`);
    const subnets = config.subnetIds ?? [];
    return {
      ClusterName: cluster.name,
      ClusterSecurityGroupId: config.clusterSecurityGroupId,
      VPCID: config.vpcId,
      VPCCIDR: parameters.VPCCIDR,
      PrivateSubnet1ID: subnets[0] ?? parameters.PrivateSubnet1ID,
      PrivateSubnet2ID: subnets[1] ?? parameters.PrivateSubnet2ID,
    };
  } finally {
    eks.destroy();
  }
}

async function waitForStack(
  cfn: CloudFormationClient,
  stackName: string,
  timeoutMs: number,
): Promise<{ status: string; outputs: Record<string, string> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    const status = stack?.StackStatus ?? 'UNKNOWN';
    if (!status.endsWith('_IN_PROGRESS') || Date.now() > deadline) {
      const outputs: Record<string, string> = {};
      for (const o of stack?.Outputs ?? []) if (o.OutputKey) outputs[o.OutputKey] = o.OutputValue ?? '';
      return { status, outputs };
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** The file, beside taskcat's report, where this script records the stacks after taskcat's delete. */
export const afterDeleteFile = 'local-cloud-after-delete.txt';

/**
 * Every stack of the local cloud after taskcat ended, the prerequisite VPC's aside: the test's own
 * (its root and the nested stacks named after it) and any other left.
 */
async function stacksAfter(
  local: LocalDeployment,
  region: string,
  root: string | undefined,
): Promise<{ own: string[]; left: string[]; prerequisites: string[] }> {
  const cfn = new CloudFormationClient({ region, endpoint: local.aws.moto.endpoint, credentials: local.aws.deployer });
  try {
    const summaries: StackSummary[] = [];
    let token: string | undefined;
    do {
      const page = await cfn.send(new ListStacksCommand(token ? { NextToken: token } : {}));
      summaries.push(...(page.StackSummaries ?? []));
      token = page.NextToken;
    } while (token);
    const line = (s: (typeof summaries)[number]) => `${s.StackName} ${s.StackStatus}`;
    const others = summaries.filter((s) => !isPrerequisiteStack(s.StackName));
    return {
      own: others.filter((s) => root && s.StackName?.startsWith(root)).map(line),
      left: others.filter((s) => s.StackStatus !== 'DELETE_COMPLETE').map(line),
      // The user's VPC and cluster outlive the test, as they do in an account.
      prerequisites: summaries.filter((s) => isPrerequisiteStack(s.StackName)).map(line),
    };
  } finally {
    cfn.destroy();
  }
}

/** Runs taskcat in `cwd` with output relayed line by line; resolves with its exit code. */
function runTaskcat(args: string[], cwd: string, env: Record<string, string>, print: (l: string) => void) {
  const taskcat = join(repoRoot, '.venv', 'taskcat', 'bin', 'taskcat');
  return new Promise<number>((ok, fail) => {
    const child = spawn(taskcat, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The environment taskcat runs with: no AWS settings of the user's, the local endpoint and keys. */
function taskcatEnv(
  local: LocalDeployment,
  region: string,
  home: string,
  web: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    ...local.awsEnv,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // Profiles of the user's own ~/.aws would otherwise be read (and a default profile's keys win).
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
    // The web taskcat fetches from (its report's stylesheet), through the local stand-in; requests
    // reads its CA bundle from REQUESTS_CA_BUNDLE. The local endpoint is in NO_PROXY.
    ...web,
    ...(web.SSL_CERT_FILE ? { REQUESTS_CA_BUNDLE: web.SSL_CERT_FILE } : {}),
    FORCE_COLOR: '0',
  };
}

/** Runs one test in a local cloud of its own. */
async function runOne(
  test: TaskcatTest,
  stageDir: string,
  charts: { chartsDir: string; standIns: boolean },
  web: Record<string, string>,
  print: (l: string) => void,
): Promise<TestResult> {
  const t0 = Date.now();
  print(`== ${test.name} (${test.region}): starting a local cloud of its own`);
  const failed = (err: unknown, logsDir?: string): TestResult => ({
    test: test.name,
    region: test.region,
    exitCode: -1,
    taskcatSeconds: 0,
    setupSeconds: (Date.now() - t0) / 1000,
    verdict: { created: false, stacks: 0, failedEvents: [] },
    afterDelete: [],
    deleted: false,
    leftStacks: [],
    error: (err as Error).message,
    ...(logsDir ? { logsDir } : {}),
  });
  let local: LocalDeployment;
  try {
    local = await LocalDeployment.start((l) => print(`  ${l}`), { ...charts, region: test.region });
  } catch (err) {
    return failed(err);
  }
  let ok = false;
  try {
    try {
      await preparePrerequisites(local, test, stageDir, print);
    } catch (err) {
      return failed(err, local.dir);
    }
    const setupSeconds = (Date.now() - t0) / 1000;
    const outputs = join(stageDir, outputsDirName, test.name);
    rmSync(outputs, { recursive: true, force: true });
    mkdirSync(outputs, { recursive: true });
    const home = join(local.dir, 'taskcat-home');
    mkdirSync(home, { recursive: true });
    const args = ['test', 'run', '--test-names', test.name, '--output-directory', outputs];
    print(`== ${test.name}: $ taskcat ${args.join(' ')}   (AWS_ENDPOINT_URL=${local.aws.moto.endpoint})`);
    const t1 = Date.now();
    const exitCode = await runTaskcat(args, stageDir, taskcatEnv(local, test.region, home, web), (l) =>
      print(`  ${l}`),
    );
    const taskcatSeconds = (Date.now() - t1) / 1000;
    const verdict = readTaskcatReport(outputs, test.name);
    const after = await stacksAfter(local, test.region, verdict.stackName);
    const deleted =
      after.own.length > 0 &&
      after.own.length >= verdict.stacks &&
      after.own.every((s) => s.endsWith(' DELETE_COMPLETE')) &&
      after.left.length === 0 &&
      after.prerequisites.every((s) => / (CREATE|UPDATE)_COMPLETE$/.test(s));
    writeFileSync(
      join(outputs, afterDeleteFile),
      `# Written by npm run test:taskcat (not by taskcat) after taskcat ended: ListStacks of the local cloud.\n` +
        `# taskcat writes index.html and the events files before it deletes the stacks.\n` +
        `taskcat exit status: ${exitCode}\n` +
        `${after.own.join('\n')}\n` +
        after.prerequisites.map((p) => `prerequisite: ${p}\n`).join('') +
        (after.left.length ? `left:\n${after.left.join('\n')}\n` : ''),
    );
    ok = exitCode === 0 && verdict.created && deleted;
    return {
      test: test.name,
      region: test.region,
      exitCode,
      taskcatSeconds,
      setupSeconds,
      verdict,
      afterDelete: after.own,
      deleted,
      leftStacks: after.left,
      ...(ok ? {} : { logsDir: local.dir }),
    };
  } finally {
    await local.stop({ keepLogs: !ok });
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseTestNames(process.argv.slice(2));
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const tests = taskcatTests(readFileSync(join(repoRoot, '.taskcat.yml'), 'utf8'));
  const unknown = positionals.filter((n) => !tests.some((t) => t.name === n));
  if (unknown.length)
    throw new UsageError(
      `no test ${unknown.join(', ')} in .taskcat.yml (it has ${tests.map((t) => t.name).join(', ')})`,
    );
  const selected = positionals.length ? tests.filter((t) => positionals.includes(t.name)) : tests;
  if (!existsSync(join(repoRoot, '.venv', 'taskcat', 'bin', 'taskcat')))
    throw new Error('.venv/taskcat is missing: run `node scripts/dev/bootstrap.mjs` to create it');

  const fromEnv = defaultChartsDir();
  const chartsDir = values['charts-dir'] ? resolve(values['charts-dir']) : fromEnv.dir;
  const strict = Boolean(values['charts-dir']) || fromEnv.explicit;
  const missing = missingCharts(chartsDir).map((c) => `${c.chart}-${c.version}`);
  if (missing.length)
    console.log(
      strict
        ? `charts missing from ${chartsDir}: ${missing.join(', ')} (their releases fail)`
        : `charts missing from ${chartsDir}: ${missing.join(', ')}; stand-ins are served for them (npm run charts:pull)`,
    );

  const stageDir = resolve(values.dir ?? defaultStageDir());
  const staged = stageTaskcat(repoRoot, stageDir);
  console.log(`staged ${staged.files.length} files in ${staged.dir}; .taskcat.yml unchanged`);

  const webDir = mkdtempSync(join(tmpdir(), 'kubecfn-taskcat-web-'));
  const web = await startChartMirror({
    dir: webDir,
    helm: await ensureHelm(),
    standIns: false,
    files: taskcatWebFiles,
  });
  const results: TestResult[] = [];
  try {
    for (const test of selected) {
      const charts = { chartsDir, standIns: !strict && missing.length > 0 };
      results.push(await runOne(test, staged.dir, charts, web.clientEnv, (l) => console.log(l)));
    }
  } finally {
    await web.stop();
    rmSync(webDir, { recursive: true, force: true });
  }

  console.log('\n== taskcat against the local cloud');
  let failed = 0;
  for (const r of results) {
    const v = r.verdict;
    const pass = r.exitCode === 0 && v.created && r.deleted;
    if (!pass) failed++;
    console.log(
      `  ${pass ? 'PASS' : 'FAIL'} ${r.test} (${r.region}) stack ${v.stackName ?? '-'}: report ${v.reportStatus ?? 'missing'}, ` +
        `create ${v.created ? 'CREATE_COMPLETE' : 'not complete'}, delete ${r.deleted ? `DELETE_COMPLETE (${r.afterDelete.length} stacks)` : 'not complete'}; ` +
        `taskcat ${r.taskcatSeconds.toFixed(1)} s (local cloud and prerequisites ${r.setupSeconds.toFixed(1)} s)`,
    );
    if (r.error) console.log(`    not run: ${r.error}`);
    else if (r.exitCode !== 0) console.log(`    taskcat exited ${r.exitCode}`);
    for (const e of v.failedEvents.slice(0, 10)) console.log(`    failed event: ${e}`);
    for (const s of r.leftStacks) console.log(`    left behind: ${s}`);
    if (r.logsDir) console.log(`    local cloud logs kept in ${r.logsDir}`);
  }
  console.log(`  reports: ${join(staged.dir, outputsDirName)}/<test>/index.html`);
  return failed ? 1 : 0;
}

/** The command line: test names, then --dir / --charts-dir (or flags first). */
function parseTestNames(argv: string[]) {
  const positionals = argv.filter(
    (a, i) => !a.startsWith('-') && !(i > 0 && /^--(dir|charts-dir)$/.test(argv[i - 1]!)),
  );
  const flags = argv.filter((a) => !positionals.includes(a));
  const { values } = parseCommandLine(flags, { dir: { type: 'string' }, 'charts-dir': { type: 'string' } });
  return { values, positionals };
}

if (require.main === module) runMain(usage, main);
