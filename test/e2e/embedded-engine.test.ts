// The embedded CloudFormation engine (scripts/local/cfn-engine) against real moto server and
// the local Lambda service running a bundled provider: ordering and events, nested stacks and
// their outputs, the custom-resource protocol (Create, Update with replacement, Delete), rollback,
// CloudFormation's synchronous validation, failing closed where nothing is emulated, creation
// signals, and EKS's refusals. No Kubernetes involved: the provider is the fault-injection fixture,
// which misbehaves on request, and the EKS cases never reach the control plane they name.
// Zip timestamps are local time: the build helper requires UTC.
process.env.TZ = 'UTC';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  SignalResourceCommand,
  UpdateStackCommand,
  ValidateTemplateCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { bundleProvider } from '../../scripts/dev/build/bundle';
import { startEmbeddedAws, type EmbeddedAws, type EmbeddedConfig } from '../../scripts/local';
import { LocalLambda } from '../../scripts/local';

const bucket = 'engine-test-bucket';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

let dir: string;
let aws: EmbeddedAws;
let lambda: LocalLambda;
let cfn: CloudFormationClient;

const functionTemplate = `
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: 'sts:AssumeRole'}]
  Provider:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs24.x
      Handler: index.handler
      Timeout: 20
      Role: !GetAtt Role.Arn
      Code: {S3Bucket: ${bucket}, S3Key: p/functions/packages/FaultProvider/lambda.zip}
`;

/** The stack's final status, with the failed events' reasons appended when it is not `expected`. */
async function settle(stack: string, expected?: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const status =
      (await cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0]?.StackStatus ?? 'UNKNOWN';
    if (!status.endsWith('_IN_PROGRESS')) {
      if (expected === undefined || status === expected) return status;
      const failures = (await events(stack))
        .filter((e) => e.ResourceStatus?.endsWith('FAILED'))
        .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
      return `${status} (${failures.join('; ')})`;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`stack ${stack} did not settle`);
}

async function events(stack: string): Promise<StackEvent[]> {
  return ((await cfn.send(new DescribeStackEventsCommand({ StackName: stack }))).StackEvents ?? []).reverse();
}

/**
 * Where `item` is in `list` (its first occurrence, or its last with `which: 'last'`), after asserting it
 * is there at all: comparing bare `indexOf` results would let a missing event (-1) pass as "earlier".
 */
function positionOf(list: string[], item: string, which: 'first' | 'last' = 'first'): number {
  expect(list).toContain(item);
  return which === 'first' ? list.indexOf(item) : list.lastIndexOf(item);
}

/** The requests a logical id received, once every invocation has ended (the answer can arrive
 * before the invocation's process has exited and been recorded). */
const requests = async (logicalId: string) => {
  await lambda.idle();
  return lambda.invocations
    .map(
      (i) =>
        i.event as {
          RequestType?: string;
          LogicalResourceId?: string;
          PhysicalResourceId?: string;
          ResourceProperties?: Record<string, unknown>;
        },
    )
    .filter((e) => e.LogicalResourceId === logicalId);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubecfn-engine-test-'));
  const { zipFile } = await bundleProvider(
    resolve(__dirname, '../protocol/fault-provider/fault-provider.ts'),
    join(dir, 'packages'),
    'FaultProvider',
  );
  aws = await startEmbeddedAws({ dir });
  // The local Lambda service runs the functions the engine exports from the stacks' templates.
  const functionsDir = join(dir, 'functions');
  lambda = await LocalLambda.start([], {
    definitionsDir: functionsDir,
    network: { AWS_ENDPOINT_URL: aws.moto.endpoint },
  });
  aws.configure({ lambdaEndpoint: lambda.endpoint, functionsDir });
  const s3 = new S3Client({ region: 'us-east-1', endpoint: aws.moto.endpoint, forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'p/functions/packages/FaultProvider/lambda.zip',
      Body: readFileSync(zipFile),
    }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'p/templates/child.yaml',
      Body: `
Parameters:
  VpcId: {Type: 'AWS::EC2::VPC::Id'}
Resources:
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref VpcId, CidrBlock: 10.1.0.0/24, AvailabilityZone: !Select [0, !GetAZs '']}
Outputs:
  SubnetId: {Value: !Ref Subnet}
`,
    }),
  );
  s3.destroy();
  cfn = new CloudFormationClient({ region: 'us-east-1', endpoint: aws.moto.endpoint, credentials });
}, 120_000);

