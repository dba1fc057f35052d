// docs/deployment-guide.md stays true to the templates: a table per template listing every
// parameter with its label and default, launch buttons for both entrypoints, a cost table whose
// arithmetic adds up and whose assumptions are the templates' defaults, and the sections a user needs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allTemplatePaths, entrypointPaths, loadTemplate, repoRoot } from './cfn-template';

const guide = readFileSync(join(repoRoot, 'docs/deployment-guide.md'), 'utf8');
const lines = guide.split('\n');

/** The table rows under the heading that names `path`, up to the next heading. */
function parameterRows(path: string): { name: string; label: string; def: string }[] {
  const start = lines.findIndex((l) => /^#{2,4} /.test(l) && l.includes(`\`${path}\``));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /^#{2,4} /.test(l));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .map((l) => /^\| `([A-Za-z0-9]+)` \| (.*?) \| (.*?) \| /.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, label: m[2]!, def: m[3]! }));
}

const shownDefault = (d: string | number | undefined) =>
  d === undefined ? '**required**' : d === '' ? '*(empty)*' : `\`${d}\``;

describe.each(allTemplatePaths())('%s', (path) => {
  const t = loadTemplate(path);
  const rows = parameterRows(path);

  test('has a parameter table listing exactly its parameters', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(t.Parameters ?? {}).sort());
  });

  test('shows each parameter with its console label and default', () => {
    const labels = (
      t.Metadata!['AWS::CloudFormation::Interface'] as { ParameterLabels: Record<string, { default: string }> }
    ).ParameterLabels;
    const problems = rows.flatMap((r) => {
      const p = t.Parameters![r.name]!;
      const out: string[] = [];
      if (r.def !== shownDefault(p.Default))
        out.push(`${r.name}: default ${r.def}, template says ${shownDefault(p.Default)}`);
      if (r.label !== labels[r.name]!.default.replace(/\|/g, '\\|'))
        out.push(`${r.name}: label ${r.label}, template says ${labels[r.name]!.default}`);
      return out;
    });
    expect(problems).toEqual([]);
  });
});

test.each(entrypointPaths)('has a launch-stack button for %s', (path) => {
  const button = new RegExp(
    `\\[!\\[Launch Stack\\]\\([^)]+\\)\\]\\(https://console\\.aws\\.amazon\\.com/cloudformation/home\\?region=[a-z0-9-]+#/stacks/create/review\\?templateURL=https://[^)]*/${path.replace(/\./g, '\\.')}[^)]*param_QSS3BucketName=`,
  );
  expect(guide).toMatch(button);
});

test('has the sections a user needs', () => {
  const headings = lines.filter((l) => l.startsWith('## ')).map((l) => l.slice(3));
  expect(headings).toEqual(
    expect.arrayContaining([
      'Architecture',
      'Prerequisites',
      'What the defaults cost per month',
      'Launch',
      'Parameters',
      'The IAM policy needed to deploy',
      'Troubleshooting',
      'Teardown',
    ]),
  );
  expect(guide).toContain('```mermaid');
  expect(guide).toContain('(iam/deploy-policy.json)');
});

