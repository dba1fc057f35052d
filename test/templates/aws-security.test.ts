// Security a real account holds the stack to: only the kubecfn providers may be invoked with the
// deployment policy (whoever invokes a provider acts as cluster admin through it), pod identity roles
// trusted only for this account's cluster, the control plane's audit trail kept after deletion.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allTemplatePaths, loadTemplate, repoRoot } from './cfn-template';
import { resolveValue } from './resolve';

const templates = allTemplatePaths().map((path) => ({ path, t: loadTemplate(path) }));

describe('invoking the providers', () => {
  const policy = JSON.parse(readFileSync(join(repoRoot, 'docs/iam/deploy-policy.json'), 'utf8')) as {
    Statement: { Sid: string; Action: string | string[]; Resource: string | string[] }[];
  };
  const lambdaStatements = policy.Statement.filter((s) => [s.Action].flat().some((a) => a.startsWith('lambda:')));
  const functions = templates.flatMap(({ path, t }) =>
    Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' || r.Type === 'AWS::Lambda::LayerVersion')
      .map(([id, r]) => ({ id: `${path}#${id}`, t, r })),
  );
  // What AWS::StackId ends in: the stack's UUID.
  const stackValues = {
    'AWS::StackId':
      'arn:aws:cloudformation:eu-west-1:111122223333:stack/kubecfn-EKSStack-1A2B3C4D5E6F-FunctionsStack-0A1B2C3D4E5F/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  };

  test('the deployment policy allows the Lambda calls on kubecfn-* functions and layers only', () => {
    expect(lambdaStatements.length).toBeGreaterThan(0);
    const invoke = lambdaStatements.filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    expect(invoke.length).toBe(1);
    for (const s of lambdaStatements)
      for (const r of [s.Resource].flat())
        expect([s.Sid, r]).toEqual([s.Sid, expect.stringMatching(/:(function|layer):kubecfn-\*$/)]);
  });

  test('there are functions and a layer to check', () => {
    expect(functions.map((f) => f.id).sort()).toEqual([
      'templates/kubecfn-functions.template.yaml#CleanupProvider',
      'templates/kubecfn-functions.template.yaml#CopyCodeFunction',
      'templates/kubecfn-functions.template.yaml#HelmLayer',
      'templates/kubecfn-functions.template.yaml#HelmProvider',
      'templates/kubecfn-functions.template.yaml#KubeProvider',
    ]);
  });

  test.each(functions)('$id is named kubecfn-..., within Lambda’s 64 characters', ({ t, r }) => {
    const nameProperty = r.Type === 'AWS::Lambda::Function' ? 'FunctionName' : 'LayerName';
    const name = String(resolveValue(t, r.Properties![nameProperty], stackValues));
    expect(name).toMatch(/^kubecfn-[a-z]+-[0-9a-f-]{36}$/);
    expect(name.length).toBeLessThanOrEqual(64);
  });
});

describe('the control plane’s audit trail', () => {
  test('the control-plane log group (api, audit, authenticator) outlives the stack and a replacement', () => {
    const group = loadTemplate('templates/kubecfn-eks.template.yaml').Resources.ControlPlaneLogGroup!;
    expect(group.Properties!.LogGroupName).toEqual({ 'Fn::Sub': '/aws/eks/${ClusterName}/cluster' });
    expect(group).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('the guide says it is kept, and how to remove it before reusing the name', () => {
    const guide = readFileSync(join(repoRoot, 'docs/deployment-guide.md'), 'utf8');
    const teardown = guide.slice(guide.indexOf('## Teardown'));
    expect(teardown).toMatch(/Kept on purpose.*control-plane log group/s);
    expect(teardown).toContain('aws logs delete-log-group');
  });
});

describe('pod identity roles', () => {
  const podRoles = templates.flatMap(({ path, t }) =>
    Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties).includes('pods.eks.amazonaws.com'))
      .map(([id, r]) => ({ id: `${path}#${id}`, t, r })),
  );

  test('there are the four add-on roles to check', () => {
    expect(podRoles.length).toBe(4);
  });

  // Without the conditions any EKS cluster (another account's included) could map a service account to
  // the role through a pod identity association and have its pods assume it.
  test.each(podRoles)('$id is assumable only by pods of this account’s cluster', ({ t, r }) => {
    const trust = (r.Properties!.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(trust.length).toBe(1);
    const values = {
      'AWS::Partition': 'aws',
      'AWS::Region': 'eu-west-1',
      'AWS::AccountId': '111122223333',
      ClusterName: 'ci',
    };
    expect(resolveValue(t, trust[0], values)).toEqual({
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: {
        StringEquals: { 'aws:SourceAccount': '111122223333' },
        ArnEquals: { 'aws:SourceArn': 'arn:aws:eks:eu-west-1:111122223333:cluster/ci' },
      },
    });
  });
});
