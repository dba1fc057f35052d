// deployStack against a recording CloudFormation client, for what moto cannot show: nested change
// sets (IncludeNestedStacks) read level by level with their replacements, the outputs printed and
// returned as JSON, the service role, notification topics and termination protection sent, and a
// declined create that leaves neither change set nor stack behind.
import type { StackApi, StackSummary } from '../../scripts/lib/stack-progress';
import { deployStack, type DeployResult } from '../../scripts/lib/stack-deploy';
import { formatChanges } from '../../scripts/lib/change-set';

type Sent = { name: string; input: Record<string, unknown> };

const root = 'arn:aws:cloudformation:eu-west-1:111122223333:stack/kc/0001';
const rootSet = 'arn:aws:cloudformation:eu-west-1:111122223333:changeSet/kubecfn-deploy-x/1';
const eksSet = 'arn:aws:cloudformation:eu-west-1:111122223333:changeSet/eks/2';
const addonsSet = 'arn:aws:cloudformation:eu-west-1:111122223333:changeSet/addons/3';

function client(opts: { changeSets: Record<string, unknown[]>; outputs?: Record<string, string> }) {
  const sent: Sent[] = [];
  const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const name = command.constructor.name.replace(/Command$/, '');
    sent.push({ name, input: command.input });
    switch (name) {
      case 'GetTemplateSummary':
        return { Parameters: [{ ParameterKey: 'KubernetesVersion' }, { ParameterKey: 'Secret', NoEcho: true }] };
      case 'CreateChangeSet':
        return { Id: rootSet, StackId: root };
      case 'DescribeChangeSet':
        return { Status: 'CREATE_COMPLETE', Changes: opts.changeSets[command.input.ChangeSetName as string] ?? [] };
      case 'DescribeStacks':
        return {
          Stacks: [
            {
              StackId: root,
              Outputs: Object.entries(opts.outputs ?? {}).map(([OutputKey, OutputValue]) => ({
                OutputKey,
                OutputValue,
              })),
            },
          ],
        };
      default:
        return {};
    }
  };
  return { cfn: { send } as never, sent };
}

const change = (
  logicalId: string,
  type: string,
  action: string,
  replacement?: string,
  changeSetId?: string,
  props: string[] = [],
) => ({
  Type: 'Resource',
  ResourceChange: {
    Action: action,
    LogicalResourceId: logicalId,
    ResourceType: type,
    Replacement: replacement,
    ChangeSetId: changeSetId,
    Details: props.map((Name) => ({ Target: { Attribute: 'Properties', Name } })),
  },
});

function api(status: string): StackApi {
  return {
    describeStack: async () => ({ stackId: root, stackName: 'kc', status, parameters: {} }),
    listEvents: async () => ({
      events: [
        {
          eventId: `e-${status}`,
          stackId: root,
          stackName: 'kc',
          logicalId: 'kc',
          physicalId: root,
          type: 'AWS::CloudFormation::Stack',
          status,
          timestamp: new Date(1000),
        },
      ],
    }),
    listNestedStacks: async () => [],
  };
}

const existing: StackSummary = {
  stackId: root,
  stackName: 'kc',
  status: 'UPDATE_COMPLETE',
  parameters: { KubernetesVersion: '1.34', Secret: 'x' },
};

