// Faults injected by the local cloud, all at once, on a small stack (a KubeManifest and a HelmRelease
// of a test chart on the Quick Start's providers, short function timeouts so the work continues in
// fresh invocations, short ServiceTimeouts): every asynchronous event delivered twice, the first
// continuation of each request crashed at its start, the first response PUT of each request answered
// 503, a provider process killed with SIGKILL mid-step once per request. Lambda's retries, the
// providers' request ledger and their response retries must still bring each stack to its expected
// end, with one of everything and nothing left after the delete. What was injected is printed.
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureHelm } from '../../scripts/dev/binaries';
import { eksClusterResources, uploadObjects } from '../helpers/local-stacks';
import { LocalDeployment, localRegion } from '../../scripts/local';

const run = promisify(execFile);
const packages = resolve(__dirname, '..', '..', 'functions', 'packages');
const bucket = 'kubecfn-chaos-test';

const template = `
Resources:
${eksClusterResources({ cidr: '10.30', name: 'chaos-test', version: '1.35' })}
  NodeRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: 'sts:AssumeRole'}]
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref Cluster
      NodeRole: !GetAtt NodeRole.Arn
      Subnets: [!Ref SubnetA, !Ref SubnetB]
      ScalingConfig: {MinSize: 1, DesiredSize: 1, MaxSize: 1}
  KubeRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: 'sts:AssumeRole'}]
      Policies:
        - PolicyName: find-the-cluster
          PolicyDocument:
            Version: '2012-10-17'
            Statement: [{Effect: Allow, Action: eks:DescribeCluster, Resource: !GetAtt Cluster.Arn}]
  HelmRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: 'sts:AssumeRole'}]
      Policies:
        - PolicyName: find-the-cluster
          PolicyDocument:
            Version: '2012-10-17'
            Statement: [{Effect: Allow, Action: eks:DescribeCluster, Resource: !GetAtt Cluster.Arn}]
  KubeEntry:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: !Ref Cluster
      PrincipalArn: !GetAtt KubeRole.Arn
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}
  HelmEntry:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: !Ref Cluster
      PrincipalArn: !GetAtt HelmRole.Arn
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}
  # Each provider continues long work by invoking itself (as templates/kubecfn-functions.template.yaml grants).
  KubeSelfInvoke:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: !Ref KubeRole
      PolicyName: continue-in-a-fresh-invocation
      PolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Action: lambda:InvokeFunction, Resource: !GetAtt KubeProvider.Arn}]
  HelmSelfInvoke:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: !Ref HelmRole
      PolicyName: continue-in-a-fresh-invocation
      PolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Action: lambda:InvokeFunction, Resource: !GetAtt HelmProvider.Arn}]
  HelmLayer:
    Type: AWS::Lambda::LayerVersion
    Properties:
      CompatibleRuntimes: [nodejs24.x]
      Content: {S3Bucket: ${bucket}, S3Key: helm-layer.zip}
  # Short timeouts: the Deployment's minReadySeconds (90 s) outlasts one KubeProvider invocation and
  # Lambda's retry delay after the kill (about 60 s), so its wait goes on in a continuation.
  KubeProvider:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs24.x
      Handler: index.handler
      Timeout: 10
      MemorySize: 512
      Role: !GetAtt KubeRole.Arn
      Code: {S3Bucket: ${bucket}, S3Key: kube.zip}
  HelmProvider:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs24.x
      Handler: index.handler
      Timeout: 60
      MemorySize: 1024
      Role: !GetAtt HelmRole.Arn
      Layers: [!Ref HelmLayer]
      Code: {S3Bucket: ${bucket}, S3Key: helm.zip}
  App:
    Type: Custom::KubeManifest
    DependsOn: [KubeEntry, KubeSelfInvoke, Nodes]
    Properties:
      ServiceToken: !GetAtt KubeProvider.Arn
      ServiceTimeout: 300
      ClusterName: !Ref Cluster
      TimeoutSeconds: 240
      Manifest: |
        apiVersion: v1
        kind: Namespace
        metadata: {name: chaos}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: chaos-settings, namespace: chaos}
        data: {a: '1'}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: chaos-app, namespace: chaos}
        spec:
          replicas: 1
          minReadySeconds: 90
          selector: {matchLabels: {app: chaos-app}}
          template:
            metadata: {labels: {app: chaos-app}}
            spec: {containers: [{name: app, image: busybox:1.36}]}
  Release:
    Type: Custom::HelmRelease
    DependsOn: [HelmEntry, HelmSelfInvoke, App]
    Properties:
      ServiceToken: !GetAtt HelmProvider.Arn
      ServiceTimeout: 300
      ClusterName: !Ref Cluster
      Repository: https://charts.example.com/stable
      Chart: web
      Version: 0.1.0
      ReleaseName: chaos-web
      Namespace: chaos
      Wait: 'true'
      TimeoutSeconds: 120
      Values: 'message: under chaos'
`;

