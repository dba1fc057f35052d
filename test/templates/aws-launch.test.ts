// What would refuse or break a launch in a real AWS account that cfn-lint cannot see: functions
// CloudFormation refuses inside Rules, defaults that fail outside one Region, endpoint settings the
// nodes and providers cannot work with, an extra admin that collides with the deployer's access
// entry, zones EKS refuses, and an existing VPC whose subnets are not what the user says they are.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { allTemplatePaths, entrypointPaths, loadTemplate, repoRoot, requiredParameterSamples } from './cfn-template';
import { accountFor, evaluateRuleExpression, functionsInRules, ruleFunctions } from './rule-functions';

const templates = allTemplatePaths().map((path) => ({ path, t: loadTemplate(path) }));
const withRules = templates.filter(({ t }) => Object.keys(t.Rules ?? {}).length > 0);

describe('Rules use the rule functions only (CloudFormation refuses Fn::Join, Fn::If, Fn::Sub … there)', () => {
  test('the templates with rules are the entrypoints, the EKS, functions, Jenkins and bastion templates', () => {
    expect(withRules.map(({ path }) => path).sort()).toEqual(
      [
        'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
        'templates/kubecfn-entrypoint-new-vpc.template.yaml',
        'templates/kubecfn-eks.template.yaml',
        'templates/kubecfn-functions.template.yaml',
        'templates/workloads/kubecfn-jenkins.template.yaml',
        'submodules/bastion/templates/bastion.template.yaml',
      ].sort(),
    );
  });

  test.each(templates)('$path: every function inside Rules is a rule function', ({ t }) => {
    const refused = functionsInRules(t)
      .filter(({ fn }) => !ruleFunctions.has(fn))
      .map(({ where, fn }) => `${where}: ${fn}`);
    expect(refused).toEqual([]);
  });

  test.each(withRules)('$path: every rule evaluates with the rule functions alone, on the defaults', ({ t }) => {
    const values = { 'AWS::Region': 'eu-west-1', ...requiredParameterSamples(t) };
    for (const body of Object.values(t.Rules!)) {
      if (body.RuleCondition !== undefined)
        evaluateRuleExpression(t, body.RuleCondition, values, accountFor(t, values));
      for (const a of body.Assertions) evaluateRuleExpression(t, a.Assert, values, accountFor(t, values));
    }
  });
});

describe('Availability Zones EKS refuses', () => {
  /** Zone IDs where EKS will not place a control plane (UnsupportedAvailabilityZoneException). */
  const refused = ['use1-az3', 'usw1-az2', 'cac1-az3'];
  const taskcat = parse(readFileSync(join(repoRoot, '.taskcat.yml'), 'utf8')) as {
    project: { az_blacklist?: string[]; regions: string[] };
    tests: Record<string, { az_blacklist?: string[]; regions?: string[]; parameters?: Record<string, string> }>;
  };
  // taskcat validates az_blacklist against its own list of zone IDs, which lacks usw1-az2 and cac1-az3.
  // (The schema ships with taskcat in its virtual environment, which npm test's bootstrap creates.)
  const lib = join(repoRoot, '.venv/taskcat/lib');
  const python = readdirSync(lib).find((d) => existsSync(join(lib, d, 'site-packages/taskcat/cfg/config_schema.json')));
  const schema = JSON.parse(
    readFileSync(join(lib, python ?? 'python3', 'site-packages/taskcat/cfg/config_schema.json'), 'utf8'),
  ) as { definitions: { ProjectConfig: { properties: { az_blacklist: { items: { pattern: string } } } } } };
  const knownToTaskcat = (id: string) =>
    new RegExp(`^${schema.definitions.ProjectConfig.properties.az_blacklist.items.pattern}$`).test(id);

  test('taskcat never generates them for any test: every one taskcat knows is blacklisted for the project', () => {
    const expected = refused.filter(knownToTaskcat);
    expect(expected).toContain('use1-az3');
    expect(taskcat.project.az_blacklist ?? []).toEqual(expect.arrayContaining(expected));
    for (const [name, test] of Object.entries(taskcat.tests))
      if (test.az_blacklist) expect([name, test.az_blacklist]).toEqual([name, expect.arrayContaining(expected)]);
  });

  test('no test runs in a Region whose refused zone taskcat cannot blacklist', () => {
    const regionOf: Record<string, string> = { use1: 'us-east-1', usw1: 'us-west-1', cac1: 'ca-central-1' };
    const unguarded = refused.filter((id) => !knownToTaskcat(id)).map((id) => regionOf[id.split('-')[0]!]!);
    const regions = new Set(Object.values(taskcat.tests).flatMap((t) => t.regions ?? taskcat.project.regions));
    expect([...regions].filter((r) => unguarded.includes(r))).toEqual([]);
  });

  test('the parameters that choose zones or subnets name them, and so does the guide', () => {
    const guide = readFileSync(join(repoRoot, 'docs/deployment-guide.md'), 'utf8');
    const described = [
      loadTemplate(entrypointPaths[0]!).Parameters!.AvailabilityZones!.Description!,
      loadTemplate(entrypointPaths[1]!).Parameters!.PrivateSubnet1ID!.Description!,
    ];
    for (const text of [...described, guide]) for (const id of refused) expect(text).toContain(id);
  });
});

describe('the additional admin is never the deployer', () => {
  // EKS creates the creator's access entry (BootstrapClusterCreatorAdminPermissions); a second
  // AWS::EKS::AccessEntry for the same principal fails with 409.
  test('EKS gives the creator its own access entry', () => {
    const cluster = loadTemplate('templates/kubecfn-eks.template.yaml').Resources.Cluster!;
    expect(cluster.Properties!.AccessConfig).toMatchObject({ BootstrapClusterCreatorAdminPermissions: true });
  });

  test.each(
    [...entrypointPaths, 'templates/kubecfn-eks.template.yaml'].flatMap((path) =>
      ['AdditionalAdminRoleArn', 'AdditionalAdminUserArn'].map((name) => ({ path, name })),
    ),
  )('$path $name: says not to name the principal that creates the stack, and why', ({ path, name }) => {
    const text = loadTemplate(path).Parameters![name]!.Description!;
    expect(text).not.toMatch(/your SSO role/);
    expect(text).toMatch(/Never the (role|user) that creates the stack/);
    expect(text).toMatch(/409/);
  });
});
