/**
 * The CleanupProvider's role (templates/kubecfn-functions.template.yaml): the one role that may
 * delete what the cluster's controllers left, so each change it may make is scoped — by the Load
 * Balancer Controller's cluster tag, by the cluster's VPC, or to the two providers by ARN — and only
 * calls without resource-level permissions get `*`. The provider itself runs outside any VPC.
 */
import { loadTemplate } from './cfn-template';

const functions = loadTemplate('templates/kubecfn-functions.template.yaml');

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const role = functions.Resources.CleanupProviderRole!;
const statements = (role.Properties!.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
  (p) => p.PolicyDocument.Statement,
);
const actions = (s: Statement) => [s.Action].flat();
const vpcArn = { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${VpcId}' };

test('only Describe calls (which have no resource-level permissions) are allowed on every resource', () => {
  for (const s of statements)
    if (JSON.stringify(s.Resource) === '"*"')
      for (const a of actions(s)) expect([s.Sid, a]).toEqual([s.Sid, expect.stringMatching(/^[a-z0-9]+:Describe/)]);
});

test('load balancers, target groups and security groups are deleted only with the cluster’s controller tag', () => {
  const deletes = statements.filter((s) =>
    actions(s).some((a) =>
      [
        'elasticloadbalancing:DeleteLoadBalancer',
        'elasticloadbalancing:DeleteTargetGroup',
        'ec2:DeleteSecurityGroup',
      ].includes(a),
    ),
  );
  expect(deletes.flatMap(actions).sort()).toEqual([
    'ec2:DeleteSecurityGroup',
    'elasticloadbalancing:DeleteLoadBalancer',
    'elasticloadbalancing:DeleteTargetGroup',
  ]);
  for (const s of deletes)
    expect(s.Condition?.StringEquals?.['aws:ResourceTag/elbv2.k8s.aws/cluster']).toEqual({ Ref: 'ClusterName' });
  const sg = deletes.find((s) => actions(s).includes('ec2:DeleteSecurityGroup'))!;
  expect(sg.Condition!.StringEquals!['ec2:Vpc']).toEqual(vpcArn);
});

test('rules are revoked and interfaces deleted only in the cluster’s VPC', () => {
  for (const action of [
    'ec2:RevokeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:DeleteNetworkInterface',
  ]) {
    const allowing = statements.filter((s) => actions(s).includes(action));
    expect([action, allowing.length]).toEqual([action, 1]);
    expect(allowing[0]!.Condition?.StringEquals?.['ec2:Vpc']).toEqual(vpcArn);
  }
});

test('only the KubeProvider and the HelmProvider may be detached', () => {
  const update = statements.filter((s) => actions(s).includes('lambda:UpdateFunctionConfiguration'));
  expect(update).toHaveLength(1);
  expect(update[0]!.Resource).toEqual([
    { 'Fn::GetAtt': ['KubeProvider', 'Arn'] },
    { 'Fn::GetAtt': ['HelmProvider', 'Arn'] },
  ]);
});

test('the CleanupProvider runs outside any VPC, so detaching the others never cuts it off', () => {
  expect(functions.Resources.CleanupProvider!.Properties!.VpcConfig).toBeUndefined();
});
