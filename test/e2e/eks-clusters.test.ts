// Two stacks side by side, each with an EKS cluster of its own, as two deployments in one AWS account:
// each AWS::EKS::Cluster gets a local control plane of its own (started by the engine's CreateCluster,
// stopped by its DeleteCluster), so neither sees the other's objects, DescribeCluster gives each its
// own endpoint and CA, a token signed for one cluster's name is refused by the other, and deleting one
// stack leaves the other's cluster working (its provider still updates it).
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { request } from 'node:https';
import { getEksToken } from '../../functions/src/kube/token';
import { eksClusterResources, uploadObjects } from '../helpers/local-stacks';
import { LocalDeployment, localRegion } from '../../scripts/local';
import { packageZip } from '../helpers/provider-harness';

const bucket = 'kubecfn-clusters-test';
let local: LocalDeployment;
let cfn: CloudFormationClient;
let eks: EKSClient;
const progress: string[] = [];

beforeAll(async () => {
  local = await LocalDeployment.start((m) => progress.push(m));
  const credentials = local.aws.deployer;
  const endpoint = local.aws.moto.endpoint;
  cfn = new CloudFormationClient({ region: localRegion, endpoint, credentials });
  eks = new EKSClient({ region: localRegion, endpoint, credentials });
  await uploadObjects(local, bucket, { 'kube.zip': packageZip('KubeProvider') });
}, 180_000);

afterAll(async () => {
  // How long each cluster's control plane took to come up, as the local cloud reported it.
  console.log(progress.filter((m) => /control plane for EKS cluster/.test(m)).join('\n'));
  cfn?.destroy();
  eks?.destroy();
  await local?.stop();
}, 60_000);

/** The smallest stack with an EKS cluster the engine creates and one manifest a provider applies in it. */
function template(stack: string, value: string): string {
  return `
Resources:
${eksClusterResources({ cidr: '10.30', name: `${stack}-cluster` })}
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
            Statement: [{Effect: Allow, Action: ['eks:DescribeCluster'], Resource: !GetAtt Cluster.Arn}]
  Provider:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs24.x
      Handler: index.handler
      Timeout: 60
      MemorySize: 512
      Role: !GetAtt ProviderRole.Arn
      Code: {S3Bucket: ${bucket}, S3Key: kube.zip}
  ProviderEntry:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: !Ref Cluster
      PrincipalArn: !GetAtt ProviderRole.Arn
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}
  Marker:
    Type: Custom::KubeManifest
    DependsOn: ProviderEntry
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      ServiceTimeout: 120
      ClusterName: !Ref Cluster
      Manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: from-${stack}, namespace: default}
        data: {value: ${value}}
Outputs:
  Endpoint: {Value: !GetAtt Cluster.Endpoint}
  CertificateAuthorityData: {Value: !GetAtt Cluster.CertificateAuthorityData}
`;
}

/** Waits until the stack's operation ends; its status and the reasons of what failed. */
async function settle(StackName: string): Promise<{ status: string; reasons: string[] }> {
  let status = 'UNKNOWN';
  for (let i = 0; i < 1200; i++) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName }))).Stacks?.[0];
    status = stack?.StackStatus ?? 'UNKNOWN';
    if (!status.endsWith('_IN_PROGRESS')) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const events = (await cfn.send(new DescribeStackEventsCommand({ StackName }))).StackEvents ?? [];
  const reasons = events
    .filter((e) => e.ResourceStatus?.endsWith('_FAILED'))
    .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
  return { status, reasons };
}

/** One call to an API server with a bearer token; the status only. */
function statusOf(server: string, caData: string, bearer: string, path: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(
      new URL(path, server),
      { ca: caData, headers: { authorization: `Bearer ${bearer}` } },
      (res) => {
        res.resume();
        res.on('end', () => ok(res.statusCode ?? 0));
      },
    );
    req.on('error', fail);
    req.end();
  });
}

