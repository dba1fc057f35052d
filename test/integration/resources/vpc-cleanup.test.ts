/**
 * Custom::VpcCleanup through the bundled CleanupProvider (each invocation its own Node process, as
 * in Lambda) against moto's EC2, ELB v2 and Lambda: a load balancer, its target group and listener,
 * the controller's security groups (one referred to by the cluster's group), an interface the VPC
 * CNI leaked and one of a VPC provider are left behind on purpose, with things the sweep must not
 * touch beside them (another cluster's group, an untagged load balancer and interface, EKS's own
 * group). The test plays CloudFormation's side: the response URL (ProviderHarness) and the
 * `DescribeStacks` answer for the stack the request names, in the status each case needs.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateFunctionCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CloudFormationEvent } from '../../../functions/src/runtime';
import { motoEnv, startMoto, type MotoServer } from '../../../scripts/local';
import { packageZip, ProviderHarness } from '../../helpers/provider-harness';

const TYPE = 'Custom::VpcCleanup';
const FN = 'CleanupProvider';
const CLUSTER = 'local-test';
const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/teststack/0f4c7e60-0000-11ef-0000-000000000000';
const PROVIDER = 'kubecfn-kube-test';
const controllerTags = (resource: string) => [
  { Key: 'elbv2.k8s.aws/cluster', Value: CLUSTER },
  { Key: 'elbv2.k8s.aws/resource', Value: resource },
];

let moto: MotoServer;
let h: ProviderHarness;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let lambda: LambdaClient;

// CloudFormation's DescribeStacks (query protocol) for the one stack, in the status a case sets.
let stackStatus = 'CREATE_COMPLETE';
let cfn: Server;
const describeStacksAnswer = () =>
  `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
  `<StackId>${STACK_ID}</StackId><StackName>teststack</StackName><CreationTime>2026-12-01T00:00:00Z</CreationTime>` +
  `<StackStatus>${stackStatus}</StackStatus></member></Stacks></DescribeStacksResult>` +
  `<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DescribeStacksResponse>`;

beforeAll(async () => {
  moto = await startMoto();
  cfn = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      if (form.get('Action') !== 'DescribeStacks' || form.get('StackName') !== STACK_ID) {
        res.writeHead(400, { 'content-type': 'text/xml' });
        return res.end(
          '<ErrorResponse><Error><Code>ValidationError</Code><Message>Stack does not exist</Message></Error></ErrorResponse>',
        );
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(describeStacksAnswer());
    });
  });
  await new Promise<void>((r) => cfn.listen(0, '127.0.0.1', r));
  const cfnEndpoint = `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`;
  h = await ProviderHarness.start(
    [
      {
        name: FN,
        zipFile: packageZip('CleanupProvider'),
        timeoutSeconds: 120,
        memoryMb: 256,
        environment: { AWS_ENDPOINT_URL_CLOUDFORMATION: cfnEndpoint },
      },
    ],
    // The local AWS: EC2 and ELB directly, the Lambda API through the local Lambda service.
    { network: { AWS_ENDPOINT_URL: moto.endpoint } },
  );
  const config = {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  ec2 = new EC2Client(config);
  elb = new ElasticLoadBalancingV2Client(config);
  lambda = new LambdaClient(config);
  expect(motoEnv(moto.endpoint).AWS_REGION).toBe('us-east-1');
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await new Promise((r) => cfn?.close(r));
  await moto?.stop();
});

// --- the leaked world -------------------------------------------------------------------------

interface World {
  vpcId: string;
  clusterSg: string;
  frontendSg: string;
  backendSg: string;
  otherClusterSg: string;
  lbArn: string;
  foreignLbArn: string;
  tgArn: string;
  cniEni: string;
  lambdaEni: string;
  foreignEni: string;
}

async function group(vpcId: string, name: string, tags: { Key: string; Value: string }[]): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: name,
      Description: name,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
    }),
  );
  return out.GroupId!;
}

async function eni(
  subnetId: string,
  description: string,
  tags: { Key: string; Value: string }[] = [],
): Promise<string> {
  const out = await ec2.send(
    new CreateNetworkInterfaceCommand({
      SubnetId: subnetId,
      Description: description,
      ...(tags.length ? { TagSpecifications: [{ ResourceType: 'network-interface', Tags: tags }] } : {}),
    }),
  );
  return out.NetworkInterface!.NetworkInterfaceId!;
}

/** An execution role in moto's IAM (Lambda's CreateFunction wants one that exists): a signed IAM query call. */
async function createRole(name: string): Promise<string> {
  const url = new URL(moto.endpoint);
  const body = new URLSearchParams({
    Action: 'CreateRole',
    Version: '2010-05-08',
    RoleName: name,
    AssumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  }).toString();
  const signer = new SignatureV4({
    service: 'iam',
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    sha256: Sha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    }),
  );
  const res = await fetch(`${moto.endpoint}/`, { method: 'POST', headers: signed.headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`CreateRole answered ${res.status}: ${text}`);
  return /<Arn>([^<]+)<\/Arn>/.exec(text)![1]!;
}

