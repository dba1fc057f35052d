// The embedded local deployment behind `npm start`: moto server with kubecfn's CloudFormation engine
// standing for AWS, a local control plane for each EKS cluster a stack creates (started at
// CreateCluster, stopped at DeleteCluster), and the local Lambda service running the built provider
// packages. Then the user's own path: `npm run publish` to the local S3, `npm run deploy` (live
// progress) to the local CloudFormation, `npm run destroy`.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../dev/paths.cjs';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  type Output,
} from '@aws-sdk/client-cloudformation';
import { ensureHelm, ensureKubectl } from '../dev/binaries';
import { startLocalCluster, type LocalCluster } from './cluster/cluster';
import { ensureKubernetesBinaries, kubernetesVersion } from './cluster/k8s/build';
import {
  keyText,
  startControlPlaneService,
  type ControlPlane,
  type ControlPlaneKey,
  type ControlPlaneService,
} from './cluster/control-planes';
import { controllersCaughtUp, takeInventory, takeSettledInventory, type ClusterInventory } from './cluster/inventory';
import { LocalLambda } from './lambda/runner';
import { iamInvokeAuthorizer } from './lambda/invoke-authorization';
import { motoEnv } from './aws/moto';
import { startEmbeddedAws, type EmbeddedAws } from './aws/embedded-aws';
import { createEksAuthenticator } from './aws/eks-authenticator';
import { startChartMirror, type ChartMirror } from './aws/chart-mirror';
import { loadBalancerControllerWebhooks, startCloudEmulation, type CloudEmulation } from './aws/cloud-emulation';
import { kubeCaller } from './aws/kube-api';
import { startPodNetwork, type PodNetwork } from './aws/pod-network';

const execFileAsync = promisify(execFile);

/** The bucket `npm start` publishes to in the local S3 (any valid name works). */
export const localBucket = 'kubecfn-local-quickstart';
export const localRegion = 'us-east-1';

/** A step's printer: one line per call. */
export type Print = (line: string) => void;

/** Options of {@link LocalDeployment.start}. */
export interface LocalDeploymentOptions {
  /** Directory of real packaged charts the chart mirror serves (see aws/chart-mirror.ts). */
  chartsDir?: string;
  /** Serve generated stand-ins for charts missing from `chartsDir` (default: only without `chartsDir`). */
  standIns?: boolean;
  /** Faults to inject (default: from the environment, {@link chaosFromEnv}). */
  chaos?: LocalChaos;
  /**
   * What the deployer may do: `deploy-policy` gives it only docs/iam/deploy-policy.json and the upload
   * permissions the deployment guide lists besides (so a call the policy misses fails locally, naming its
   * action); `administrator` (the default) everything.
   */
  deployer?: 'deploy-policy' | 'administrator';
  /** The Region the functions run in and load balancer hostnames name (default {@link localRegion}). */
  region?: string;
  /**
   * Delays before Lambda retries a failed asynchronous invocation, in ms (default: from
   * KUBECFN_LAMBDA_RETRY_DELAYS, seconds separated by commas, else Lambda's own, about 1 and 2
   * minutes). Shorter delays make a run under faults quicker; the start says when they are not Lambda's.
   */
  lambdaRetryDelaysMs?: readonly number[];
}

/**
 * The cluster a user already has, for `npm start -- --template existing-cluster` and
 * the existing-cluster taskcat test: the existing-VPC entrypoint with
 * its system partition (labelled kubecfn.io/partition=system) and the core EKS add-ons, nothing else.
 */
export const userClusterParameters: Record<string, string> = {
  EndpointAccess: 'Private',
  ProvisionBastionHost: 'Disabled',
  AgentPartition: 'Disabled',
  LoadBalancerController: 'Disabled',
  EfsStorage: 'Disabled',
  EbsStorage: 'Disabled',
  MetricsServer: 'Disabled',
  ClusterAutoscaler: 'Disabled',
  JenkinsWorkload: 'Disabled',
};

