// The existing-cluster entrypoint end to end, as a user with a cluster runs it: `npm start -- --once
// --template existing-cluster` makes a cluster first (the existing-VPC entrypoint with its add-ons,
// agent partition and workloads off: a cluster the user already has, with system nodes and the pod
// identity agent), reads its settings back with eks:DescribeCluster, deploys the existing-cluster
// entrypoint into it (providers, their access entries, the agent partition, every add-on, Jenkins),
// deletes that stack and shows the cluster is as it was before — then removes the user's cluster.
//
// The packages were built by jest's global setup, so the run skips its own build.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

function runStart(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(
      resolve(repoRoot, 'node_modules', '.bin', 'tsx'),
      [resolve(repoRoot, 'scripts', 'start.ts'), ...args],
      { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.on('error', fail);
    child.on('close', (code) => ok({ code, output }));
  });
}

describe('npm start -- --once --template existing-cluster', () => {
  let run: { code: number | null; output: string };

  beforeAll(async () => {
    run = await runStart(['--once', '--skip-build', '--template', 'existing-cluster', '--stack-name', 'kx']);
  }, 600_000);

  test('exits 0', () => {
    if (run.code !== 0) console.log(run.output.slice(-6000));
    expect(run.code).toBe(0);
  });

  test('the user’s cluster comes first, and its settings are read back from EKS', () => {
    expect(run.output).toMatch(/kx-cluster: CREATE_COMPLETE/);
    expect(run.output).toMatch(/kubecfn-local: API_AND_CONFIG_MAP, security group sg-\w+, VPC vpc-\w+/);
    expect(run.output).toMatch(/ClusterSecurityGroupId = sg-\w+/);
  });

  test('the providers get their access entries and their way to the private endpoint', () => {
    for (const [id, type] of [
      ['ProviderSecurityGroup', 'AWS::EC2::SecurityGroup'],
      ['ProviderEndpointIngress', 'AWS::EC2::SecurityGroupIngress'],
      ['KubeProviderAccessEntry', 'AWS::EKS::AccessEntry'],
      ['HelmProviderAccessEntry', 'AWS::EKS::AccessEntry'],
    ])
      expect(run.output).toMatch(new RegExp(`\\skx\\s+${id}\\s+${type}\\s+CREATE_COMPLETE`));
    for (const nested of ['FunctionsStack', 'AgentNodeGroupStack', 'AddonsStack', 'JenkinsStack'])
      expect(run.output).toMatch(new RegExp(`\\skx\\s+${nested}\\s+AWS::CloudFormation::Stack\\s+CREATE_COMPLETE`));
    expect(run.output).toMatch(/kx: CREATE_COMPLETE/);
  });

  test('nothing the cluster has already is created again; what is asked for is added', () => {
    // ExistingNodes and AlreadyInstalled: no system node group, no pod identity agent add-on.
    expect(run.output).not.toMatch(/\skx\s+SystemNodeGroupStack\s+AWS::CloudFormation::Stack\s+CREATE_/);
    expect(run.output).not.toMatch(/\skx\s+PodIdentityAgentAddon\s+AWS::EKS::Addon\s+CREATE_/);
    expect(run.output).toMatch(/release installed: aws-load-balancer-controller \(namespace kube-system\)/);
    expect(run.output).toMatch(/release installed: cluster-autoscaler \(namespace kube-system\)/);
    expect(run.output).toMatch(/release installed: jenkins \(namespace jenkins\)/);
    expect(run.output).toMatch(/JenkinsURL\s+http:\/\/\S+\.elb\.us-east-1\.amazonaws\.com:8080/);
    expect(run.output).toMatch(/persistentvolumeclaim\/jenkins\s+Bound\s+\S+\s+\S+\s+RWO\s+jenkins-efs/);
    // The user's system nodes and the added Spot agents.
    expect(run.output).toMatch(/Ready\s+\S+\s+\S+\s+\S+\s+system\s+ON_DEMAND/);
    expect(run.output).toMatch(/Ready\s+\S+\s+\S+\s+\S+\s+agents\s+SPOT/);
  });

  test('deleting it leaves the cluster as it was, and then the user’s cluster and VPC go', () => {
    expect(run.output).toMatch(/kx: DELETE_COMPLETE/);
    expect(run.output).toMatch(/releases after delete: none/);
    expect(run.output).toMatch(/cluster clean: every object the stack created is gone, and every object from before/);
    expect(run.output).not.toMatch(/left behind:/);
    expect(run.output).not.toMatch(/missing since before the deploy:/);
    expect(run.output).toMatch(/the user's cluster stack kx-cluster: DELETE_COMPLETE/);
    expect(run.output).toMatch(/the user's VPC stack kx-vpc: DELETE_COMPLETE/);
  });
});