/** What the controller, the CNI and Lambda leave when the controller is not there to clean up. */
async function leak(): Promise<World> {
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const subnets = [];
  for (const [i, az] of ['us-east-1a', 'us-east-1b'].entries())
    subnets.push(
      (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i + 1}.0/24`, AvailabilityZone: az })))
        .Subnet!.SubnetId!,
    );
  // EKS's own group: tagged for the cluster too, but EKS deletes it.
  const clusterSg = await group(vpcId, `eks-cluster-sg-${CLUSTER}-1`, [
    { Key: 'aws:eks:cluster-name', Value: CLUSTER },
    { Key: `kubernetes.io/cluster/${CLUSTER}`, Value: 'owned' },
  ]);
  const frontendSg = await group(vpcId, 'k8s-default-web-0a1b2c3d4e', controllerTags('ManagedLBSecurityGroup'));
  const backendSg = await group(vpcId, `k8s-traffic-${CLUSTER}-0a1b2c3d4e`, controllerTags('backend-sg'));
  const otherClusterSg = await group(vpcId, 'k8s-traffic-other-0a1b2c3d4e', [
    { Key: 'elbv2.k8s.aws/cluster', Value: 'other' },
  ]);
  // The controller lets its backend group into the cluster's group.
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: clusterSg,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId: backendSg }] }],
    }),
  );
  const lbArn = (
    await elb.send(
      new CreateLoadBalancerCommand({
        Name: 'k8s-default-web-0a1b2c3d4e',
        Type: 'application',
        Scheme: 'internal',
        Subnets: subnets,
        SecurityGroups: [frontendSg, backendSg],
        Tags: [...controllerTags('LoadBalancer'), { Key: 'ingress.k8s.aws/stack', Value: 'default/web' }],
      }),
    )
  ).LoadBalancers![0]!.LoadBalancerArn!;
  const tgArn = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: 'k8s-default-web-0a1b2c3d4e',
        Protocol: 'HTTP',
        Port: 8080,
        VpcId: vpcId,
        TargetType: 'ip',
        Tags: controllerTags('default/web:8080'),
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lbArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
    }),
  );
  const foreignLbArn = (
    await elb.send(
      new CreateLoadBalancerCommand({
        Name: 'someone-elses',
        Type: 'application',
        Scheme: 'internal',
        Subnets: subnets,
      }),
    )
  ).LoadBalancers![0]!.LoadBalancerArn!;
  const cniEni = await eni(subnets[0]!, 'aws-K8S-i-0123456789abcdef0', [
    { Key: 'cluster.k8s.amazonaws.com/name', Value: CLUSTER },
    { Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-0123456789abcdef0' },
  ]);
  const foreignEni = await eni(subnets[1]!, 'someone else’s');
  // A provider in the VPC, and the interface Lambda made for it (left available).
  const roleArn = await createRole(`provider-${vpcId}`);
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: PROVIDER,
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: roleArn,
      Code: { ZipFile: readFileSync(packageZip('CleanupProvider')) },
      VpcConfig: { SubnetIds: subnets, SecurityGroupIds: [clusterSg] },
    }),
  );
  const lambdaEni = await eni(subnets[0]!, `AWS Lambda VPC ENI-${PROVIDER}`);
  return {
    vpcId,
    clusterSg,
    frontendSg,
    backendSg,
    otherClusterSg,
    lbArn,
    foreignLbArn,
    tgArn,
    cniEni,
    lambdaEni,
    foreignEni,
  };
}

// --- what is there ----------------------------------------------------------------------------

async function loadBalancers(vpcId: string): Promise<string[]> {
  const out = await elb.send(new DescribeLoadBalancersCommand({}));
  return (out.LoadBalancers ?? []).filter((lb) => lb.VpcId === vpcId).map((lb) => lb.LoadBalancerArn!);
}

async function targetGroups(vpcId: string): Promise<string[]> {
  const out = await elb.send(new DescribeTargetGroupsCommand({}));
  return (out.TargetGroups ?? []).filter((tg) => tg.VpcId === vpcId).map((tg) => tg.TargetGroupArn!);
}

async function groups(vpcId: string) {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
  return out.SecurityGroups ?? [];
}

async function interfaces(vpcId: string): Promise<string[]> {
  const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
  return (out.NetworkInterfaces ?? []).map((e) => e.NetworkInterfaceId!);
}

const subnetsOfProvider = async () =>
  (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: PROVIDER }))).VpcConfig?.SubnetIds ?? [];

const props = (w: World, extra: Record<string, unknown> = {}) => ({
  ClusterName: CLUSTER,
  VpcId: w.vpcId,
  DetachFunctions: [PROVIDER, 'kubecfn-helm-already-deleted'],
  ...extra,
});

const send = (
  requestType: CloudFormationEvent['RequestType'],
  properties: Record<string, unknown>,
  extra: Partial<CloudFormationEvent> = {},
) =>
  h.send(FN, requestType, TYPE, properties, {
    StackId: STACK_ID,
    LogicalResourceId: 'VpcCleanup',
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'teststack-VpcCleanup-0123456789ab' }),
    ...extra,
  });

// --- cases ------------------------------------------------------------------------------------

describe('a leaked load balancer, target group, security groups and interfaces', () => {
  let w: World;
  beforeAll(async () => {
    w = await leak();
  }, 120_000);

  test('Create and Update change nothing', async () => {
    stackStatus = 'CREATE_IN_PROGRESS';
    const created = await send('Create', props(w));
    expect(created.answer.Status).toBe('SUCCESS');
    stackStatus = 'UPDATE_IN_PROGRESS';
    const updated = await send('Update', props(w, { TimeoutSeconds: 600 }), { OldResourceProperties: props(w) });
    expect(updated.answer).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'teststack-VpcCleanup-0123456789ab',
    });
    expect(await loadBalancers(w.vpcId)).toContain(w.lbArn);
    expect(await subnetsOfProvider()).toHaveLength(2);
  }, 120_000);

  test('the Delete of an update’s rollback removes nothing: the cluster lives on', async () => {
    stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    const { answer } = await send('Delete', props(w));
    expect(answer.Status).toBe('SUCCESS');
    expect((await loadBalancers(w.vpcId)).sort()).toEqual([w.lbArn, w.foreignLbArn].sort());
    expect(await targetGroups(w.vpcId)).toEqual([w.tgArn]);
    expect(await interfaces(w.vpcId)).toEqual(expect.arrayContaining([w.cniEni, w.lambdaEni]));
    expect(await subnetsOfProvider()).toHaveLength(2);
  }, 120_000);

  test('the stack’s Delete removes what the cluster left, and nothing else', async () => {
    stackStatus = 'DELETE_IN_PROGRESS';
    const { answer, invocations } = await send('Delete', props(w));
    expect(answer.Status).toBe('SUCCESS');
    // Load balancer and target group gone; the untagged load balancer stays.
    expect(await loadBalancers(w.vpcId)).toEqual([w.foreignLbArn]);
    expect(await targetGroups(w.vpcId)).toEqual([]);
    // The controller's groups gone, and the cluster group's rule that referred to one of them.
    const left = await groups(w.vpcId);
    expect(left.map((g) => g.GroupId).sort()).toEqual(
      [w.clusterSg, w.otherClusterSg, left.find((g) => g.GroupName === 'default')!.GroupId].sort(),
    );
    const clusterGroup = left.find((g) => g.GroupId === w.clusterSg)!;
    expect(JSON.stringify(clusterGroup.IpPermissions)).not.toContain(w.backendSg);
    // The CNI's and the provider's interfaces gone; the untagged one stays.
    expect(await interfaces(w.vpcId)).toEqual([w.foreignEni]);
    // The provider detached from the VPC.
    expect(await subnetsOfProvider()).toEqual([]);
    const logs = invocations.map((i) => i.logs).join('\n');
    expect(logs).toContain('k8s-traffic-local-test-0a1b2c3d4e');
    // moto deletes at once: one pass found everything gone (a deleted load balancer's NotFound is "gone").
    expect(logs).not.toContain('"waiting for"');
  }, 180_000);

  test('a second Delete, with everything already gone, succeeds', async () => {
    stackStatus = 'DELETE_IN_PROGRESS';
    const { answer } = await send('Delete', props(w));
    expect(answer.Status).toBe('SUCCESS');
    expect(await loadBalancers(w.vpcId)).toEqual([w.foreignLbArn]);
  }, 120_000);
});

test('what cannot be removed within TimeoutSeconds is named in the FAILED Reason, with why', async () => {
  // The controller's target group, held by a listener of a load balancer that is not the cluster's.
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc!.VpcId!;
  const subnets = [];
  for (const [i, az] of ['us-east-1a', 'us-east-1b'].entries())
    subnets.push(
      (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.1.${i + 1}.0/24`, AvailabilityZone: az })))
        .Subnet!.SubnetId!,
    );
  const tgArn = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: 'k8s-held-by-someone',
        Protocol: 'HTTP',
        Port: 80,
        VpcId: vpcId,
        TargetType: 'ip',
        Tags: controllerTags('default/held:80'),
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  const lbArn = (
    await elb.send(
      new CreateLoadBalancerCommand({
        Name: 'someone-elses-too',
        Type: 'application',
        Scheme: 'internal',
        Subnets: subnets,
      }),
    )
  ).LoadBalancers![0]!.LoadBalancerArn!;
  await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lbArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
    }),
  );
  stackStatus = 'DELETE_IN_PROGRESS';
  const { answer } = await send('Delete', { ClusterName: CLUSTER, VpcId: vpcId, TimeoutSeconds: 30 });
  expect(answer.Status).toBe('FAILED');
  expect(answer.Reason).toContain(`still in VPC ${vpcId} (cluster ${CLUSTER}) after 30 s (TimeoutSeconds)`);
  expect(answer.Reason).toContain(`target group k8s-held-by-someone (${tgArn})`);
  expect(answer.Reason).toContain('in use');
  expect(await targetGroups(vpcId)).toEqual([tgArn]);
}, 180_000);

test('a property that is not a VPC id fails the Create, naming it', async () => {
  stackStatus = 'CREATE_IN_PROGRESS';
  const { answer } = await send('Create', { ClusterName: CLUSTER, VpcId: 'my-vpc' });
  expect(answer.Status).toBe('FAILED');
  expect(answer.Reason).toContain('VpcId: expected a VPC id such as vpc-0123456789abcdef0');
  expect(answer.Reason).not.toContain('my-vpc');
}, 60_000);