const configMaps = async (cluster: string) =>
  (await local.kubectl(['get', 'configmaps', '-n', 'default', '-o', 'name'], cluster))
    .split('\n')
    .filter((l) => l.startsWith('configmap/from-'))
    .sort();

describe('two stacks, each with its own EKS cluster', () => {
  test('each cluster has its own control plane: endpoint, CA, objects and authentication', async () => {
    await Promise.all(
      ['one', 'two'].map((stack) =>
        cfn.send(
          new CreateStackCommand({
            StackName: stack,
            TemplateBody: template(stack, 'first'),
            Capabilities: ['CAPABILITY_IAM'],
          }),
        ),
      ),
    );
    const created = await Promise.all([settle('one'), settle('two')]);

    expect(created).toEqual([
      { status: 'CREATE_COMPLETE', reasons: [] },
      { status: 'CREATE_COMPLETE', reasons: [] },
    ]);
    expect(local.clusterNames()).toEqual(['one-cluster', 'two-cluster']);
    const described = await Promise.all(
      ['one-cluster', 'two-cluster'].map(
        async (name) => (await eks.send(new DescribeClusterCommand({ name }))).cluster!,
      ),
    );
    for (const cluster of described) {
      const plane = local.controlPlane(cluster.name);
      expect(cluster.endpoint).toBe(plane.cluster.server);
      expect(Buffer.from(cluster.certificateAuthority!.data!, 'base64').toString()).toBe(plane.cluster.caData);
    }
    expect(described[0]!.endpoint).not.toBe(described[1]!.endpoint);
    expect(described[0]!.certificateAuthority!.data).not.toBe(described[1]!.certificateAuthority!.data);
    // The ConfigMap each stack's provider applied is in its own cluster only.
    expect(await configMaps('one-cluster')).toEqual(['configmap/from-one']);
    expect(await configMaps('two-cluster')).toEqual(['configmap/from-two']);
    // The deployer made both clusters (an admin entry in each); its token names one cluster.
    const one = local.controlPlane('one-cluster').cluster;
    const two = local.controlPlane('two-cluster').cluster;
    const token = await getEksToken({
      clusterName: 'one-cluster',
      region: localRegion,
      credentials: async () => local.aws.deployer,
    });
    expect(await statusOf(one.server, one.caData, token, '/api/v1/namespaces/default/configmaps')).toBe(200);
    expect(await statusOf(two.server, two.caData, token, '/api/v1/namespaces/default/configmaps')).toBe(401);
  }, 300_000);

  test("deleting one stack stops its cluster's control plane and leaves the other's working", async () => {
    const gone = local.controlPlane('one-cluster').cluster;
    const deletedStatus = await local.deleteStack('one');

    expect(deletedStatus).toBe('DELETE_COMPLETE');
    expect(local.clusterNames()).toEqual(['two-cluster']);
    const alive = gone.processes.filter((p) => {
      try {
        process.kill(p.pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    await expect(statusOf(gone.server, gone.caData, 'x', '/readyz')).rejects.toThrow(/ECONNREFUSED/);
    // What the deleted cluster held when it was deleted: its stack's ConfigMap was removed first.
    const deleted = local.deletedCluster('one-cluster')!;
    expect([...deleted.deleted.objects].filter((o) => o.startsWith('ConfigMap/default/from-'))).toEqual([]);
    expect([...deleted.deleted.objects].filter((o) => !deleted.created.objects.has(o))).toEqual([]);
    // The other cluster still answers, and its provider still changes it.
    await cfn.send(
      new UpdateStackCommand({
        StackName: 'two',
        TemplateBody: template('two', 'second'),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    expect(await settle('two')).toEqual({ status: 'UPDATE_COMPLETE', reasons: [] });
    expect(
      await local.kubectl(
        ['get', 'configmap', 'from-two', '-n', 'default', '-o', 'jsonpath={.data.value}'],
        'two-cluster',
      ),
    ).toBe('second');

    expect(await local.deleteStack('two')).toBe('DELETE_COMPLETE');
    expect(local.clusterNames()).toEqual([]);
  }, 300_000);
});
