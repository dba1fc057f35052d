// A provider reaches the cluster the way every AWS deployment does, and the local cloud refuses
// what AWS refuses: a stack whose provider role may call eks:DescribeCluster and has an access entry
// reads the cluster; without the permission, IAM's words name the action; without the entry, the API
// server answers 401; a second access entry for the stack's creator fails with EKS's 409.
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { eksClusterResources, uploadObjects } from '../helpers/local-stacks';
import { LocalDeployment, localRegion } from '../../scripts/local';
import { packageZip } from '../helpers/provider-harness';

const bucket = 'kubecfn-access-test';
let local: LocalDeployment;
let cfn: CloudFormationClient;
let seq = 0;

beforeAll(async () => {
  local = await LocalDeployment.start(() => undefined);
  const credentials = local.aws.deployer;
  cfn = new CloudFormationClient({ region: localRegion, endpoint: local.aws.moto.endpoint, credentials });
  await uploadObjects(local, bucket, { 'kube.zip': packageZip('KubeProvider') });
}, 180_000);

afterAll(async () => {
  cfn?.destroy();
  await local?.stop();
}, 60_000);

/** A cluster, a KubeProvider function and a KubeGet of the default namespace; the variations decide the rest. */
function template(opts: { actions: string[]; providerEntry: boolean; creatorEntry?: string }): string {
  const entry = (name: string, principal: string) => `
  ${name}:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: !Ref Cluster
      PrincipalArn: ${principal}
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}`;
  return `
Resources:
${eksClusterResources({ cidr: '10.20', name: 'access-test', version: '1.35' })}
  ProviderRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: 'sts:AssumeRole'}]
      Policies:
        - PolicyName: provider
          PolicyDocument:
            Version: '2012-10-17'
            Statement: [{Effect: Allow, Action: ${JSON.stringify(opts.actions)}, Resource: !GetAtt Cluster.Arn}]
  Provider:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs24.x
      Handler: index.handler
      Timeout: 60
      MemorySize: 512
      Role: !GetAtt ProviderRole.Arn
      Code: {S3Bucket: ${bucket}, S3Key: kube.zip}
${opts.providerEntry ? entry('ProviderEntry', '!GetAtt ProviderRole.Arn') : ''}
${opts.creatorEntry ? entry('CreatorEntry', opts.creatorEntry) : ''}
  Read:
    Type: Custom::KubeGet
    DependsOn: [Cluster${opts.providerEntry ? ', ProviderEntry' : ''}]
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      ServiceTimeout: 120
      ClusterName: !Ref Cluster
      Object: namespace/default
      JsonPath: '{.metadata.name}'
      TimeoutSeconds: 10
Outputs:
  Namespace: {Value: !GetAtt Read.Value}
`;
}

/** Creates the stack, waits for its end, deletes it again; returns its final status and the failures' reasons. */
async function launch(body: string): Promise<{ status: string; reasons: string[]; output?: string }> {
  const StackName = `access-${++seq}`;
  await cfn.send(new CreateStackCommand({ StackName, TemplateBody: body, Capabilities: ['CAPABILITY_IAM'] }));
  let status = 'CREATE_IN_PROGRESS';
  let output: string | undefined;
  for (let i = 0; i < 600 && status.endsWith('_IN_PROGRESS'); i++) {
    await new Promise((r) => setTimeout(r, 250));
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName }))).Stacks![0]!;
    status = stack.StackStatus!;
    output = stack.Outputs?.find((o) => o.OutputKey === 'Namespace')?.OutputValue;
  }
  const events = (await cfn.send(new DescribeStackEventsCommand({ StackName }))).StackEvents ?? [];
  const reasons = events
    .filter((e) => e.ResourceStatus === 'CREATE_FAILED')
    .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
  await cfn.send(new DeleteStackCommand({ StackName }));
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const s = (await cfn.send(new DescribeStacksCommand({ StackName })).catch(() => undefined))?.Stacks?.[0];
    if (!s || s.StackStatus === 'DELETE_COMPLETE') break;
  }
  return { status, reasons, ...(output ? { output } : {}) };
}

test('with eks:DescribeCluster and an access entry, the provider reads the cluster', async () => {
  const result = await launch(template({ actions: ['eks:DescribeCluster'], providerEntry: true }));

  expect(result).toEqual({ status: 'CREATE_COMPLETE', reasons: [], output: 'default' });
}, 180_000);

test('without eks:DescribeCluster in its role, the provider fails with IAM naming the action', async () => {
  const result = await launch(template({ actions: ['eks:ListClusters'], providerEntry: true }));

  expect(result.status).toBe('ROLLBACK_COMPLETE');
  expect(result.reasons.join('\n')).toMatch(/Read: .*is not authorized to perform: eks:DescribeCluster/);
}, 180_000);

test('without an access entry, the API server answers 401 and the provider says so', async () => {
  const result = await launch(template({ actions: ['eks:DescribeCluster'], providerEntry: false }));

  expect(result.status).toBe('ROLLBACK_COMPLETE');
  expect(result.reasons.join('\n')).toMatch(/Read: .*401.*Unauthorized/);
}, 180_000);

test("an access entry for the stack's creator, who already has one, fails with EKS's 409", async () => {
  const creator = 'arn:aws:iam::123456789012:user/kubecfn-deployer';

  const result = await launch(
    template({ actions: ['eks:DescribeCluster'], providerEntry: true, creatorEntry: creator }),
  );

  expect(result.status).toBe('ROLLBACK_COMPLETE');
  expect(result.reasons.join('\n')).toMatch(/CreatorEntry: .*already in use.*409|CreatorEntry: .*409.*already in use/s);
}, 180_000);
