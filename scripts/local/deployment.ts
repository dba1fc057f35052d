// The embedded local deployment behind `npm start`: the local Kubernetes control plane standing for
// EKS, moto server with kubecfn's CloudFormation engine standing for AWS, and the local Lambda
// service running the built provider packages. Then the user's own path: `npm run publish` to the
// local S3, `npm run deploy` (live progress) to the local CloudFormation, `npm run destroy`.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
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
import { LocalLambda } from './lambda/runner';
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
  /** The Region the functions run in and load balancer hostnames name (default {@link localRegion}). */
  region?: string;
}

/** What kinds an API inventory leaves out: objects that come and go on their own while nothing changes. */
const volatileKinds = new Set(['events', 'events.events.k8s.io']);

/** Everything that runs for the local deployment. */
export class LocalDeployment {
  /** The pod network the API server reaches webhooks and APIServices through (aws/pod-network.ts). */
  podNetwork?: PodNetwork;
  /** The AWS Load Balancer Controller's webhook server (aws/cloud-emulation.ts): reviews answered, by path. */
  lbWebhooks?: ReturnType<typeof loadBalancerControllerWebhooks>;

  /** Scripts running now (publish, deploy, destroy), ended by stop(). */
  private readonly scripts = new Set<ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly cluster: LocalCluster,
    readonly aws: EmbeddedAws,
    readonly lambda: LocalLambda,
    readonly charts: ChartMirror,
    readonly cloud: CloudEmulation,
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

  /** The file every provider invocation's log lines are appended to. */
  get lambdaLogPath(): string {
    return join(this.dir, 'lambda.log');
  }

  /**
   * Starts the control plane, the local AWS and the local Lambda service. On failure, whatever
   * started is stopped again.
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
        onOutput: (chunk) => appendFileSync(awsLog, chunk),
      });
      stops.push(() => aws.stop());
      print(`  AWS APIs at ${aws.moto.endpoint} (${seconds(t)})`);

      t = Date.now();
      // The API server reaches webhooks and APIServices at their pods through the pod network (aws/pod-network.ts).
      const podNetwork = await startPodNetwork({ dir, log: (m) => appendFileSync(join(dir, 'cloud.log'), `${m}\n`) });
      stops.push(() => podNetwork.stop());
      print('Starting the local control plane (kube-apiserver, controller-manager, scheduler, etcd, kwok) ...');
      // Bearer tokens are EKS tokens, authenticated as EKS does: the local STS checks the signature,
      // the cluster's access entries (written by the engine) and aws-auth map the principal.
      const eksAccessFile = join(dir, 'eks-access.json');
      const eks = createEksAuthenticator({
        stsVerifyEndpoint: aws.stsVerifyEndpoint,
        accessFile: eksAccessFile,
        log: (line) => appendFileSync(join(dir, 'eks-authenticator.log'), `${new Date().toISOString()} ${line}\n`),
      });
      const cluster = await startLocalCluster({
        apiserverArgs: podNetwork.apiserverArgs,
        log: (m) => print(`  ${m}`),
        authenticate: eks.authenticate,
      });
      await eks.attach(cluster);
      stops.push(() => cluster.stop());
      const kubeCall = kubeCaller(cluster.kubeconfigPath);
      const lbWebhooks = loadBalancerControllerWebhooks(kubeCall, (m) =>
        appendFileSync(join(dir, 'cloud.log'), `${m}\n`),
      );
      podNetwork.attach(kubeCall, [lbWebhooks]);
      // Nodes come from the stack's managed node groups, as in EKS: drop the default fake nodes.
      const kubectl = await ensureKubectl();
      await execFileAsync(kubectl, ['delete', 'nodes', '--all', '--wait=true'], {
        env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
      });
      print(`  Kubernetes ${cluster.version} at ${cluster.server} (${seconds(t)})`);

      t = Date.now();
      const charts = await startChartMirror({
        dir,
        helm: await ensureHelm(),
        ...(opts.chartsDir ? { chartsDir: opts.chartsDir } : {}),
        ...(opts.standIns !== undefined ? { standIns: opts.standIns } : {}),
      });
      stops.push(() => charts.stop());
      const cloud = await startCloudEmulation({
        kubeconfigPath: cluster.kubeconfigPath,
        region: opts.region ?? localRegion,
        log: (m) => appendFileSync(join(dir, 'cloud.log'), `${m}\n`),
      });
      stops.push(() => cloud.stop());

      // The local Lambda service runs the functions as the templates declare them (code and layers
      // from S3, Runtime, Handler, Timeout, MemorySize, Environment), exported by the engine when a
      // custom resource invokes them. What the local cloud adds is its "network": the endpoints.
      const functionsDir = join(dir, 'functions');
      // Lambda's asynchronous delivery is at-least-once: KUBECFN_LAMBDA_DUPLICATE_ASYNC=1 makes every event arrive twice.
      const duplicateAsync = process.env.KUBECFN_LAMBDA_DUPLICATE_ASYNC === '1';
      const lambda = await LocalLambda.start([], {
        definitionsDir: functionsDir,
        region: opts.region ?? localRegion,
        duplicateAsync,
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
        functionsDir,
        cluster: { server: cluster.server, caData: cluster.caData, token: cluster.token, version: cluster.version },
        eksAccessFile,
        chartWantsFile: charts.wantsFile,
      });
      print(
        `  Lambda service at ${lambda.endpoint} (runs what the templates declare${duplicateAsync ? '; every asynchronous event delivered twice' : ''}); chart mirror and cloud controllers up (${seconds(t)})`,
      );

      // The providers' structured log lines, as CloudWatch Logs would keep them.
      const logPath = join(dir, 'lambda.log');
      let seen = 0;
      const poll = setInterval(() => {
        while (seen < lambda.invocations.length) {
          const inv = lambda.invocations[seen++];
          appendFileSync(
            logPath,
            `--- ${inv.functionName} ${inv.requestId} ${inv.durationMs} ms${inv.timedOut ? ' TIMED OUT' : ''}${inv.errorMessage ? ` ${inv.errorType}: ${inv.errorMessage}` : ''}\n${inv.logs}\n`,
          );
        }
      }, 500);
      poll.unref();
      const deployment = new LocalDeployment(dir, cluster, aws, lambda, charts, cloud, poll);
      deployment.podNetwork = podNetwork;
      deployment.lbWebhooks = lbWebhooks;
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

  /** kubectl against the local control plane; resolves with its output (stderr included on failure). */
  async kubectl(args: string[]): Promise<string> {
    const kubectl = await ensureKubectl();
    try {
      const { stdout } = await execFileAsync(kubectl, args, {
        env: { ...process.env, KUBECONFIG: this.cluster.kubeconfigPath },
        maxBuffer: 16 << 20,
      });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      return `${e.stdout ?? ''}${e.stderr ?? e.message}`;
    }
  }