afterAll(async () => {
  cfn?.destroy();
  await lambda?.stop();
  await aws?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('create', () => {
  test('creates in dependency order with events, reads nested outputs and custom-resource data', async () => {
    const template = `
Parameters:
  Name: {Type: String, AllowedPattern: '^[a-z-]+$', Default: first}
Resources:
${functionTemplate}
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.1.0.0/16}
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Sub https://${bucket}.s3.\${AWS::Region}.\${AWS::URLSuffix}/p/templates/child.yaml
      Parameters: {VpcId: !Ref Vpc}
  Fault:
    Type: Custom::Fault
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      ServiceTimeout: 60
      Mode: ok
      Name: !Ref Name
      Enabled: true
      Steps: 3
      Document: {Subnet: !GetAtt Child.Outputs.SubnetId}
Outputs:
  FaultName: {Value: !GetAtt Fault.Name}
  Subnet: {Value: !GetAtt Child.Outputs.SubnetId}
`;
    await cfn.send(new CreateStackCommand({ StackName: 'ordered', TemplateBody: template }));
    expect(await settle('ordered', 'CREATE_COMPLETE')).toBe('CREATE_COMPLETE');

    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'ordered' }))).Stacks![0]!;
    const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    expect(outputs.FaultName).toBe('first');
    expect(outputs.Subnet).toMatch(/^subnet-/);

    const shown = (await events('ordered')).map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`);
    // The custom resource waited for the nested stack whose output it uses, and for its provider.
    expect(positionOf(shown, 'Fault CREATE_IN_PROGRESS')).toBeGreaterThan(positionOf(shown, 'Child CREATE_COMPLETE'));
    expect(positionOf(shown, 'Fault CREATE_IN_PROGRESS')).toBeGreaterThan(
      positionOf(shown, 'Provider CREATE_COMPLETE'),
    );
    expect(shown.at(-1)).toBe('ordered CREATE_COMPLETE');

    // CloudFormation's request: every scalar as a string.
    const [create] = await requests('Fault');
    expect(create!.RequestType).toBe('Create');
    expect(create!.ResourceProperties).toMatchObject({
      Steps: '3',
      Enabled: 'true',
      ServiceTimeout: '60',
      Name: 'first',
    });
  });

  test('refuses bad parameters synchronously, as CreateStack does', async () => {
    const template = `
Parameters:
  Size: {Type: String, AllowedValues: [small, large]}
Resources:
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
`;
    await expect(
      cfn.send(
        new CreateStackCommand({
          StackName: 'badparam',
          TemplateBody: template,
          Parameters: [{ ParameterKey: 'Size', ParameterValue: 'huge' }],
        }),
      ),
    ).rejects.toThrow("Parameter 'Size' must be one of AllowedValues");
    await expect(cfn.send(new CreateStackCommand({ StackName: 'badparam', TemplateBody: template }))).rejects.toThrow(
      'Parameters: [Size] must have values',
    );
  });

  test('a failed custom resource rolls the stack back, deleting what was created', async () => {
    const template = `
Resources:
${functionTemplate}
  Good:
    Type: Custom::Fault
    Properties: {ServiceToken: !GetAtt Provider.Arn, ServiceTimeout: 60, Mode: ok, Name: good}
  Bad:
    Type: Custom::Fault
    DependsOn: Good
    Properties: {ServiceToken: !GetAtt Provider.Arn, ServiceTimeout: 60, Mode: throw}
`;
    await cfn.send(new CreateStackCommand({ StackName: 'rollback', TemplateBody: template }));
    expect(await settle('rollback')).toBe('ROLLBACK_COMPLETE');
    const all = await events('rollback');
    const failed = all.find((e) => e.LogicalResourceId === 'Bad' && e.ResourceStatus === 'CREATE_FAILED');
    expect(failed?.ResourceStatusReason).toMatch(
      /^Received response status \[FAILED\] from custom resource\. Message returned: .*deliberate failure in the handler/,
    );
    expect(
      all.find((e) => e.LogicalResourceId === 'rollback' && e.ResourceStatus === 'ROLLBACK_IN_PROGRESS')
        ?.ResourceStatusReason,
    ).toBe('The following resource(s) failed to create: [Bad]. Rollback requested by user.');
    // Both custom resources got their Delete: the one that worked and the one that failed (its marker id).
    expect((await requests('Good')).map((e) => e.RequestType)).toEqual(['Create', 'Delete']);
    expect((await requests('Bad')).map((e) => e.RequestType)).toEqual(['Create', 'Delete']);
    expect(all.filter((e) => e.ResourceStatus === 'DELETE_COMPLETE').map((e) => e.LogicalResourceId)).toEqual(
      expect.arrayContaining(['Good', 'Bad', 'Provider', 'Role']),
    );
  });
});

describe('update', () => {
  test('a new physical id is a replacement: the old one gets a Delete with the old properties', async () => {
    const template = (name: string) => `
Resources:
${functionTemplate}
  Swap:
    Type: Custom::Fault
    Properties: {ServiceToken: !GetAtt Provider.Arn, ServiceTimeout: 60, Mode: change-id, Name: ${name}}
`;
    await cfn.send(new CreateStackCommand({ StackName: 'replace', TemplateBody: template('one') }));
    expect(await settle('replace', 'CREATE_COMPLETE')).toBe('CREATE_COMPLETE');
    await cfn.send(new UpdateStackCommand({ StackName: 'replace', TemplateBody: template('two') }));
    expect(await settle('replace', 'UPDATE_COMPLETE')).toBe('UPDATE_COMPLETE');
    const sent = await requests('Swap');
    expect(sent.map((e) => e.RequestType)).toEqual(['Create', 'Update', 'Delete']);
    expect(sent[1]).toMatchObject({
      PhysicalResourceId: 'one-create',
      OldResourceProperties: expect.objectContaining({ Name: 'one' }),
    });
    expect(sent[2]).toMatchObject({
      PhysicalResourceId: 'one-create',
      ResourceProperties: expect.objectContaining({ Name: 'one' }),
    });
    const statuses = (await events('replace')).map((e) => String(e.ResourceStatus));
    // The old resource is deleted in the cleanup phase, after the update itself completed.
    expect(positionOf(statuses, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS')).toBeLessThan(
      positionOf(statuses, 'DELETE_COMPLETE', 'last'),
    );
  });
});

describe('update rollback', () => {
  test('a failed update rolls back: the resource is updated back to its previous properties', async () => {
    const template = (mode: string) => `
Resources:
${functionTemplate}
  Flaky:
    Type: Custom::Fault
    Properties: {ServiceToken: !GetAtt Provider.Arn, ServiceTimeout: 60, Mode: ${mode}, Name: flaky}
  Added:
    Type: Custom::Fault
    Condition: Never
    Properties: {ServiceToken: !GetAtt Provider.Arn, ServiceTimeout: 60, Mode: ok}
Conditions:
  Never: !Equals [a, b]
`;
    await cfn.send(new CreateStackCommand({ StackName: 'flaky', TemplateBody: template('ok') }));
    expect(await settle('flaky', 'CREATE_COMPLETE')).toBe('CREATE_COMPLETE');
    await cfn.send(new UpdateStackCommand({ StackName: 'flaky', TemplateBody: template('throw') }));
    expect(await settle('flaky')).toBe('UPDATE_ROLLBACK_COMPLETE');
    const sent = await requests('Flaky');
    expect(sent.map((e) => `${e.RequestType} ${String(e.ResourceProperties?.Mode)}`)).toEqual([
      'Create ok',
      'Update throw',
      'Update ok',
    ]);
    const reasons = (await events('flaky'))
      .filter((e) => e.ResourceStatus === 'UPDATE_FAILED')
      .map((e) => e.ResourceStatusReason);
    expect(reasons[0]).toMatch(/deliberate failure in the handler/);
    // A resource whose condition is false is never created.
    expect(await requests('Added')).toEqual([]);
  });
});

describe('delete', () => {
  test('deletes in reverse order, custom resources through the provider, AWS resources from moto', async () => {
    const stackId = (await events('ordered'))[0]!.StackId!;
    await cfn.send(new DeleteStackCommand({ StackName: 'ordered' }));
    expect(await settle(stackId)).toBe('DELETE_COMPLETE');
    expect((await requests('Fault')).map((e) => e.RequestType)).toEqual(['Create', 'Delete']);
    const shown = (await events(stackId)).map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`);
    expect(positionOf(shown, 'Fault DELETE_COMPLETE')).toBeLessThan(positionOf(shown, 'Child DELETE_IN_PROGRESS'));
    expect(positionOf(shown, 'Child DELETE_COMPLETE')).toBeLessThan(positionOf(shown, 'Vpc DELETE_IN_PROGRESS'));
    // EC2's query API (moto routes by the credential scope and does not check signatures).
    const res = await fetch(aws.moto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: 'Action=DescribeVpcs&Version=2016-11-15',
    });
    const xml = await res.text();
    expect(xml).toContain('<cidrBlock>172.31.0.0/16</cidrBlock>'); // moto's default VPC: the answer is real
    expect(xml).not.toContain('10.1.0.0/16');
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'ordered' }))).rejects.toThrow('does not exist');
  });
});

