// The deployment guide's launch buttons and post-deployment steps against what they depend on, so
// they cannot drift: the buttons use the quick-create form `npm run upload` prints, one row per
// Region the templates are checked for; every output the steps read exists; the steps run on the
// bastion need nothing but kubectl (its role has no other AWS permission); the kubectl commands
// name the objects the Jenkins template creates; the bastion's kubectl and helm find the kubeconfig
// in a shell that reads no profile (Session Manager's sh); the provider-log commands follow the
// real nested stacks; the operator policy grants Session Manager on the bastion only.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { entrypoints, launchRegions, launchStackUrl, type EntrypointName } from '../../scripts/lib/s3-layout';
import { repoRoot } from './helpers';

const guide = readFileSync(join(repoRoot, 'docs/deployment-guide.md'), 'utf8');
const read = (path: string) =>
  parse(readFileSync(join(repoRoot, path), 'utf8'), { logLevel: 'error', maxAliasCount: -1 }) as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    Outputs?: Record<string, { Value: unknown }>;
  };
const newVpc = read('templates/kubecfn-entrypoint-new-vpc.template.yaml');
const existingVpc = read('templates/kubecfn-entrypoint-existing-vpc.template.yaml');
const bastionText = readFileSync(join(repoRoot, 'submodules/bastion/templates/bastion.template.yaml'), 'utf8');

function section(title: string): string {
  const start = guide.indexOf(`\n## ${title}\n`);
  expect(start).toBeGreaterThan(0);
  const end = guide.indexOf('\n## ', start + 4);
  return guide.slice(start, end < 0 ? undefined : end);
}
const bashBlocks = (text: string) => [...text.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('launch buttons', () => {
  const launch = section('Launch');
  const buttons = [...launch.matchAll(/\]\((https:\/\/console\.aws\.amazon\.com\/cloudformation\/home\?[^)]+)\)/g)].map(
    (m) => new URL(m[1]!),
  );
  const regions = (parse(readFileSync(join(repoRoot, '.cfnlintrc.yaml'), 'utf8')) as { regions: string[] }).regions;
  const names = Object.keys(entrypoints) as EntrypointName[];

  test('one row per Region the templates are checked for, a button per entrypoint in each', () => {
    expect(buttons).toHaveLength(regions.length * names.length);
    expect([...new Set(buttons.map((u) => u.searchParams.get('region')))].sort()).toEqual([...regions].sort());
    expect([...launchRegions].sort()).toEqual([...regions].sort());
  });

  // One bucket for every Region: the buttons assume it in us-east-1 and open each Region's console.
  test('each is the quick-create link upload prints for a bucket in us-east-1, opening its own Region', () => {
    const bucket = { bucket: 'YOUR-BUCKET', prefix: 'kubecfn/', region: 'us-east-1' };
    const queryOf = (u: URL) => Object.fromEntries(new URLSearchParams(u.hash.split('?')[1]));
    const expected = regions.flatMap((region) =>
      names.map((name) => new URL(launchStackUrl(bucket, name, 'kubecfn', region))),
    );
    expect(buttons.map((u) => [u.origin + u.pathname, u.searchParams.get('region'), u.hash.split('?')[0]])).toEqual(
      expected.map((u) => [u.origin + u.pathname, u.searchParams.get('region'), u.hash.split('?')[0]]),
    );
    expect(buttons.map(queryOf)).toEqual(expected.map(queryOf));
  });
});

describe('after deployment', () => {
  const after = section('After deployment');
  const blocks = bashBlocks(after);

  test('every output the steps and the outputs table name is an output of the entrypoints', () => {
    const outputs = new Set([...Object.keys(newVpc.Outputs ?? {}), ...Object.keys(existingVpc.Outputs ?? {})]);
    const named = [
      ...[...after.matchAll(/OutputKey=='(\w+)'/g)].map((m) => m[1]!),
      ...[...after.matchAll(/^\| `(\w+)`(?:, `(\w+)`)? \|/gm)].flatMap(
        (m) => [m[1]!, m[2]].filter(Boolean) as string[],
      ),
      ...[...after.matchAll(/the `(\w+)` output/g)].map((m) => m[1]!),
    ];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !outputs.has(n))).toEqual([]);
  });

  test('on the bastion only kubectl (and curl, base64) runs: its role has no other AWS permission', () => {
    const onBastion = blocks.find((b) =>
      /^aws ssm start-session [^\n]*--target [^\n]*\n(?!\s*--document-name)/m.test(b),
    )!;
    expect(onBastion).toBeDefined();
    const commands = onBastion
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() && !l.startsWith('#'));
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) expect(c).toMatch(/^(kubectl|curl) /);
    expect(onBastion.split('\n').slice(1).join('\n')).not.toMatch(/\baws /);
    // and the bastion role indeed grants nothing of CloudFormation but signalling its own stack
    expect(bastionText).not.toMatch(/cloudformation:Describe/);
  });

  test('the kubectl commands name the objects the Jenkins template creates', () => {
    const jenkins = read('templates/workloads/kubecfn-jenkins.template.yaml');
    const passwordCommand = String(jenkins.Outputs!.JenkinsAdminPasswordCommand!.Value);
    expect(after).toContain(passwordCommand);
    const url = Object.values(jenkins.Resources).find((r) => r.Type === 'Custom::KubeGet')!.Properties!;
    const [kind, name] = String(url.Object).split('/');
    expect(after).toContain(
      `kubectl -n ${String(url.Namespace)} get ${kind} ${name} -o jsonpath='${String(url.JsonPath)}'`,
    );
  });

  test('the port-forwarding step uses a document the operator policy allows', () => {
    const policy = readFileSync(join(repoRoot, 'docs/iam/operator-policy.json'), 'utf8');
    for (const doc of after.matchAll(/--document-name ([\w-]+)/g)) expect(policy).toContain(`document/${doc[1]}`);
  });
});