/** Lambda's retry delays from KUBECFN_LAMBDA_RETRY_DELAYS (`10,20`: seconds), or undefined when unset. */
export function retryDelaysFromEnv(env: NodeJS.ProcessEnv = process.env): number[] | undefined {
  const text = env.KUBECFN_LAMBDA_RETRY_DELAYS?.trim();
  if (!text) return undefined;
  const delays = text.split(',').map((d) => Number(d.trim()));
  if (!delays.length || delays.some((d) => !Number.isFinite(d) || d < 0))
    throw new Error(`KUBECFN_LAMBDA_RETRY_DELAYS must be seconds separated by commas (e.g. 10,20), not "${text}"`);
  return delays.map((d) => d * 1000);
}

/**
 * The deployer's policies with `deployer: 'deploy-policy'`: the documented deploy policy, and what the
 * deployment guide says uploading to the bucket needs besides (creating it, for `npm start`'s
 * `--create-bucket`).
 */
export function deployPolicyDeployer(bucket = localBucket): Record<string, unknown> {
  return {
    deploy: JSON.parse(readFileSync(join(repoRoot, 'docs', 'iam', 'deploy-policy.json'), 'utf8')),
    upload: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:CreateBucket', 's3:ListBucket', 's3:GetBucketLocation'],
          Resource: `arn:aws:s3:::${bucket}`,
        },
        { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/*` },
      ],
    },
  };
}

/**
 * Faults the local cloud injects on request, each counted ({@link LocalDeployment.injected}):
 * - `duplicateAsync` (KUBECFN_LAMBDA_DUPLICATE_ASYNC=1): every asynchronous Lambda event delivered twice;
 * - `crashContinuation` (KUBECFN_CHAOS_CRASH_CONTINUATION=1): the first continuation invocation of each
 *   request crashes at its start, and Lambda retries it as a function error;
 * - `responsePut503` (KUBECFN_CHAOS_RESPONSE_503=1): the first PUT of each response URL is answered 503;
 * - `killMidStep` (KUBECFN_CHAOS_KILL_MID_STEP=1): the first invocation of each request to start a step
 *   is killed with SIGKILL 300 ms later; Lambda's retry or the resource's ServiceTimeout takes over.
 * KUBECFN_CHAOS=1 turns all four on.
 */
export interface LocalChaos {
  duplicateAsync?: boolean;
  crashContinuation?: boolean;
  responsePut503?: boolean;
  killMidStep?: boolean;
}

/** The switches of {@link LocalChaos} from the environment. */
export function chaosFromEnv(env: NodeJS.ProcessEnv = process.env): LocalChaos {
  const on = (name: string) => env[name] === '1' || env.KUBECFN_CHAOS === '1';
  return {
    duplicateAsync: on('KUBECFN_LAMBDA_DUPLICATE_ASYNC'),
    crashContinuation: on('KUBECFN_CHAOS_CRASH_CONTINUATION'),
    responsePut503: on('KUBECFN_CHAOS_RESPONSE_503'),
    killMidStep: on('KUBECFN_CHAOS_KILL_MID_STEP'),
  };
}

/** What was injected: counts by switch of {@link LocalChaos} (0 for a switch that is on and never fired). */
export type InjectedFaults = Partial<Record<keyof LocalChaos, number>>;

/** The switches in the order they are printed, with what each does. */
const chaosDescriptions: Array<[keyof LocalChaos, string]> = [
  ['duplicateAsync', 'asynchronous events delivered twice'],
  ['crashContinuation', 'continuations crashed at their start'],
  ['responsePut503', 'first response PUTs answered 503'],
  ['killMidStep', 'provider processes killed mid-step'],
];

/** A Helm release as `helm list` gives it. */
export interface HelmRelease {
  name: string;
  namespace: string;
  chart: string;
  status: string;
}

/** An EKS cluster's control plane in the local cloud, and what runs beside it for that cluster only. */
export interface EksControlPlane extends ControlPlane {
  /** The pod network its API server reaches webhooks and APIServices through (aws/pod-network.ts). */
  podNetwork: PodNetwork;
  /** The AWS Load Balancer Controller's webhook server (aws/cloud-emulation.ts): reviews answered, by path. */
  lbWebhooks: ReturnType<typeof loadBalancerControllerWebhooks>;
  /** Load balancer hostnames, volumes, node leases (aws/cloud-emulation.ts). */
  cloud: CloudEmulation;
  /** What the cluster held once its control plane was up, before any stack object: the baseline. */
  created: ClusterInventory;
}

/** What the local cloud keeps of an EKS cluster after CloudFormation deleted it. */
export interface DeletedCluster {
  key: ControlPlaneKey;
  /** When its control plane was up. */
  created: ClusterInventory;
  /** When the engine deleted the cluster, just before its control plane stopped. */
  deleted: ClusterInventory;
  /** Helm releases left in it then. */
  releases: HelmRelease[];
}

/** Everything that runs for the local deployment. */
export class LocalDeployment {
  /** The faults this deployment injects (see {@link LocalChaos}). */
  chaos: LocalChaos = {};

  /** Scripts running now (publish, deploy, destroy), ended by stop(). */
  private readonly scripts = new Set<ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly aws: EmbeddedAws,
    readonly lambda: LocalLambda,
    readonly charts: ChartMirror,
    /** The EKS clusters' control planes, started and stopped by the engine (cluster/control-planes.ts). */
    readonly controlPlanes: ControlPlaneService<EksControlPlane>,
    private readonly deletedClusters: Map<string, DeletedCluster>,
    private readonly logPoller: NodeJS.Timeout,
  ) {}

  /** Environment for a process that should talk to the local AWS (AWS SDK, AWS CLI, npm run deploy). */
  get awsEnv(): Record<string, string> {
    return {
      ...motoEnv(this.aws.moto.endpoint),
      AWS_ACCESS_KEY_ID: this.aws.deployer.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.aws.deployer.secretAccessKey,
    };
  }

  /** How many faults of each switch that is on were injected so far (the engine's from its `chaos.json`). */
  injected(): InjectedFaults {
    const out: InjectedFaults = {};
    if (this.chaos.duplicateAsync) out.duplicateAsync = this.lambda.injected.duplicateDeliveries;
    if (this.chaos.crashContinuation) out.crashContinuation = this.lambda.injected.crashedContinuations;
    if (this.chaos.killMidStep) out.killMidStep = this.lambda.injected.killedMidStep;
    if (this.chaos.responsePut503) {
      const file = join(this.dir, 'chaos.json');
      const counts = existsSync(file)
        ? ((JSON.parse(readFileSync(file, 'utf8')) as { injected?: Record<string, number> }).injected ?? {})
        : {};
      out.responsePut503 = counts.responsePut503 ?? 0;
    }
    return out;
  }

  /** One line saying what was injected, or undefined when no fault is on. */
  injectedLine(): string | undefined {
    const counts = this.injected();
    const parts = chaosDescriptions.filter(([k]) => counts[k] !== undefined).map(([k, d]) => `${d}: ${counts[k]}`);
    return parts.length ? `Faults injected: ${parts.join('; ')}` : undefined;
  }

  /** The file every provider invocation's log lines are appended to. */
  get lambdaLogPath(): string {
    return join(this.dir, 'lambda.log');
  }

  /** Names of the EKS clusters whose control planes run now. */
  clusterNames(): string[] {
    return this.controlPlanes
      .running()
      .map((p) => p.key.name)
      .sort();
  }

  /**
   * The control plane of the EKS cluster `name` (any account and region), or of the only cluster
   * running when `name` is left out. Throws when there is no such cluster, or several and no name.
   */
  controlPlane(name?: string): EksControlPlane {
    const running = this.controlPlanes.running();
    const found = name === undefined ? running : running.filter((p) => p.key.name === name);
    if (found.length === 1) return found[0]!;
    const which = running.map((p) => keyText(p.key)).join(', ') || 'none';
    if (name === undefined)
      throw new Error(
        found.length
          ? `several EKS clusters run in the local cloud (${which}): name one`
          : 'no EKS cluster runs in the local cloud',
      );
    throw new Error(
      `EKS cluster ${name} has ${found.length ? 'several control planes (one per region)' : 'no running control plane'} in the local cloud (running: ${which})`,
    );
  }

  /** The control plane of the only running EKS cluster (see {@link controlPlane}). */
  get cluster(): LocalCluster {
    return this.controlPlane().cluster;
  }

  /** The pod network of the only running EKS cluster, if exactly one runs. */
  get podNetwork(): PodNetwork | undefined {
    return this.onlyPlane()?.podNetwork;
  }

  /** The load balancer controller's webhook server of the only running EKS cluster, if exactly one runs. */
  get lbWebhooks(): ReturnType<typeof loadBalancerControllerWebhooks> | undefined {
    return this.onlyPlane()?.lbWebhooks;
  }

  private onlyPlane(): EksControlPlane | undefined {
    const running = this.controlPlanes.running();
    return running.length === 1 ? running[0] : undefined;
  }

  /** What the local cloud kept of the EKS cluster `name` when CloudFormation deleted it (the last such). */
  deletedCluster(name: string): DeletedCluster | undefined {
    return this.deletedClusters.get(name);
  }

  /**
   * Starts the local AWS, the local Lambda service and the service that starts an EKS cluster's
   * control plane when the engine creates one. On failure, whatever started is stopped again.
   */
  static async start(print: Print, opts: LocalDeploymentOptions = {}): Promise<LocalDeployment> {
    const dir = mkdtempSync(join(tmpdir(), 'kubecfn-local-'));
    const stops: Array<() => Promise<unknown>> = [];
    try {
      let t = Date.now();
      print('Starting the local AWS (moto server with the kubecfn CloudFormation engine) ...');
      const awsLog = join(dir, 'aws.log');
      // IAM enforced: the deploy scripts sign as the deployer, each function as its execution role.
      const aws = await startEmbeddedAws({
        dir,
        enforceIam: true,
        ...(opts.deployer === 'deploy-policy' ? { deployerPolicies: deployPolicyDeployer() } : {}),
        onOutput: (chunk) => appendFileSync(awsLog, chunk),
      });
      stops.push(() => aws.stop());
      print(`  AWS APIs at ${aws.moto.endpoint} (${seconds(t)})`);

      t = Date.now();
      // Built now (or found in the cache), so that CreateCluster never waits for a build.
      await ensureKubernetesBinaries({ log: (m) => print(`  ${m}`) });
      const version = kubernetesVersion();
      const eksAccessFile = join(dir, 'eks-access.json');
      const deletedClusters = new Map<string, DeletedCluster>();
      let planeSeq = 0;
      const controlPlanes = await startControlPlaneService<EksControlPlane>({
        start: (key) =>
          startEksControlPlane(key, {
            dir: join(dir, 'clusters', String(++planeSeq)),
            runDir: dir,
            stsVerifyEndpoint: aws.stsVerifyEndpoint,
            eksAccessFile,
          }),
        // The cluster as CloudFormation leaves it: what its stack's delete did not remove.
        beforeStop: async (plane) => {
          const deleted = await takeSettledInventory(plane.cluster);
          if (deleted.settling.length)
            appendFileSync(
              join(dir, 'cloud.log'),
              `[${keyText(plane.key)}] still going at the delete: ${deleted.settling.join(', ')}\n`,
            );
          const releases = await helmList(plane.cluster.kubeconfigPath, dir).catch(() => []);
          deletedClusters.set(plane.key.name, { key: plane.key, created: plane.created, deleted, releases });
        },
        log: (m) => {
          appendFileSync(join(dir, 'cloud.log'), `${m}\n`);
          if (/ready in|failed to start|: stopped in/.test(m)) print(`  [local cloud] ${m}`);
        },
      });
      stops.push(() => controlPlanes.close());
      print(
        `  EKS control planes (Kubernetes ${version}): one per AWS::EKS::Cluster, started when the engine creates it and stopped when it deletes it (${seconds(t)})`,
      );

      t = Date.now();
      const charts = await startChartMirror({
        dir,
        helm: await ensureHelm(),
        ...(opts.chartsDir ? { chartsDir: opts.chartsDir } : {}),
        ...(opts.standIns !== undefined ? { standIns: opts.standIns } : {}),
      });
      stops.push(() => charts.stop());

      // The local Lambda service runs the functions as the templates declare them (code and layers
      // from S3, Runtime, Handler, Timeout, MemorySize, Environment), exported by the engine when a
      // custom resource invokes them. What the local cloud adds is its "network": the endpoints.
      const functionsDir = join(dir, 'functions');
      // Lambda's asynchronous delivery is at-least-once (duplicateAsync), and the other faults on request.
      const chaos = opts.chaos ?? chaosFromEnv();
      const duplicateAsync = chaos.duplicateAsync === true;
      const retryDelays = opts.lambdaRetryDelaysMs ?? retryDelaysFromEnv();
      // Every Invoke is authorized as Lambda does: CloudFormation's by this token, any other by its signature and IAM.
      const lambdaServiceToken = randomBytes(24).toString('hex');
      const lambda = await LocalLambda.start([], {
        authorizeInvoke: iamInvokeAuthorizer({
          authorizeEndpoint: aws.authorizeEndpoint,
          serviceToken: lambdaServiceToken,
        }),
        definitionsDir: functionsDir,
        region: opts.region ?? localRegion,
        duplicateAsync,
        ...(retryDelays ? { asyncRetryDelaysMs: retryDelays } : {}),
        chaos: { crashContinuation: chaos.crashContinuation === true, killMidStep: chaos.killMidStep === true },
        // Each function runs as a session of its own execution role, from the local STS.
        assumeRole: async (roleArn, sessionName) => {
          const res = await fetch(aws.assumeRoleEndpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ roleArn, sessionName }),
          });
          const c = (await res.json()) as Record<string, string>;
          if (!res.ok) throw new Error(`${c.Code}: ${c.Message}`);
          return {
            accessKeyId: c.AccessKeyId!,
            secretAccessKey: c.SecretAccessKey!,
            sessionToken: c.SessionToken!,
            expiration: new Date(c.Expiration!),
          };
        },
        network: {
          // The providers find the cluster by DescribeCluster and sign EKS tokens with their role's session.
          ...motoEnv(aws.moto.endpoint),
          // The Region is Lambda's: the functions' own (motoEnv names us-east-1).
          AWS_REGION: opts.region ?? localRegion,
          AWS_DEFAULT_REGION: opts.region ?? localRegion,
          // Helm reaches chart repositories through the local chart mirror.
          ...charts.clientEnv,
        },
      });
      stops.push(() => lambda.stop({ force: true }));
      aws.configure({
        lambdaEndpoint: lambda.endpoint,
        lambdaServiceToken,
        functionsDir,
        controlPlanes: { endpoint: controlPlanes.endpoint, token: controlPlanes.token, version },
        eksAccessFile,
        chartWantsFile: charts.wantsFile,
        chaos: { responsePut503: chaos.responsePut503 === true },
      });
      print(
        `  Lambda service at ${lambda.endpoint} (runs what the templates declare${duplicateAsync ? '; every asynchronous event delivered twice' : ''}); chart mirror up (${seconds(t)})`,
      );
      const faults = chaosDescriptions.filter(([k]) => chaos[k]).map(([, d]) => d);
      if (faults.length) print(`  Faults injected on request: ${faults.join('; ')}`);
      if (retryDelays)
        print(
          `  Lambda retries a failed asynchronous invocation after ${retryDelays.map((d) => `${d / 1000} s`).join(', ')} (shortened: Lambda's own delays are about 1 and 2 minutes)`,
        );

      // The providers' structured log lines, as CloudWatch Logs would keep them.
      const logPath = join(dir, 'lambda.log');
      let seen = 0;
      const poll = setInterval(() => {
        while (seen < lambda.invocations.length) {
          const inv = lambda.invocations[seen++];
          appendFileSync(
            logPath,
            `--- ${inv.functionName} ${inv.requestId} ${inv.durationMs} ms${inv.timedOut ? ' TIMED OUT' : ''}${inv.injected ? ` INJECTED ${inv.injected}` : ''}${inv.errorMessage ? ` ${inv.errorType}: ${inv.errorMessage}` : ''}\n${inv.logs}\n`,
          );
        }
      }, 500);
      poll.unref();
      const deployment = new LocalDeployment(dir, aws, lambda, charts, controlPlanes, deletedClusters, poll);
      deployment.chaos = chaos;
      return deployment;
    } catch (err) {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Runs one of the project's scripts (publish, deploy, destroy) against the local AWS, output shown as it comes. */
  runScript(script: string, args: string[], print: Print): Promise<number> {
    return new Promise((ok, fail) => {
      const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
      const child = spawn(tsx, [join(repoRoot, 'scripts', script), ...args], {
        cwd: repoRoot,
        env: { ...process.env, ...this.awsEnv, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.scripts.add(child);
      child.on('close', () => this.scripts.delete(child));
      const relay = (stream: NodeJS.ReadableStream) => {
        let buffered = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) print(line);
        });
        stream.on('end', () => buffered && print(buffered));
      };
      relay(child.stdout!);
      relay(child.stderr!);
      child.on('error', fail);
      child.on('close', (code, signal) => ok(code ?? (signal ? 128 : 1)));
    });
  }

  private async describe(stackName: string) {
    const cfn = new CloudFormationClient({
      region: localRegion,
      endpoint: this.aws.moto.endpoint,
      credentials: this.aws.deployer,
    });
    try {
      return (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    } finally {
      cfn.destroy();
    }
  }

  /**
   * Creates a VPC as a user would before launching the existing-VPC entrypoint: a stack of its own
   * from the VPC submodule uploaded with the Quick Start (`submodules/vpc/templates/vpc.template.yaml`
   * under `prefix`), not part of the kubecfn stack. Resolves with its outputs (VPCID, VPCCIDR,
   * PrivateSubnet1ID, ...) once CREATE_COMPLETE.
   */
  async createUserVpc(
    stackName: string,
    opts: { bucket?: string; prefix?: string; parameters?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<Record<string, string>> {
    const cfn = this.cloudFormation();
    try {
      const key = `${opts.prefix ?? 'kubecfn/'}submodules/vpc/templates/vpc.template.yaml`;
      await cfn.send(
        new CreateStackCommand({
          StackName: stackName,
          TemplateURL: `https://${opts.bucket ?? localBucket}.s3.${localRegion}.amazonaws.com/${key}`,
          Parameters: Object.entries({
            AvailabilityZones: `${localRegion}a,${localRegion}b,${localRegion}c`,
            ...opts.parameters,
          }).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
          Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
        }),
      );
      const status = await this.waitForStack(stackName, opts.timeoutMs ?? 300_000);
      if (status !== 'CREATE_COMPLETE') throw new Error(`stack ${stackName} (the user's VPC) ended ${status}`);
      const out: Record<string, string> = {};
      for (const o of await this.outputs(stackName)) if (o.OutputKey) out[o.OutputKey] = o.OutputValue ?? '';
      return out;
    } finally {
      cfn.destroy();
    }
  }

  /** Deletes a stack (DeleteStack) and resolves with its final status once it settles. */
  async deleteStack(stackName: string, timeoutMs = 300_000): Promise<string> {
    const cfn = this.cloudFormation();
    try {
      const id = (await this.describe(stackName))?.StackId ?? stackName;
      await cfn.send(new DeleteStackCommand({ StackName: id }));
      return await this.waitForStack(id, timeoutMs);
    } finally {
      cfn.destroy();
    }
  }

  private async waitForStack(stackName: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = (await this.describe(stackName))?.StackStatus ?? 'UNKNOWN';
      if (!status.endsWith('_IN_PROGRESS')) return status;
      if (Date.now() > deadline) return status;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  private cloudFormation(): CloudFormationClient {
    return new CloudFormationClient({
      region: localRegion,
      endpoint: this.aws.moto.endpoint,
      credentials: this.aws.deployer,
    });
  }

  /** The stack's outputs, as DescribeStacks gives them. */
  async outputs(stackName: string): Promise<Output[]> {
    return (await this.describe(stackName))?.Outputs ?? [];
  }

  /** The stack's status, as DescribeStacks gives it. */
  async stackStatus(stackName: string): Promise<string> {
    return (await this.describe(stackName))?.StackStatus ?? 'UNKNOWN';
  }

  /**
   * kubectl against the control plane of the EKS cluster `clusterName` (default: the only one
   * running); resolves with its output (stderr included on failure, or why no cluster was found).
   */
  async kubectl(args: string[], clusterName?: string): Promise<string> {
    let kubeconfig: string;
    try {
      kubeconfig = this.controlPlane(clusterName).cluster.kubeconfigPath;
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
    const kubectl = await ensureKubectl();
    try {
      const { stdout } = await execFileAsync(kubectl, args, {
        env: { ...process.env, KUBECONFIG: kubeconfig },
        maxBuffer: 16 << 20,
      });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      return `${e.stdout ?? ''}${e.stderr ?? e.message}`;
    }
  }

  /**
   * Helm releases in every namespace of the EKS cluster `clusterName` (default: the only one
   * running), as `name (namespace) chart-version status`; of a deleted cluster, those it held when
   * it was deleted; none when no cluster runs.
   */
  async helmReleases(clusterName?: string): Promise<HelmRelease[]> {
    const plane = this.find(clusterName);
    if (plane === 'none') return [];
    if ('deleted' in plane) return plane.releases;
    return helmList(plane.cluster.kubeconfigPath, this.dir);
  }

  /**
   * Names of the objects a stack can leave in a cluster (kind/namespace/name), to compare with
   * {@link EksControlPlane.created}: what the stack created and deleted again must not show up as a
   * difference. Of a deleted cluster, what it held when it was deleted.
   */
  async objectInventory(clusterName?: string): Promise<Set<string>> {
    const plane = this.find(clusterName);
    if (plane === 'none') return new Set();
    return 'deleted' in plane ? plane.deleted.objects : (await takeInventory(plane.cluster)).objects;
  }

  /**
   * Every object of every API resource kind the server lists (the kinds of `kubectl api-resources
   * --verbs=list`: built-in kinds, custom resources, webhook configurations, APIServices, endpoints,
   * leases ...), as `resource.group/namespace/name`. Events are left out unless `volatile`:
   * components write them on their own. Of a deleted cluster, what it held when it was deleted.
   */
  async apiInventory(opts: { volatile?: boolean; cluster?: string } = {}): Promise<Set<string>> {
    const plane = this.find(opts.cluster);
    if (plane === 'none') return new Set();
    if ('deleted' in plane) return plane.deleted.api;
    return (await takeInventory(plane.cluster, { volatile: opts.volatile })).api;
  }

  /** A running control plane by name (or the only one); else the deleted cluster of that name; else 'none'. */
  private find(clusterName?: string): EksControlPlane | DeletedCluster | 'none' {
    const running = this.controlPlanes.running();
    if (clusterName === undefined && !running.length) return 'none';
    if (clusterName !== undefined && !running.some((p) => p.key.name === clusterName))
      return this.deletedClusters.get(clusterName) ?? 'none';
    return this.controlPlane(clusterName);
  }

  /** Stops every process (Lambda invocations still running are killed) and removes the run's
   * directory unless `keepLogs` (its lambda.log, aws.log and cloud.log explain a failure). */
  async stop(opts: { keepLogs?: boolean } = {}): Promise<void> {
    clearInterval(this.logPoller);
    // A deploy being watched has nothing left to watch.
    for (const child of this.scripts) child.kill('SIGTERM');
    // The local AWS first: its engine is what starts invocations and control planes.
    await this.aws.stop().catch(() => undefined);
    await this.lambda.stop({ force: true }).catch(() => undefined);
    await this.controlPlanes.close().catch(() => undefined);
    await this.charts.stop().catch(() => undefined);
    if (!opts.keepLogs) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * An EKS cluster's control plane, as the engine's CreateCluster gets it: its own etcd, API server,
 * controller manager, scheduler and kwok (no nodes until its node groups register theirs), its own
 * EKS authenticator (tokens for its name, its access entries and aws-auth), pod network, load
 * balancer controller webhook server and cloud emulation. Resolves once the controllers have done
 * their start-up work, with the cluster's inventory then.
 */
async function startEksControlPlane(
  key: ControlPlaneKey,
  opts: { dir: string; runDir: string; stsVerifyEndpoint: string; eksAccessFile: string },
): Promise<EksControlPlane> {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const prefix = `[${keyText(key)}] `;
  const cloudLog = (m: string) => appendFileSync(join(opts.runDir, 'cloud.log'), `${prefix}${m}\n`);
  const stops: Array<() => Promise<unknown>> = [];
  try {
    // The API server reaches webhooks and APIServices at their pods through the pod network (aws/pod-network.ts).
    const podNetwork = await startPodNetwork({ dir: opts.dir, log: cloudLog });
    stops.push(() => podNetwork.stop());
    // Bearer tokens are EKS tokens, authenticated as EKS does: the local STS checks the signature
    // over this cluster's name, its access entries (written by the engine) and aws-auth map the principal.
    const eks = createEksAuthenticator({
      stsVerifyEndpoint: opts.stsVerifyEndpoint,
      accessFile: opts.eksAccessFile,
      clusterName: key.name,
      log: (line) =>
        appendFileSync(join(opts.runDir, 'eks-authenticator.log'), `${new Date().toISOString()} ${prefix}${line}\n`),
    });
    const cluster = await startLocalCluster({
      name: key.name,
      // Nodes come from the stack's managed node groups, as in EKS.
      defaultNodes: false,
      apiserverArgs: podNetwork.apiserverArgs,
      authenticate: eks.authenticate,
      log: cloudLog,
    });
    stops.push(() => cluster.stop());
    await eks.attach(cluster);
    const kubeCall = kubeCaller(cluster.kubeconfigPath);
    const lbWebhooks = loadBalancerControllerWebhooks(kubeCall, cloudLog);
    podNetwork.attach(kubeCall, [lbWebhooks]);
    const cloud = await startCloudEmulation({
      kubeconfigPath: cluster.kubeconfigPath,
      region: key.region,
      log: cloudLog,
    });
    stops.push(() => cloud.stop());
    const created = await takeSettledInventory(cluster, { ready: controllersCaughtUp });
    return {
      key,
      cluster,
      podNetwork,
      lbWebhooks,
      cloud,
      created,
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

/** `helm list` of every namespace of a cluster. */
async function helmList(kubeconfigPath: string, dir: string): Promise<HelmRelease[]> {
  const helm = await ensureHelm();
  const { stdout } = await execFileAsync(helm, ['list', '--all-namespaces', '--all', '--output', 'json'], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfigPath,
      HELM_CACHE_HOME: join(dir, 'helm-cache'),
      HELM_CONFIG_HOME: join(dir, 'helm-config'),
    },
  });
  return (JSON.parse(stdout || '[]') as HelmRelease[]).map((r) => ({
    name: r.name,
    namespace: r.namespace,
    chart: r.chart,
    status: r.status,
  }));
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