/** The reasons of a stack's failed resource events, as `LogicalId: reason`. */
async function failures(stack: string): Promise<string[]> {
  return (await events(stack))
    .filter((e) => e.ResourceStatus?.endsWith('_FAILED') && e.LogicalResourceId !== stack)
    .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
}

describe('fail closed', () => {
  test('a type nobody emulates and a property the type lacks fail the stack, saying why', async () => {
    const template = (resource: string) => `
Resources:
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
${resource}
`;
    await cfn.send(
      new CreateStackCommand({
        StackName: 'not-emulated',
        TemplateBody: template(`
  Schedule:
    Type: AWS::Scheduler::Schedule
    DependsOn: Handle
    Properties: {FlexibleTimeWindow: {Mode: 'OFF'}, ScheduleExpression: rate(1 hour), Target: {Arn: a, RoleArn: r}}`),
      }),
    );
    expect(await settle('not-emulated')).toBe('ROLLBACK_COMPLETE');
    expect(await failures('not-emulated')).toEqual([
      expect.stringMatching(/^Schedule: Resource type AWS::Scheduler::Schedule is not emulated by the local engine/),
    ]);

    await cfn.send(
      new CreateStackCommand({
        StackName: 'bad-property',
        TemplateBody: template('  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.9.0.0/16, Colour: red}}'),
      }),
    );
    expect(await settle('bad-property')).toBe('ROLLBACK_COMPLETE');
    expect(await failures('bad-property')).toEqual(['Vpc: Encountered unsupported property Colour']);
  });

  test('an unknown type or attribute is refused before anything starts', async () => {
    await expect(
      cfn.send(
        new CreateStackCommand({
          StackName: 'unknown-type',
          TemplateBody: 'Resources:\n  A: {Type: AWS::Nope::Thing}\n',
        }),
      ),
    ).rejects.toThrow('Template format error: Unrecognized resource types: [AWS::Nope::Thing]');
    await expect(
      cfn.send(
        new CreateStackCommand({
          StackName: 'unknown-attribute',
          TemplateBody: `
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.9.0.0/16}}
Outputs:
  Made: {Value: !GetAtt Vpc.MadeUp}
`,
        }),
      ),
    ).rejects.toThrow('Template error: resource Vpc does not support attribute type MadeUp in Fn::GetAtt');
  });
});