describe("the bastion's kubectl and helm in a shell that reads no profile", () => {
  // The wrapper loop of the bastion's UserData, run here with its paths moved into a directory.
  const loop = /^( +)for tool in kubectl helm; do\n([\s\S]*?)^\1done$/m.exec(bastionText)!;
  const indent = loop[1]!.length;
  const script = `for tool in kubectl helm; do\n${loop[2]!
    .split('\n')
    .map((l) => l.slice(indent))
    .join('\n')}done\n`;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubecfn-bastion-'));
    mkdirSync(join(dir, 'libexec'), { recursive: true });
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'kubeconfig'), 'apiVersion: v1\n');
    for (const tool of ['kubectl', 'helm']) {
      writeFileSync(join(dir, 'libexec', tool), `#!/bin/sh\necho "${tool} KUBECONFIG=$KUBECONFIG args=$*"\n`);
      chmodSync(join(dir, 'libexec', tool), 0o755);
    }
    const moved = script
      .replaceAll('/usr/local/libexec/kubecfn', join(dir, 'libexec'))
      .replaceAll('/usr/local/bin', join(dir, 'bin'))
      .replaceAll('/etc/kubecfn/kubeconfig', join(dir, 'etc', 'kubeconfig'));
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', moved], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (env: Record<string, string>, command: string) =>
    spawnSync('env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'sh', '-c', command], {
      encoding: 'utf8',
    }).stdout.trim();

  test('no KUBECONFIG and no ~/.kube/config: the cluster kubeconfig', () => {
    expect(script).not.toContain('${'); // CloudFormation's !Sub would substitute it
    const home = join(dir, 'home-empty');
    mkdirSync(home, { recursive: true });
    expect(run({ HOME: home, PATH: `${join(dir, 'bin')}:/usr/bin:/bin` }, 'kubectl get nodes')).toBe(
      `kubectl KUBECONFIG=${join(dir, 'etc', 'kubeconfig')} args=get nodes`,
    );
    expect(run({ HOME: home, PATH: `${join(dir, 'bin')}:/usr/bin:/bin` }, 'helm list -A')).toBe(
      `helm KUBECONFIG=${join(dir, 'etc', 'kubeconfig')} args=list -A`,
    );
  });

  test("the caller's KUBECONFIG or ~/.kube/config wins", () => {
    const home = join(dir, 'home-own');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), '');
    const path = `${join(dir, 'bin')}:/usr/bin:/bin`;
    expect(run({ HOME: home, PATH: path }, 'kubectl version')).toBe('kubectl KUBECONFIG= args=version');
    expect(run({ HOME: home, PATH: path, KUBECONFIG: '/tmp/other' }, 'kubectl version')).toBe(
      'kubectl KUBECONFIG=/tmp/other args=version',
    );
  });
});

test('the provider-log steps follow the real nesting: EKSStack, FunctionsStack, the log group outputs', () => {
  const logs = guide.slice(guide.indexOf("### Finding a provider's log"));
  const eks = read('templates/kubecfn-eks.template.yaml');
  const functions = read('templates/kubecfn-functions.template.yaml');
  expect(newVpc.Resources.EKSStack?.Type).toBe('AWS::CloudFormation::Stack');
  expect(logs).toContain('--logical-resource-id EKSStack');
  expect(eks.Resources.FunctionsStack?.Type).toBe('AWS::CloudFormation::Stack');
  expect(logs).toContain('--logical-resource-id FunctionsStack');
  for (const key of ['KubeProviderLogGroupName', 'HelmProviderLogGroupName']) {
    expect(Object.keys(functions.Outputs ?? {})).toContain(key);
    expect(logs).toContain(key);
  }
});

test('the operator policy: Session Manager on the bastion only, every action named', () => {
  const policy = JSON.parse(readFileSync(join(repoRoot, 'docs/iam/operator-policy.json'), 'utf8')) as {
    Statement: {
      Action: string | string[];
      Resource: string | string[];
      Condition?: Record<string, Record<string, string>>;
    }[];
  };
  const actions = policy.Statement.flatMap((s) => [s.Action].flat());
  expect(actions).toEqual(
    expect.arrayContaining(['ssm:StartSession', 'ssm:TerminateSession', 'cloudformation:DescribeStacks']),
  );
  expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  const onInstances = policy.Statement.find(
    (s) => [s.Action].flat().includes('ssm:StartSession') && [s.Resource].flat().some((r) => r.includes(':instance/')),
  )!;
  expect(onInstances.Condition?.StringEquals?.['ssm:resourceTag/aws:cloudformation:logical-id']).toBe(
    'BastionInstance',
  );
  expect(bastionText).toMatch(/^ {2}BastionInstance:\n {4}Type: AWS::EC2::Instance/m);
  expect(guide).toContain('(iam/operator-policy.json)');
});
