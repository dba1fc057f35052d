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
    `\\[!\\[Launch Stack\\]\\([^)]+\\)\\]\\(https://console\\.aws\\.amazon\\.com/cloudformation/home\\?region=[a-z0-9-]+#/stacks/new\\?[^)]*templateURL=https://[^)]*/${path.replace(/\./g, '\\.')}[^)]*param_QSS3BucketName=`,
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

  test('assumes the defaults the templates actually have', () => {
    const entry = loadTemplate('templates/kubecfn-entrypoint-new-vpc.template.yaml').Parameters!;
    const d = (name: string) => String(entry[name]!.Default);
    expect({
      NumberOfAZs: d('NumberOfAZs'),
      NATGateways: d('NATGateways'),
      SystemInstanceTypes: d('SystemInstanceTypes'),
      SystemDesiredSize: d('SystemDesiredSize'),
      AgentPartition: d('AgentPartition'),
      AgentDesiredSize: d('AgentDesiredSize'),
      NodeVolumeSize: d('NodeVolumeSize'),
      ProvisionBastionHost: d('ProvisionBastionHost'),
      BastionInstanceType: d('BastionInstanceType'),
      JenkinsWorkload: d('JenkinsWorkload'),
      GravitonPartition: d('GravitonPartition'),
      UpgradeSupportType: d('UpgradeSupportType'),
    }).toEqual({
      NumberOfAZs: '3',
      NATGateways: 'PerAZ',
      SystemInstanceTypes: 'm6i.large',
      SystemDesiredSize: '2',
      AgentPartition: 'Enabled',
      AgentDesiredSize: '1',
      NodeVolumeSize: '50',
      ProvisionBastionHost: 'Enabled',
      BastionInstanceType: 't3.micro',
      JenkinsWorkload: 'Enabled',
      GravitonPartition: 'Disabled',
      UpgradeSupportType: 'STANDARD',
    });
    expect(
      String(loadTemplate('submodules/bastion/templates/bastion.template.yaml').Parameters!.RootVolumeSize!.Default),
    ).toBe('20');
  });
});
