// What would refuse or break a launch in a real AWS account that cfn-lint cannot see: functions
// CloudFormation refuses inside Rules, defaults that fail outside one Region, endpoint settings the
// nodes and providers cannot work with, an extra admin that collides with the deployer's access
// entry, zones EKS refuses, and an existing VPC whose subnets are not what the user says they are.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  allTemplatePaths,
  clusterEntrypointPaths,
  entrypointPaths,
  loadTemplate,
  repoRoot,
  requiredParameterSamples,
} from './cfn-template';
import {
  accountFor,
  evaluateRuleExpression,
  functionsInRules,
  refusedBy,
  refusingRules,
  ruleFunctions,
  type Account,
} from './rule-functions';
import { resolveValue } from './resolve';

const templates = allTemplatePaths().map((path) => ({ path, t: loadTemplate(path) }));
const withRules = templates.filter(({ t }) => Object.keys(t.Rules ?? {}).length > 0);

describe('Rules use the rule functions only (CloudFormation refuses Fn::Join, Fn::If, Fn::Sub … there)', () => {
  test('the templates with rules are the entrypoints, the EKS, functions, Jenkins and bastion templates', () => {
    expect(withRules.map(({ path }) => path).sort()).toEqual(
      [
        'templates/kubecfn-entrypoint-existing-cluster.template.yaml',
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

  // YAML short forms exist for Fn::And, Fn::Equals, Fn::Not, Fn::Or and Ref only; the other rule
  // functions are written in full (Fn::Contains: [...]), as the CloudFormation documentation does.
  test.each(withRules)('$path: rule functions without a YAML short form are written in full', ({ path }) => {
    const text = readFileSync(join(repoRoot, path), 'utf8');
    expect(text.match(/!(Contains|EachMemberEquals|EachMemberIn|RefAll|ValueOf|ValueOfAll)\b/g) ?? []).toEqual([]);
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
    [...clusterEntrypointPaths, 'templates/kubecfn-eks.template.yaml'].flatMap((path) =>
      ['AdditionalAdminRoleArn', 'AdditionalAdminUserArn'].map((name) => ({ path, name })),
    ),
  )('$path $name: says not to name the principal that creates the stack, and why', ({ path, name }) => {
    const text = loadTemplate(path).Parameters![name]!.Description!;
    expect(text).not.toMatch(/your SSO role/);
    expect(text).toMatch(/Never the (role|user) that creates the stack/);
    expect(text).toMatch(/409/);
  });
});

describe('the existing-VPC entrypoint checks the VPC it is given', () => {
  const path = 'templates/kubecfn-entrypoint-existing-vpc.template.yaml';
  const t = loadTemplate(path);
  const vpc = 'vpc-0aaaaaaaaaaaaaaaa';
  const given = { VPCID: vpc, VPCCIDR: '10.1.0.0/16', PrivateSubnet1ID: 'subnet-01', PrivateSubnet2ID: 'subnet-02' };
  /** The rules refusing `given` in an account holding these subnets. */
  const refusedIn = (subnets: Account) =>
    refusingRules(t, { 'AWS::Region': 'us-west-2', ...requiredParameterSamples(t), ...given }, subnets).map(
      (r) => r.rule,
    );

  test('every subnet-typed parameter is looked up (Fn::ValueOfAll covers the parameters of one type)', () => {
    const subnetParams = Object.entries(t.Parameters!)
      .filter(([, p]) => p.Type === 'AWS::EC2::Subnet::Id')
      .map(([n]) => n);
    expect(subnetParams.sort()).toEqual(['PrivateSubnet1ID', 'PrivateSubnet2ID']);
  });

  test('accepts two private subnets of the VPC in two zones', () => {
    expect(
      refusedIn({
        'subnet-01': { VpcId: vpc, AvailabilityZone: 'us-west-2a' },
        'subnet-02': { VpcId: vpc, AvailabilityZone: 'us-west-2b' },
      }),
    ).toEqual([]);
  });

  test('refuses a subnet of another VPC', () => {
    expect(
      refusedIn({
        'subnet-01': { VpcId: vpc, AvailabilityZone: 'us-west-2a' },
        'subnet-02': { VpcId: 'vpc-0bbbbbbbbbbbbbbbb', AvailabilityZone: 'us-west-2b' },
      }),
    ).toEqual(['SubnetsInTheVpc']);
  });

  test('refuses two subnets in one zone', () => {
    expect(
      refusedIn({
        'subnet-01': { VpcId: vpc, AvailabilityZone: 'us-west-2a' },
        'subnet-02': { VpcId: vpc, AvailabilityZone: 'us-west-2a' },
      }),
    ).toEqual(['SubnetsInTwoZones']);
  });
});

describe('QSS3BucketRegion works in every Region by default', () => {
  const parents = [...entrypointPaths, 'templates/kubecfn-eks.template.yaml'].map((path) => ({
    path,
    t: loadTemplate(path),
  }));
  const withCodeRule = [...entrypointPaths, 'templates/kubecfn-functions.template.yaml'].map((path) => ({
    path,
    t: loadTemplate(path),
  }));
  const regions = ['eu-west-1', 'ap-southeast-2', 'us-east-1'];

  test.each(withCodeRule.flatMap((x) => regions.map((region) => ({ ...x, region }))))(
    '$path: the defaults (a custom bucket, no Region given) pass the rules in $region',
    ({ t, region }) => {
      expect(refusedBy(t, { QSS3BucketName: 'my-kubecfn-bucket' }, region)).toEqual([]);
    },
  );

  test.each(withCodeRule)('$path: a bucket in any Region is accepted, the stack’s or another', ({ t }) => {
    const values = { QSS3BucketName: 'my-kubecfn-bucket' };
    expect(refusedBy(t, { ...values, QSS3BucketRegion: 'us-east-1' }, 'eu-west-1')).toEqual([]);
    expect(refusedBy(t, { ...values, QSS3BucketRegion: 'eu-west-1' }, 'eu-west-1')).toEqual([]);
  });

  test.each(parents)('$path: with the bucket in another Region, nested templates load from there', ({ t }) => {
    for (const [id, r] of Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::CloudFormation::Stack')) {
      const url = String(
        resolveValue(t, r.Properties!.TemplateURL, {
          'AWS::Region': 'eu-west-1',
          'AWS::URLSuffix': 'amazonaws.com',
          QSS3BucketName: 'my-kubecfn-bucket',
          QSS3BucketRegion: 'us-east-1',
        }),
      );
      expect([id, url]).toEqual([
        id,
        expect.stringMatching(/^https:\/\/my-kubecfn-bucket\.s3\.us-east-1\.amazonaws\.com\/kubecfn\//),
      ]);
    }
  });

  test.each(parents)('$path: nested templates load from the stack’s Region unless a Region is given', ({ t }) => {
    const stacks = Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::CloudFormation::Stack');
    expect(stacks.length).toBeGreaterThan(0);
    for (const [id, r] of stacks) {
      const url = (given: Record<string, string>) =>
        String(
          resolveValue(t, r.Properties!.TemplateURL, {
            'AWS::Region': 'eu-west-1',
            'AWS::URLSuffix': 'amazonaws.com',
            QSS3BucketName: 'my-kubecfn-bucket',
            ...given,
          }),
        );
      expect([id, url({})]).toEqual([
        id,
        expect.stringMatching(/^https:\/\/my-kubecfn-bucket\.s3\.eu-west-1\.amazonaws\.com\/kubecfn\//),
      ]);
      expect([id, url({ QSS3BucketRegion: 'eu-west-1' })]).toEqual([id, url({})]);
    }
  });
});