  /** Helm releases in every namespace, as `name (namespace) chart-version status`. */
  async helmReleases(): Promise<Array<{ name: string; namespace: string; chart: string; status: string }>> {
    const helm = await ensureHelm();
    const { stdout } = await execFileAsync(helm, ['list', '--all-namespaces', '--all', '--output', 'json'], {
      env: {
        ...process.env,
        KUBECONFIG: this.cluster.kubeconfigPath,
        HELM_CACHE_HOME: join(this.dir, 'helm-cache'),
        HELM_CONFIG_HOME: join(this.dir, 'helm-config'),
      },
    });
    return (
      JSON.parse(stdout || '[]') as Array<{ name: string; namespace: string; chart: string; status: string }>
    ).map((r) => ({
      name: r.name,
      namespace: r.namespace,
      chart: r.chart,
      status: r.status,
    }));
  }

  /**
   * Names of the objects a stack can leave in a cluster (kind/namespace/name), to compare before and
   * after: what the stack created and deleted again must not show up as a difference.
   */
  async objectInventory(): Promise<Set<string>> {
    const kinds = [
      'namespaces',
      'nodes',
      'deployments',
      'statefulsets',
      'daemonsets',
      'jobs',
      'services',
      'persistentvolumeclaims',
      'persistentvolumes',
      'storageclasses',
      'secrets',
      'configmaps',
      'serviceaccounts',
      'customresourcedefinitions',
      'clusterroles',
      'clusterrolebindings',
      'roles',
      'rolebindings',
      'ingressclasses',
      'mutatingwebhookconfigurations',
      'validatingwebhookconfigurations',
    ];
    const out = await this.kubectl([
      'get',
      kinds.join(','),
      '--all-namespaces',
      '-o',
      'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{"\\n"}{end}',
    ]);
    return new Set(out.split('\n').filter((l) => l.includes('/')));
  }

  /**
   * Every object of every API resource kind the server lists (`kubectl api-resources --verbs=list`:
   * built-in kinds, custom resources, webhook configurations, APIServices, endpoints, leases ...), as
   * `resource.group/namespace/name`, to compare before and after. Events are left out unless
   * `volatile`: components write them on their own.
   */
  async apiInventory(opts: { volatile?: boolean } = {}): Promise<Set<string>> {
    const names = (await this.kubectl(['api-resources', '--verbs=list', '-o', 'name']))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[a-z0-9.-]+$/.test(l) && (opts.volatile || !volatileKinds.has(l)));
    const out = new Set<string>();
    // One get per kind: a kind the server cannot list right now (an APIService that is not available)
    // is reported as such instead of hiding every other kind.
    await Promise.all(
      names.map(async (kind) => {
        const text = await this.kubectl([
          'get',
          kind,
          '--all-namespaces',
          '--ignore-not-found',
          '-o',
          'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}',
        ]);
        if (/^(error|Error from server)/m.test(text)) out.add(`${kind}/!unlistable: ${text.trim().split('\n')[0]}`);
        else for (const l of text.split('\n')) if (l.includes('/')) out.add(`${kind}/${l}`);
      }),
    );
    return out;
  }

  /** Stops every process (Lambda invocations still running are killed) and removes the run's
   * directory unless `keepLogs` (its lambda.log, aws.log and cloud.log explain a failure). */
  async stop(opts: { keepLogs?: boolean } = {}): Promise<void> {
    clearInterval(this.logPoller);
    // A deploy being watched has nothing left to watch.
    for (const child of this.scripts) child.kill('SIGTERM');
    // The local AWS first: its engine is what starts invocations.
    await this.aws.stop().catch(() => undefined);
    await this.lambda.stop({ force: true }).catch(() => undefined);
    await this.cloud.stop().catch(() => undefined);
    await this.podNetwork?.stop().catch(() => undefined);
    await this.charts.stop().catch(() => undefined);
    await this.cluster.stop().catch(() => undefined);
    if (!opts.keepLogs) rmSync(this.dir, { recursive: true, force: true });
  }
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