describe('rules', () => {
  test('a Rule with a function other than the rule functions is refused by ValidateTemplate and CreateStack', async () => {
    const template = (assert: string) => `
Parameters:
  Cidrs: {Type: CommaDelimitedList, Default: 10.0.0.0/8}
Rules:
  NeedsCidrs:
    Assertions:
      - Assert: ${assert}
Resources:
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
`;
    const withJoin = template("!Not [!Equals [!Join ['', !Ref Cidrs], '']]");
    const refusal = 'Template error: rule NeedsCidrs uses Fn::Join, which Rules do not allow';
    await expect(cfn.send(new ValidateTemplateCommand({ TemplateBody: withJoin }))).rejects.toThrow(refusal);
    await expect(cfn.send(new CreateStackCommand({ StackName: 'rule-join', TemplateBody: withJoin }))).rejects.toThrow(
      refusal,
    );
    // The same rule with rule functions only is evaluated
    const ruleFunctions = template("!Not [!EachMemberEquals [!Ref Cidrs, '']]");
    await cfn.send(new ValidateTemplateCommand({ TemplateBody: ruleFunctions }));
    await cfn.send(new CreateStackCommand({ StackName: 'rule-functions', TemplateBody: ruleFunctions }));
    expect(await settle('rule-functions', 'CREATE_COMPLETE')).toBe('CREATE_COMPLETE');
  });
});