describe('deployStack', () => {
  test('update: the changes of nested stacks, two levels down, with what is replaced; outputs after success', async () => {
    const { cfn, sent } = client({
      changeSets: {
        [rootSet]: [change('EKSStack', 'AWS::CloudFormation::Stack', 'Modify', 'False', eksSet, ['Parameters'])],
        [eksSet]: [
          change('Cluster', 'AWS::EKS::Cluster', 'Modify', 'True', undefined, ['Version']),
          change('AddonsStack', 'AWS::CloudFormation::Stack', 'Modify', 'False', addonsSet),
        ],
        [addonsSet]: [change('Old', 'AWS::SSM::Parameter', 'Remove')],
      },
      outputs: { JenkinsURL: 'http://lb:8080', KubeconfigCommand: 'aws eks update-kubeconfig --name kc' },
    });
    const lines: string[] = [];
    let result: DeployResult | undefined;
    const code = await deployStack({
      cfn,
      api: api('UPDATE_COMPLETE'),
      stackName: 'kc',
      existing,
      templateUrl: 'https://b.s3.eu-west-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml',
      parameters: { KubernetesVersion: '1.35' },
      roleArn: 'arn:aws:iam::111122223333:role/kubecfn-deploy',
      notificationArns: ['arn:aws:sns:eu-west-1:111122223333:stack-events'],
      terminationProtection: true,
      execute: true,
      emit: (r) => (result = r),
      print: (l) => lines.push(l),
      pollIntervalMs: 0,
      sleep: async () => undefined,
    });
    const out = lines.join('\n');

    expect(code).toBe(0);
    const create = sent.find((s) => s.name === 'CreateChangeSet')!.input;
    expect(create).toMatchObject({
      ChangeSetType: 'UPDATE',
      IncludeNestedStacks: true,
      RoleARN: 'arn:aws:iam::111122223333:role/kubecfn-deploy',
      NotificationARNs: ['arn:aws:sns:eu-west-1:111122223333:stack-events'],
      Parameters: [
        { ParameterKey: 'KubernetesVersion', ParameterValue: '1.35' },
        { ParameterKey: 'Secret', UsePreviousValue: true },
      ],
    });
    expect(sent.map((s) => s.name)).toEqual(
      expect.arrayContaining(['ExecuteChangeSet', 'UpdateTerminationProtection']),
    );
    expect(sent.find((s) => s.name === 'UpdateTerminationProtection')!.input).toMatchObject({
      EnableTerminationProtection: true,
    });
    expect(out).toMatch(/kc\s+Modify\s+EKSStack\s+AWS::CloudFormation::Stack\s+No\s+\(Parameters\)/);
    expect(out).toMatch(/!\s*EKSStack\s+Modify\s+Cluster\s+AWS::EKS::Cluster\s+Yes\s+\(Version\)/);
    expect(out).toMatch(/!\s*EKSStack\/AddonsStack\s+Remove\s+Old\s+AWS::SSM::Parameter\s+-/);
    expect(out).toContain('0 to add, 3 to modify (1 replaced), 1 to remove.');
    expect(out).toContain('! EKSStack/Cluster, EKSStack/AddonsStack/Old: replaced or removed');
    expect(out).toContain('Secret = (unchanged)');
    expect(out).toMatch(
      /Outputs:\n {2}JenkinsURL\s+http:\/\/lb:8080\n {2}KubeconfigCommand\s+aws eks update-kubeconfig --name kc/,
    );
    expect(result).toMatchObject({
      StackName: 'kc',
      Executed: true,
      StackStatus: 'UPDATE_COMPLETE',
      Outputs: { JenkinsURL: 'http://lb:8080' },
    });
    expect(result!.Changes.map((c) => `${c.stack}/${c.logicalId}:${c.replacement}`)).toEqual([
      'kc/EKSStack:No',
      'EKSStack/Cluster:Yes',
      'EKSStack/AddonsStack:No',
      'EKSStack/AddonsStack/Old:-',
    ]);
  });

  test('create declined at the prompt: the change set and the empty stack are deleted, exit 1', async () => {
    const { cfn, sent } = client({
      changeSets: { [rootSet]: [change('VPCStack', 'AWS::CloudFormation::Stack', 'Add')] },
    });
    const questions: string[] = [];
    const code = await deployStack({
      cfn,
      api: api('REVIEW_IN_PROGRESS'),
      stackName: 'kc',
      existing: undefined,
      templateUrl: 'https://b.s3.eu-west-1.amazonaws.com/t.yaml',
      parameters: {},
      execute: async (q) => (questions.push(q), false),
      print: () => undefined,
      sleep: async () => undefined,
    });

    expect(code).toBe(1);
    expect(questions[0]).toMatch(/^Execute change set kubecfn-deploy-\d{8}T\d{9}z on kc\? \[y\/N\] $/);
    expect(sent.find((s) => s.name === 'CreateChangeSet')!.input).toMatchObject({
      ChangeSetType: 'CREATE',
      IncludeNestedStacks: true,
    });
    expect(sent.map((s) => s.name)).toEqual(expect.arrayContaining(['DeleteChangeSet', 'DeleteStack']));
    expect(sent.map((s) => s.name)).not.toContain('ExecuteChangeSet');
  });

  test('a preview of nothing says so', () => {
    expect(formatChanges([])).toEqual(['  (no resource changes: parameter or output changes only)']);
  });
});