describe('the cost table', () => {
  const start = lines.findIndex((l) => l === '## What the defaults cost per month');
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  const rows = lines
    .slice(start, end)
    .filter((l) => l.startsWith('| '))
    .map((l) => l.split('|').map((c) => c.trim()))
    .filter((c) => c[1] !== 'Item' && !c[1]!.startsWith('---'));
  const money = (cell: string) => Number(/\$([0-9,]+\.[0-9]{2})/.exec(cell)?.[1]?.replace(/,/g, '') ?? NaN);
  const items = rows.filter((c) => !c[1]!.includes('Total'));
  const total = rows.find((c) => c[1]!.includes('Total'))!;

  test('each line’s arithmetic gives its monthly figure', () => {
    const checked = items.filter((c) => /^[0-9.() +×]+$/.test(c[4]!));
    expect(checked.length).toBeGreaterThanOrEqual(10);
    for (const c of checked) {
      const value = Function(`return ${c[4]!.replace(/×/g, '*')}`)() as number;
      expect([c[1], Math.abs(value - money(c[5]!)) < 0.01]).toEqual([c[1], true]);
    }
  });

  test('the lines add up to the total', () => {
    // Lines given as an upper bound ("< $0.10") are too small to count.
    const sum = items
      .filter((c) => !c[5]!.startsWith('<'))
      .map((c) => money(c[5]!))
      .filter((n) => !Number.isNaN(n))
      .reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(money(total[5]!), 2);
  });

  test('each line’s arithmetic counts its quantity', () => {
    // "3 × 50 GiB" is 150 GiB: the arithmetic starts from the quantity the line states.
    const problems = items
      .filter((c) => c[4] !== '')
      .flatMap((c) => {
        const numbers = [...c[2]!.matchAll(/[0-9]+(?:\.[0-9]+)?/g)].map((m) => Number(m[0]));
        const quantity = numbers.reduce((a, b) => a * b, 1);
        const first = Number(/^\(?([0-9.]+)/.exec(c[4]!)?.[1]);
        return quantity > 1 && first !== quantity ? [`${c[1]}: quantity ${c[2]}, arithmetic ${c[4]}`] : [];
      });
    expect(problems).toEqual([]);
  });

  test('assumes the defaults the templates actually have', () => {
    // What the guide's cost section says the defaults are (its table and the sentence above it),
    // next to what the new-VPC entrypoint's defaults make.
    const entry = loadTemplate('templates/kubecfn-entrypoint-new-vpc.template.yaml').Parameters!;
    const d = (name: string) => String(entry[name]!.Default);
    const enabled = (name: string) => d(name) === 'Enabled';
    const bastionVolume = String(
      loadTemplate('submodules/bastion/templates/bastion.template.yaml').Parameters!.RootVolumeSize!.Default,
    );
    const azs = Number(d('NumberOfAZs'));
    const nats = d('NATGateways') === 'PerAZ' ? azs : 1;
    const agents = enabled('AgentPartition') ? Number(d('AgentDesiredSize')) : 0;
    const gravitons = enabled('GravitonPartition') ? Number(d('GravitonDesiredSize')) : 0;
    const nodes = Number(d('SystemDesiredSize')) + agents + gravitons;
    const firstType = (name: string) => d(name).split(',')[0];
    const templatesMake = {
      controlPlaneSupport: d('UpgradeSupportType'),
      natGateways: nats,
      elasticIps: nats,
      systemNodes: [Number(d('SystemDesiredSize')), firstType('SystemInstanceTypes')],
      agentNodes: agents ? [agents, firstType('AgentInstanceTypes')] : 'none',
      gravitonNodes: gravitons ? [gravitons, firstType('GravitonInstanceTypes')] : 'none',
      nodeRootVolumes: [nodes, Number(d('NodeVolumeSize'))],
      bastion: enabled('ProvisionBastionHost') ? d('BastionInstanceType') : 'none',
      bastionRootVolume: enabled('ProvisionBastionHost') ? Number(bastionVolume) : 'none',
      jenkinsLoadBalancer: enabled('JenkinsWorkload')
        ? d('JenkinsAccessCIDR') === ''
          ? 'internal'
          : 'internet-facing'
        : 'none',
      efs: enabled('EfsStorage') ? d('EfsThroughputMode') : 'none',
      kmsKeyCreated: d('SecretsKmsKeyArn') === '',
      controlPlaneLogs: d('ControlPlaneLogTypes'),
      sentence: { availabilityZones: azs, natPerZone: d('NATGateways') === 'PerAZ' },
    };

    const row = (item: RegExp) => items.find((c) => item.test(c[1]!));
    const count = (cell: string | undefined) => Number(/^[^0-9]*([0-9]+)/.exec(cell ?? '')?.[1] ?? NaN);
    const code = (cell: string | undefined) => /`([^`]+)`/.exec(cell ?? '')?.[1];
    const system = row(/^System nodes/);
    const agent = row(/^Agent nodes?\b/);
    const graviton = row(/^Graviton nodes?\b/);
    const volumes = /^([0-9]+) × ([0-9]+) GiB$/.exec(row(/^Node root volumes/)?.[2] ?? '');
    const bastion = row(/^Bastion, /);
    const nlb = row(/^Network Load Balancer \(Jenkins\)/);
    const efs = row(/^EFS\b/);
    const logs = /control plane ([a-zA-Z/]+)/.exec(row(/^CloudWatch Logs/)?.[1] ?? '')?.[1];
    const words: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6 };
    const prose = lines.slice(start, end).join(' ');
    const zones = /The defaults are: ([a-z]+) Availability Zones with (a NAT gateway in each|one NAT gateway)/.exec(
      prose,
    );
    const guideSays = {
      controlPlaneSupport: /^EKS control plane \(([a-z]+) support\)/
        .exec(row(/^EKS control plane/)?.[1] ?? '')?.[1]
        ?.toUpperCase(),
      natGateways: count(row(/^NAT gateways/)?.[2]),
      elasticIps: count(row(/Elastic IPs/)?.[2]),
      systemNodes: [count(system?.[2]), code(system?.[1])],
      agentNodes: agent ? [count(agent[2]), /`([^`]+)`-class/.exec(agent[1]!)?.[1]] : 'none',
      gravitonNodes: graviton ? [count(graviton[2]), code(graviton[1])] : 'none',
      nodeRootVolumes: [Number(volumes?.[1]), Number(volumes?.[2])],
      bastion: bastion ? code(bastion[1]) : 'none',
      bastionRootVolume: row(/^Bastion root volume/) ? count(row(/^Bastion root volume/)![2]) : 'none',
      jenkinsLoadBalancer: nlb
        ? /internal Network Load Balancer/.test(prose)
          ? 'internal'
          : 'internet-facing'
        : 'none',
      efs: efs ? /^EFS, ([A-Za-z]+) throughput/.exec(efs[1]!)?.[1]?.toLowerCase() : 'none',
      kmsKeyCreated: row(/^KMS key/) !== undefined,
      controlPlaneLogs: logs?.replace(/\//g, ','),
      sentence: { availabilityZones: words[zones?.[1] ?? ''], natPerZone: zones?.[2] === 'a NAT gateway in each' },
    };
    expect(guideSays).toEqual(templatesMake);
  });
});