describe('creation signals', () => {
  const instance = (timeout: string, userData: string) => `
Resources:
  Box:
    Type: AWS::EC2::Instance
    CreationPolicy: {ResourceSignal: {Count: 1, Timeout: ${timeout}}}
    Properties:
      ImageId: ami-03cf127a
      InstanceType: t3.micro
      UserData: {'Fn::Base64': ${JSON.stringify(userData)}}
`;

  test('an instance whose UserData never signals waits for SignalResource, or times out as in AWS', async () => {
    await cfn.send(
      new CreateStackCommand({ StackName: 'silent', TemplateBody: instance('PT1S', '#!/bin/sh\necho hi\n') }),
    );
    expect(await settle('silent')).toBe('ROLLBACK_COMPLETE');
    expect(await failures('silent')).toEqual([
      'Box: Failed to receive 1 resource signal(s) within the specified duration',
    ]);

    await cfn.send(new CreateStackCommand({ StackName: 'signalled', TemplateBody: instance('PT60S', '#!/bin/sh\n') }));
    for (let i = 0; i < 100; i++) {
      const shown = (await events('signalled')).map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`);
      if (shown.includes('Box CREATE_IN_PROGRESS')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cfn.send(
      new SignalResourceCommand({
        StackName: 'signalled',
        LogicalResourceId: 'Box',
        UniqueId: 'by-hand',
        Status: 'SUCCESS',
      }),
    );
    expect(await settle('signalled', 'CREATE_COMPLETE')).toBe('CREATE_COMPLETE');
    expect((await events('signalled')).map((e) => e.ResourceStatusReason)).toContain(
      'Received SUCCESS signal with UniqueId by-hand',
    );
  });

  test('an instance whose UserData runs cfn-signal is signalled by the engine, and that is listed as emulated', async () => {
    const script = '#!/bin/bash\n/opt/aws/bin/cfn-signal --exit-code 0 --stack s --resource Box --region us-east-1\n';
    await cfn.send(new CreateStackCommand({ StackName: 'self-signal', TemplateBody: instance('PT20M', script) }));
    expect(await settle('self-signal', 'CREATE_COMPLETE')).toBe('CREATE_COMPLETE');
    const listed = JSON.parse(readFileSync(join(dir, 'emulated.json'), 'utf8')) as {
      emulations: { kind: string; stackName: string; logicalResourceId: string }[];
    };
    expect(listed.emulations.filter((e) => e.stackName === 'self-signal').map((e) => e.kind)).toEqual([
      'ec2-instance',
      'creation-signal',
    ]);
  });
});

describe('EKS', () => {
  const cluster = (zoneB: string, extra = '') => `
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.20.0.0/16}}
  SubnetA: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.20.1.0/24, AvailabilityZone: us-east-1a}}
  SubnetB: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.20.2.0/24, AvailabilityZone: ${zoneB}}}
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/eks
      AccessConfig: {AuthenticationMode: API, BootstrapClusterCreatorAdminPermissions: true}
      ResourcesVpcConfig: {SubnetIds: [!Ref SubnetA, !Ref SubnetB]}
