// docs/iam/deploy-policy.json is the least-privilege policy a person or pipeline needs to launch and
// delete the stacks. It must stay valid, free of wildcard actions, and in step with the templates:
// every resource type a template declares needs its create and delete calls in the policy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allTemplatePaths, loadTemplate, repoRoot } from './cfn-template';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  NotAction?: unknown;
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policyPath = join(repoRoot, 'docs/iam/deploy-policy.json');
const policy = JSON.parse(readFileSync(policyPath, 'utf8')) as { Version: string; Statement: Statement[] };
const allowed = new Set(policy.Statement.flatMap((s) => [s.Action].flat()));

/**
 * The calls CloudFormation makes with the deployer's credentials to create and delete each resource
 * type (a new type in a template fails the coverage test until it is added here and to the policy).
 */
const callsPerType: Record<string, string[]> = {
  'AWS::CloudFormation::Stack': [
    'cloudformation:CreateStack',
    'cloudformation:DeleteStack',
    'cloudformation:DescribeStacks',
  ],
  'AWS::CloudFormation::WaitConditionHandle': [],
  'AWS::EC2::VPC': ['ec2:CreateVpc', 'ec2:DeleteVpc', 'ec2:ModifyVpcAttribute', 'ec2:DescribeVpcs'],
  'AWS::EC2::InternetGateway': ['ec2:CreateInternetGateway', 'ec2:DeleteInternetGateway'],
  'AWS::EC2::VPCGatewayAttachment': ['ec2:AttachInternetGateway', 'ec2:DetachInternetGateway'],
  'AWS::EC2::Subnet': ['ec2:CreateSubnet', 'ec2:DeleteSubnet', 'ec2:DescribeSubnets'],
  'AWS::EC2::RouteTable': ['ec2:CreateRouteTable', 'ec2:DeleteRouteTable'],
  'AWS::EC2::Route': ['ec2:CreateRoute', 'ec2:DeleteRoute'],
  'AWS::EC2::SubnetRouteTableAssociation': ['ec2:AssociateRouteTable', 'ec2:DisassociateRouteTable'],
  'AWS::EC2::EIP': ['ec2:AllocateAddress', 'ec2:ReleaseAddress'],
  'AWS::EC2::NatGateway': ['ec2:CreateNatGateway', 'ec2:DeleteNatGateway'],
  'AWS::EC2::VPCEndpoint': ['ec2:CreateVpcEndpoint', 'ec2:DeleteVpcEndpoints'],
  'AWS::EC2::FlowLog': ['ec2:CreateFlowLogs', 'ec2:DeleteFlowLogs', 'iam:PassRole'],
  'AWS::EC2::SecurityGroup': [
    'ec2:CreateSecurityGroup',
    'ec2:DeleteSecurityGroup',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupEgress',
  ],
  'AWS::EC2::SecurityGroupIngress': ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
  'AWS::EC2::LaunchTemplate': ['ec2:CreateLaunchTemplate', 'ec2:DeleteLaunchTemplate'],
  'AWS::EC2::Instance': ['ec2:RunInstances', 'ec2:TerminateInstances', 'iam:PassRole'],
  'AWS::EFS::FileSystem': ['elasticfilesystem:CreateFileSystem', 'elasticfilesystem:DeleteFileSystem'],
  'AWS::EFS::MountTarget': [
    'elasticfilesystem:CreateMountTarget',
    'elasticfilesystem:DeleteMountTarget',
    'ec2:CreateNetworkInterface',
  ],
  'AWS::EKS::Cluster': [
    'eks:CreateCluster',
    'eks:DeleteCluster',
    'eks:DescribeCluster',
    'iam:PassRole',
    'kms:CreateGrant',
    'kms:DescribeKey',
  ],
  'AWS::EKS::Nodegroup': ['eks:CreateNodegroup', 'eks:DeleteNodegroup', 'iam:PassRole', 'iam:CreateServiceLinkedRole'],
  'AWS::EKS::Addon': ['eks:CreateAddon', 'eks:DeleteAddon', 'eks:DescribeAddon'],
  'AWS::EKS::AccessEntry': ['eks:CreateAccessEntry', 'eks:DeleteAccessEntry', 'eks:AssociateAccessPolicy'],
  'AWS::EKS::PodIdentityAssociation': [
    'eks:CreatePodIdentityAssociation',
    'eks:DeletePodIdentityAssociation',
    'iam:PassRole',
  ],
  'AWS::IAM::Role': ['iam:CreateRole', 'iam:DeleteRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy'],
  'AWS::IAM::RolePolicy': ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
  'AWS::IAM::InstanceProfile': [
    'iam:CreateInstanceProfile',
    'iam:DeleteInstanceProfile',
    'iam:AddRoleToInstanceProfile',
  ],
  'AWS::KMS::Key': ['kms:CreateKey', 'kms:ScheduleKeyDeletion', 'kms:EnableKeyRotation'],
  'AWS::KMS::Alias': ['kms:CreateAlias', 'kms:DeleteAlias'],
  'AWS::Logs::LogGroup': ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy'],
  'AWS::Lambda::Function': ['lambda:CreateFunction', 'lambda:DeleteFunction', 'iam:PassRole', 's3:GetObject'],
  'AWS::Lambda::LayerVersion': ['lambda:PublishLayerVersion', 'lambda:DeleteLayerVersion', 's3:GetObject'],
  'AWS::Lambda::EventInvokeConfig': [
    'lambda:PutFunctionEventInvokeConfig',
    'lambda:UpdateFunctionEventInvokeConfig',
    'lambda:DeleteFunctionEventInvokeConfig',
  ],
  'AWS::S3::Bucket': [
    's3:CreateBucket',
    's3:DeleteBucket',
    's3:PutEncryptionConfiguration',
    's3:PutBucketPublicAccessBlock',
    's3:PutBucketOwnershipControls',
  ],
  'AWS::S3::BucketPolicy': ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy'],
  // A custom resource is a call to its provider's function.
  'Custom::': ['lambda:InvokeFunction'],
  'AWS::CloudFormation::CustomResource': ['lambda:InvokeFunction'],
};