let local: LocalDeployment;
let cfn: CloudFormationClient;
let chartsDir: string;
const log: string[] = [];

beforeAll(async () => {
  // The test chart, packaged as a repository serves it; the chart mirror serves it for any host.
  chartsDir = mkdtempSync(join(tmpdir(), 'kubecfn-chaos-charts-'));
  await run(await ensureHelm(), ['package', resolve(__dirname, '..', 'fixtures', 'charts', 'web'), '-d', chartsDir]);
  local = await LocalDeployment.start((m) => log.push(m), {
    chartsDir,
    standIns: false,
    chaos: { duplicateAsync: true, crashContinuation: true, responsePut503: true, killMidStep: true },
  });
  const credentials = local.aws.deployer;
  cfn = new CloudFormationClient({ region: localRegion, endpoint: local.aws.moto.endpoint, credentials });
  await uploadObjects(local, bucket, {
    'kube.zip': join(packages, 'KubeProvider', 'lambda.zip'),
    'helm.zip': join(packages, 'HelmProvider', 'lambda.zip'),
    'helm-layer.zip': join(packages, 'HelmLayer', 'layer.zip'),
  });
}, 300_000);

afterAll(async () => {
  cfn?.destroy();
  await local?.stop({ keepLogs: failed });
  if (failed) console.log(`logs kept in ${local?.dir}`);
  rmSync(chartsDir, { recursive: true, force: true });
}, 60_000);

let failed = true;

async function settle(name: string): Promise<string> {
  for (;;) {
    const status = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus ?? '';
    if (!status.endsWith('_IN_PROGRESS')) return status;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function failures(name: string): Promise<string[]> {
  const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: name }))).StackEvents ?? [];
  return events
    .filter((e) => e.ResourceStatus?.endsWith('_FAILED'))
    .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
}

/** What the cluster holds that it did not before, once what goes on its own has gone (pods of deleted nodes). */
async function leftSince(before: Set<string>): Promise<string[]> {
  // The request ledger's Leases outlive their requests (the providers do not delete them yet).
  const ledger = (o: string) => /^leases\.coordination\.k8s\.io\/kube-system\/kubecfn-request-/.test(o);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const left = [...(await local.apiInventory())].filter((o) => !before.has(o) && !ledger(o)).sort();
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

test('with every fault on, the stack is created once, deleted cleanly, and each fault was injected', async () => {
  const before = await local.apiInventory();

  // when the stack is created and deleted with every fault on
  await cfn.send(
    new CreateStackCommand({ StackName: 'chaos', TemplateBody: template, Capabilities: ['CAPABILITY_IAM'] }),
  );
  const created = await settle('chaos');
  const createFailures = await failures('chaos');
  const releases = await local.helmReleases();
  const deployments = await local.kubectl(['get', 'deployments', '-n', 'chaos', '-o', 'name']);
  const revisions = await local.kubectl(['get', 'secrets', '-n', 'chaos', '-l', 'owner=helm', '-o', 'name']);
  const deleted = await local.deleteStack('chaos', 900_000);
  const left = await leftSince(before);
  const injected = local.injected();
  console.log(
    `${local.injectedLine()}\ncreate: ${created} ${createFailures.join('; ')}\ndelete: ${deleted}\nhelm revisions: ${revisions.trim().split('\n').join(' ')}`,
  );

  // then each stack ended as it would without faults, with one of everything and nothing left
  expect(createFailures).toEqual([]);
  expect(created).toBe('CREATE_COMPLETE');
  expect(releases.map((r) => `${r.namespace}/${r.name} ${r.chart} ${r.status}`)).toEqual([
    'chaos/chaos-web web-0.1.0 deployed',
  ]);
  expect(deployments.trim().split('\n').sort()).toEqual(['deployment.apps/chaos-app', 'deployment.apps/chaos-web']);
  expect(revisions.trim().split('\n')).toEqual(['secret/sh.helm.release.v1.chaos-web.v1']);
  expect(deleted).toBe('DELETE_COMPLETE');
  expect(await local.helmReleases()).toEqual([]);
  expect(left).toEqual([]);
  // and every fault was injected at least once
  expect(injected.duplicateAsync).toBeGreaterThan(0);
  expect(injected.crashContinuation).toBeGreaterThan(0);
  expect(injected.responsePut503).toBeGreaterThan(0);
  expect(injected.killMidStep).toBeGreaterThan(0);
  failed = false;
}, 1_500_000);
