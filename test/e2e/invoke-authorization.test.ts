// The local Lambda service authorizes its Invoke API as Lambda does: a provider continues its work in a
// fresh invocation by an Invoke signed with its role's session, which needs lambda:InvokeFunction on the
// function. With it, the work goes on in a continuation; without it, the first hand-over fails with Lambda's
// AccessDeniedException naming the action. CloudFormation's own Invoke of the ServiceToken is judged as the
// stack caller's lambda:InvokeFunction (the deployer's here), not the role's.
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

const bucket = 'kubecfn-invoke-test';
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

/**
 * A cluster and a KubeProvider with a 10-second Timeout whose KubeGet waits for a namespace that never
 * comes: the first invocation hands over after about 8 seconds. `selfInvoke` grants the role
 * lambda:InvokeFunction on its own function.
 */
function template(functionName: string, selfInvoke: boolean): string {
  return `
Resources:
${eksClusterResources({ cidr: '10.30', name: functionName, version: '1.35' })}
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
            Statement: [{Effect: Allow, Action: eks:DescribeCluster, Resource: !GetAtt Cluster.Arn}]
  Provider:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: ${functionName}
      Runtime: nodejs24.x
      Handler: index.handler
      Timeout: 10
      MemorySize: 512
      Role: !GetAtt ProviderRole.Arn
      Code: {S3Bucket: ${bucket}, S3Key: kube.zip}
  SelfInvoke:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: !Ref ProviderRole
      PolicyName: continue-in-a-fresh-invocation
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: ${selfInvoke ? 'lambda:InvokeFunction' : 'lambda:GetFunction'}
            Resource: !GetAtt Provider.Arn
  ProviderEntry:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: !Ref Cluster
      PrincipalArn: !GetAtt ProviderRole.Arn
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}
  Read:
    Type: Custom::KubeGet
    DependsOn: [ProviderEntry, SelfInvoke]
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      ServiceTimeout: 60
      ClusterName: !Ref Cluster
      Object: namespace/never-there
      JsonPath: '{.metadata.name}'
      TimeoutSeconds: 25
`;
}

/** Creates the stack, waits for its end, deletes it again; returns its final status and the failures' reasons. */
async function launch(body: string): Promise<{ status: string; reasons: string[] }> {
  const StackName = `invoke-${++seq}`;
  await cfn.send(new CreateStackCommand({ StackName, TemplateBody: body, Capabilities: ['CAPABILITY_IAM'] }));
  let status = 'CREATE_IN_PROGRESS';
  for (let i = 0; i < 600 && status.endsWith('_IN_PROGRESS'); i++) {
    await new Promise((r) => setTimeout(r, 250));
    status = (await cfn.send(new DescribeStacksCommand({ StackName }))).Stacks![0]!.StackStatus!;
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
  return { status, reasons };
}

/** The attempts of the function's Create invocations (0 for CloudFormation's, n for the n-th continuation). */
function attempts(functionName: string): number[] {
  type Event = { RequestType?: string; KubecfnContinuation?: { attempt: number } };
  return local.lambda.invocations
    .filter((i) => i.functionName === functionName && (i.event as Event).RequestType === 'Create')
    .map((i) => (i.event as Event).KubecfnContinuation?.attempt ?? 0);
}

test('with lambda:InvokeFunction on its own function, the provider continues in a new invocation', async () => {
  const result = await launch(template('kubecfn-invoke-allowed', true));

  // The wait runs out in a continuation: the hand-over was allowed.
  expect(attempts('kubecfn-invoke-allowed')).toContain(1);
  expect(result.status).toBe('ROLLBACK_COMPLETE');
  expect(result.reasons.join('\n')).not.toMatch(/lambda:InvokeFunction|could not continue/);
}, 180_000);

test('without lambda:InvokeFunction, the first hand-over fails with AccessDeniedException naming the action', async () => {
  const result = await launch(template('kubecfn-invoke-denied', false));

  expect(attempts('kubecfn-invoke-denied')).toEqual([0]);
  expect(result.status).toBe('ROLLBACK_COMPLETE');
  expect(result.reasons.join('\n')).toMatch(
    /Read: .*could not continue in a new invocation: .*AccessDeniedException.*assumed-role\/.* is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:kubecfn-invoke-denied/,
  );
}, 180_000);