const typesInTemplates = new Set(
  allTemplatePaths().flatMap((p) =>
    Object.values(loadTemplate(p).Resources).map((r) => (r.Type.startsWith('Custom::') ? 'Custom::' : r.Type)),
  ),
);

/** The IAM service prefix of a resource type's service, e.g. AWS::EFS::FileSystem → elasticfilesystem. */
function servicePrefix(type: string): string {
  if (type.startsWith('Custom::')) return 'lambda';
  const service = type.split('::')[1]!;
  return ({ EFS: 'elasticfilesystem' } as Record<string, string>)[service] ?? service.toLowerCase();
}

test('is a valid policy document of Allow statements with explicit actions', () => {
  expect(policy.Version).toBe('2012-10-17');
  expect(policy.Statement.length).toBeGreaterThan(5);
  for (const s of policy.Statement) {
    expect(s.Effect).toBe('Allow');
    expect(s.NotAction).toBeUndefined();
    expect(s.Resource).toBeDefined();
    for (const a of [s.Action].flat()) expect(a).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/);
  }
  const sids = policy.Statement.map((s) => s.Sid);
  expect(new Set(sids).size).toBe(sids.length);
});

test('no statement allows Action "*" or a whole service, and no action is listed twice', () => {
  const actions = policy.Statement.flatMap((s) => [s.Action].flat());
  expect(actions.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
  expect(actions.length).toBe(new Set(actions).size);
});

test('covers every AWS service whose resource types the templates declare', () => {
  const services = new Set([...typesInTemplates].map(servicePrefix));
  // AMI IDs come from public SSM parameters (AWS::SSM::Parameter::Value<...> parameter types).
  const usesSsmParameters = allTemplatePaths().some((p) =>
    Object.values(loadTemplate(p).Parameters ?? {}).some((x) => x.Type.startsWith('AWS::SSM::Parameter::Value')),
  );
  if (usesSsmParameters) services.add('ssm');
  const prefixes = new Set([...allowed].map((a) => a.split(':')[0]));
  expect([...services].filter((s) => !prefixes.has(s))).toEqual([]);
  expect(services).toEqual(
    new Set(['cloudformation', 'ec2', 'eks', 'elasticfilesystem', 'iam', 'kms', 'lambda', 'logs', 's3', 'ssm']),
  );
});

test('knows the calls for every resource type the templates declare', () => {
  expect([...typesInTemplates].filter((t) => !(t in callsPerType))).toEqual([]);
});

test.each(Object.entries(callsPerType).filter(([t]) => typesInTemplates.has(t)))(
  'allows what %s needs: %j',
  (_type, calls) => {
    expect(calls.filter((c) => !allowed.has(c))).toEqual([]);
  },
);

test('passes roles only to the services the templates give them to', () => {
  const passRole = policy.Statement.find((s) => [s.Action].flat().includes('iam:PassRole'))!;
  const services = passRole.Condition!.StringEquals!['iam:PassedToService'];
  const principals = new Set<string>();
  for (const p of allTemplatePaths()) {
    for (const r of Object.values(loadTemplate(p).Resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const trust = JSON.stringify(r.Properties!.AssumeRolePolicyDocument);
      for (const m of trust.matchAll(/"Service":"([^"]+)"/g)) principals.add(m[1]!);
    }
  }
  expect(new Set([services].flat())).toEqual(principals);
});