${extra}
`;

  // A control plane the engine records but never calls in these cases, added to the configuration.
  let before: string;
  beforeAll(() => {
    before = readFileSync(aws.configPath, 'utf8');
    aws.configure({
      ...(JSON.parse(before) as EmbeddedConfig),
      cluster: { server: 'https://127.0.0.1:9', caData: 'PEM', token: 'unused', version: 'v1.35.4' },
    });
  });

  afterAll(() => aws.configure(JSON.parse(before) as EmbeddedConfig));

  test("a control plane in a zone EKS refuses fails with EKS's UnsupportedAvailabilityZoneException", async () => {
    await cfn.send(new CreateStackCommand({ StackName: 'eks-zone', TemplateBody: cluster('us-east-1e') }));
    expect(await settle('eks-zone')).toBe('ROLLBACK_COMPLETE');
    expect(await failures('eks-zone')).toEqual([
      expect.stringMatching(
        /^Cluster: Resource handler returned message: "Cannot create cluster '[\w-]+' because us-east-1e, the targeted availability zone, does not currently have sufficient capacity to support the cluster\. .*Error Code: UnsupportedAvailabilityZoneException/,
      ),
    ]);
  });

  test('an access entry for the principal that created the cluster fails with 409, as EKS made one already', async () => {
    // moto's STS answers arn:aws:sts::123456789012:user/moto for the test credentials: the creator.
    const entry = `
  CreatorEntry:
    Type: AWS::EKS::AccessEntry
    Properties: {ClusterName: !Ref Cluster, PrincipalArn: 'arn:aws:iam::123456789012:user/moto'}`;
    await cfn.send(new CreateStackCommand({ StackName: 'eks-entry', TemplateBody: cluster('us-east-1b', entry) }));
    expect(await settle('eks-entry')).toBe('ROLLBACK_COMPLETE');
    expect(await failures('eks-entry')).toEqual([
      expect.stringMatching(
        /^CreatorEntry: Resource handler returned message: "The specified access entry resource is already in use on this cluster\. \(Service: Eks, Status Code: 409, Error Code: ResourceInUseException/,
      ),
    ]);
  });

  test('a Version the local control plane does not run fails with a clear reason', async () => {
    const template = cluster('us-east-1b').replace('RoleArn:', "Version: '1.33'\n      RoleArn:");
    await cfn.send(new CreateStackCommand({ StackName: 'eks-version', TemplateBody: template }));
    expect(await settle('eks-version')).toBe('ROLLBACK_COMPLETE');
    expect(await failures('eks-version')).toEqual([
      expect.stringMatching(
        /^Cluster: Kubernetes version 1\.33 is not emulated: the local control plane runs Kubernetes v1\.35\.4/,
      ),
    ]);
  });
});
