// The main job end to end, as a user runs it: `npm start -- --once` deploys the whole Quick Start
// (new-VPC entrypoint and its nested stacks) into the local control plane and the local AWS, with
// the Helm releases, manifests and KubeGet applied by the bundled providers through the real
// custom-resource protocol; between the deploy and the delete, the deployment guide's post-deployment
// steps run as the guide shows them (./guide-steps.ts, through --after-deploy); then deletes the
// stack and shows the cluster is clean again.
//
// The packages were built by jest's global setup a moment ago, so the run skips its own build
// (rebuilding them here could rewrite a zip while a parallel suite reads it).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

interface Run {
  code: number | null;
  output: string;
}

function runStart(args: string[]): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(
      resolve(repoRoot, 'node_modules', '.bin', 'tsx'),
      [resolve(repoRoot, 'scripts', 'start.ts'), ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, FORCE_COLOR: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.on('error', fail);
    child.on('close', (code) => ok({ code, output }));
  });
}

/** Command lines of every process still running that mentions `needle`. */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

describe('npm start -- --once', () => {
  let run: Run;

  beforeAll(async () => {
    run = await runStart([
      '--once',
      '--skip-build',
      '--after-deploy',
      `${resolve(repoRoot, 'node_modules', '.bin', 'tsx')} ${resolve(__dirname, 'guide-steps.ts')}`,
    ]);
  }, 300_000);

  test('exits 0', () => {
    if (run.code !== 0) console.log(run.output.slice(-6000));
    expect(run.code).toBe(0);
  });

  test('creates the whole stack tree: root, VPC, EKS, functions, node groups, add-ons, Jenkins', () => {
    expect(run.output).toMatch(/kubecfn: CREATE_COMPLETE/);
    for (const nested of [
      'VPCStack',
      'EKSStack',
      'EKSStack/FunctionsStack',
      'EKSStack/SystemNodeGroupStack',
      'EKSStack/AgentNodeGroupStack',
      'EKSStack/AddonsStack',
      'EKSStack/JenkinsStack',
    ]) {
      expect(run.output).toMatch(
        new RegExp(
          `${nested.replace('/', '\\/')}\\s+${nested.split('/').pop()}\\s+AWS::CloudFormation::Stack\\s+CREATE_COMPLETE`,
        ),
      );
    }
  });

  test('applies the custom resources to the cluster through the providers', () => {
    for (const logical of [
      'LoadBalancerControllerRelease',
      'JenkinsNamespaceAndStorage',
      'JenkinsRelease',
      'JenkinsLoadBalancer',
    ]) {
      expect(run.output).toMatch(new RegExp(`${logical}\\s+Custom::\\w+\\s+CREATE_COMPLETE`));
    }
    expect(run.output).toMatch(/release installed: jenkins \(namespace jenkins\) jenkins-\S+ deployed/);
    expect(run.output).toMatch(/release installed: aws-load-balancer-controller \(namespace kube-system\)/);
    // KubeGet read the load balancer's name from the Service; the stack output carries it.
    expect(run.output).toMatch(/JenkinsURL\s+http:\/\/\S+\.elb\.us-east-1\.amazonaws\.com:8080/);
    // Jenkins' home claim was provisioned on the EFS StorageClass the stack created.
    expect(run.output).toMatch(/persistentvolumeclaim\/jenkins\s+Bound\s+\S+\s+\S+\s+RWO\s+jenkins-efs/);
    // Node groups registered nodes carrying their partition labels.
    expect(run.output).toMatch(/Ready\s+\S+\s+\S+\s+\S+\s+agents\s+SPOT/);
  });

  test('installs the real charts from the chart directory, no stand-in', () => {
    // Without KUBECFN_CHARTS_DIR (no ../shared/charts) npm start may fall back to stand-ins.
    if (!process.env.KUBECFN_CHARTS_DIR) return;
    expect(run.output).toMatch(
      /real charts from \S+: aws-load-balancer-controller-3\.5\.0, cluster-autoscaler-9\.57\.0, gitlab-runner-0\.77\.2, jenkins-5\.9\.53/,
    );
    expect(run.output).not.toMatch(/STAND-IN/);
    expect(run.output).toMatch(
      /release installed: aws-load-balancer-controller \(namespace kube-system\) aws-load-balancer-controller-3\.5\.0 deployed\n/,
    );
    expect(run.output).toMatch(/release installed: jenkins \(namespace jenkins\) jenkins-5\.9\.53 deployed\n/);
  });

  test("the deployment guide's post-deployment steps do what the guide says", () => {
    const steps = run.output.slice(run.output.indexOf('== After deploy:'), run.output.indexOf('after-deploy: exit'));
    if (!/after-deploy: exit 0/.test(run.output)) console.log(steps.slice(-6000));
    expect(run.output).toMatch(/after-deploy: exit 0/);
    for (const done of [
      'step 1: the outputs table names ClusterName, KubeProviderArn, HelmProviderArn and JenkinsURL',
      'step 1: the BastionSessionCommand query prints the session command',
      'step 2: kubectl get nodes lists Ready nodes of the system and the Spot agents partitions',
      'step 2: the admin password command prints a password',
      'step 2: the curl command targets the JenkinsURL output',
      'kubectl through the KubeconfigCommand kubeconfig (aws eks get-token) lists the nodes',
      'your own template: the Hello ConfigMap is in the cluster',
      'your own template: deleting its stack removes the ConfigMap',
    ])
      expect(steps).toContain(`ok: ${done}`);
    expect(steps).toMatch(/guide steps: \d+ commands run, each did what the guide says/);
  });

  test('deletes the stack, removing the releases and manifests from the cluster', () => {
    expect(run.output).toMatch(/JenkinsRelease\s+Custom::HelmRelease\s+DELETE_COMPLETE/);
    expect(run.output).toMatch(/JenkinsNamespaceAndStorage\s+Custom::KubeManifest\s+DELETE_COMPLETE/);
    expect(run.output).toMatch(/kubecfn: DELETE_COMPLETE/);
    expect(run.output).toMatch(/releases after delete: none/);
    expect(run.output).toMatch(/cluster clean: every object the stack created is gone, and every object from before/);
    expect(run.output).not.toMatch(/left behind:/);
    expect(run.output).not.toMatch(/missing since before the deploy:/);
  });

  test('leaves no process behind', () => {
    const dirs = [...run.output.matchAll(/(\/tmp\/kubecfn-(?:cluster|local)-[A-Za-z0-9]+)/g)].map((m) => m[1]!);
    expect(dirs.length).toBeGreaterThan(0);
    for (const dir of new Set(dirs)) expect(processesMentioning(dir)).toEqual([]);
  });

  test('stops the local AWS endpoint', async () => {
    const endpoint = /AWS_ENDPOINT_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(run.output)?.[1];
    expect(endpoint).toBeDefined();
    await expect(fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
  });
});
