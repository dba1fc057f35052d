// The existing-cluster entrypoint: the providers, their access entries and, as chosen, partitions,
// add-ons and workloads in a cluster the user already has. What CloudFormation would refuse before
// creating anything (rules, evaluated with the rule functions alone and a stand-in account for the
// subnet look-ups), what each choice creates (conditions), where the providers run, and the order
// of deletion (everything that uses the providers goes before their access and their way in).
import { dependsTransitively, loadTemplate, type Template } from './cfn-template';
import { evaluateCondition, refusedBy } from './rule-functions';
import { resolveValue } from './resolve';

const path = 'templates/kubecfn-entrypoint-existing-cluster.template.yaml';
const t: Template = loadTemplate(path);
const required = {
  ClusterName: 'team-cluster',
  ClusterSecurityGroupId: 'sg-0123456789abcdef0',
  VPCID: 'vpc-0123456789abcdef0',
  VPCCIDR: '10.0.0.0/16',
  QSS3BucketName: 'my-kubecfn-bucket',
};
const refused = (values: Record<string, string>) => refusedBy(t, { ...required, ...values }, 'eu-west-1');
/** The resources CloudFormation would create for these values. */
const created = (values: Record<string, string>) =>
  Object.entries(t.Resources)
    .filter(
      ([, r]) =>
        !r.Condition || evaluateCondition(t, r.Condition, { 'AWS::Region': 'eu-west-1', ...required, ...values }),
    )
    .map(([id]) => id)
    .sort();
const jenkins = {
  JenkinsWorkload: 'Enabled',
  EfsStorage: 'Enabled',
  LoadBalancerController: 'Enabled',
  SystemPartition: 'Enabled',
  AgentPartition: 'Enabled',
};

describe('rules', () => {
  test('the defaults pass', () => {
    expect(refused({})).toEqual([]);
  });

  test.each(['API', 'API_AND_CONFIG_MAP'])('a cluster in authentication mode %s is accepted', (mode) => {
    expect(refused({ ClusterAuthenticationMode: mode })).toEqual([]);
  });

  test('a cluster that reads aws-auth alone (CONFIG_MAP) is refused, with the command that switches it', () => {
    expect(refused({ ClusterAuthenticationMode: 'CONFIG_MAP' })).toEqual(['ClusterUsesAccessEntries']);
    expect(t.Rules!.ClusterUsesAccessEntries!.Assertions[0]!.AssertDescription).toContain(
      'aws eks update-cluster-config --name <cluster> --access-config authenticationMode=API_AND_CONFIG_MAP',
    );
  });

  test.each(['LoadBalancerController', 'ClusterAutoscaler'])(
    '%s needs nodes labelled kubecfn.io/partition=system: new or existing ones',
    (addon) => {
      expect(refused({ [addon]: 'Enabled' })).toEqual(['ControllersNeedSystemNodes']);
      expect(refused({ [addon]: 'Enabled', SystemPartition: 'Enabled' })).toEqual([]);
      expect(refused({ [addon]: 'Enabled', SystemPartition: 'ExistingNodes' })).toEqual([]);
    },
  );

  test('the add-ons without a controller of their own need no system partition', () => {
    expect(refused({ EfsStorage: 'Enabled', EbsStorage: 'Enabled', MetricsServer: 'Enabled' })).toEqual([]);
  });

  test('Jenkins needs EFS, the load balancer controller, system nodes and agent nodes', () => {
    expect(refused(jenkins)).toEqual([]);
    expect(refused({ ...jenkins, AgentPartition: 'ExistingNodes', SystemPartition: 'ExistingNodes' })).toEqual([]);
    expect(refused({ ...jenkins, EfsStorage: 'Disabled' })).toEqual(['JenkinsNeedsItsAddOns']);
    expect(refused({ ...jenkins, AgentPartition: 'Disabled' })).toEqual(['JenkinsNeedsItsAddOns']);
    expect(refused({ ...jenkins, LoadBalancerController: 'Disabled', SystemPartition: 'Disabled' })).toEqual([
      'ControllersNeedSystemNodes',
      'JenkinsNeedsItsAddOns',
    ]);
  });

  test('the GitLab runner needs a token, system nodes and its job partition', () => {
    const runner = { GitLabRunnerWorkload: 'Enabled', GitLabRunnerToken: 'glrt-x', SystemPartition: 'ExistingNodes' };
    expect(refused({ ...runner, AgentPartition: 'ExistingNodes' })).toEqual([]);
    expect(refused({ ...runner, GitLabRunnerPartition: 'graviton', GravitonPartition: 'Enabled' })).toEqual([]);
    expect(refused(runner)).toEqual(['GitLabRunnerPartitionExists']);
    expect(refused({ ...runner, AgentPartition: 'Enabled', GitLabRunnerToken: '' })).toEqual([
      'GitLabRunnerNeedsToken',
    ]);
  });
});

describe('what each choice creates', () => {
  test('by default: the providers, their access entries and their way to the private endpoint, nothing else', () => {
    expect(created({})).toEqual([
      'AddonsReady',
      'FunctionsStack',
      'HelmProviderAccessEntry',
      'KubeProviderAccessEntry',
      'NodeGroupsReady',
      'ProviderEndpointIngress',
      'ProviderSecurityGroup',
      'ProvidersReady',
      'VpcCleanupReady',
    ]);
  });

  test('the access entries make the two provider roles cluster admins of the named cluster', () => {
    for (const [id, role] of [
      ['KubeProviderAccessEntry', 'KubeProviderRoleArn'],
      ['HelmProviderAccessEntry', 'HelmProviderRoleArn'],
    ] as const) {
      expect(resolveValue(t, t.Resources[id]!.Properties, { ...required, 'AWS::Partition': 'aws' })).toEqual({
        ClusterName: 'team-cluster',
        PrincipalArn: `<FunctionsStack.Outputs.${role}>`,
        AccessPolicies: [
          {
            PolicyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
            AccessScope: { Type: 'cluster' },
          },
        ],
      });
    }
  });

  test('with a private endpoint the providers run in the private subnets, admitted by the cluster group on 443', () => {
    const fn = resolveValue(t, t.Resources.FunctionsStack!.Properties!.Parameters, {
      ...required,
      PrivateSubnet1ID: 'subnet-a',
      PrivateSubnet2ID: 'subnet-b',
    }) as Record<string, string>;
    expect(fn).toMatchObject({
      SubnetIds: { 'Fn::Join': [',', ['subnet-a', 'subnet-b']] },
      SecurityGroupId: '<ProviderSecurityGroup>',
    });
    expect(resolveValue(t, t.Resources.ProviderEndpointIngress!.Properties, required)).toEqual({
      GroupId: 'sg-0123456789abcdef0',
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: '<ProviderSecurityGroup>',
      Description: 'Kubernetes API from the kubecfn providers',
    });
  });

  test('with a public-only endpoint they run outside the VPC and the cluster group is left alone', () => {
    const fn = resolveValue(t, t.Resources.FunctionsStack!.Properties!.Parameters, {
      ...required,
      ClusterEndpointAccess: 'Public',
    }) as Record<string, string>;
    expect(fn).toMatchObject({ SubnetIds: '', SecurityGroupId: '' });
    expect(created({ ClusterEndpointAccess: 'Public' })).not.toContain('ProviderEndpointIngress');
  });

  test('partitions: a node group and the node role for Enabled, nothing for ExistingNodes', () => {
    const made = created({ SystemPartition: 'Enabled', AgentPartition: 'ExistingNodes', GravitonPartition: 'Enabled' });
    expect(made).toEqual(expect.arrayContaining(['NodeRole', 'SystemNodeGroupStack', 'GravitonNodeGroupStack']));
    expect(made).not.toContain('AgentNodeGroupStack');
    expect(created({ SystemPartition: 'ExistingNodes' })).not.toContain('NodeRole');
  });

  test('the pod identity agent comes with the first add-on that needs it, unless the cluster has it', () => {
    expect(created({ MetricsServer: 'Enabled' })).not.toContain('PodIdentityAgentAddon');
    expect(created({ EbsStorage: 'Enabled' })).toContain('PodIdentityAgentAddon');
    expect(created({ EbsStorage: 'Enabled', PodIdentityAgent: 'AlreadyInstalled' })).not.toContain(
      'PodIdentityAgentAddon',
    );
  });

  test('Jenkins: the add-ons stack, the node groups and the Jenkins stack', () => {
    expect(created(jenkins)).toEqual(
      expect.arrayContaining(['AddonsStack', 'JenkinsStack', 'SystemNodeGroupStack', 'AgentNodeGroupStack']),
    );
  });
});

describe('deletion order', () => {
  const users = ['AddonsStack', 'JenkinsStack', 'GitLabRunnerStack'];
  test.each(
    users.flatMap((u) =>
      ['KubeProviderAccessEntry', 'HelmProviderAccessEntry', 'ProviderEndpointIngress'].map((a) => [u, a]),
    ),
  )('%s is deleted before %s (the providers keep their access while they delete)', (user, access) => {
    expect(dependsTransitively(t, user, access)).toBe(true);
  });

  test.each(
    users.flatMap((u) =>
      ['SystemNodeGroupStack', 'AgentNodeGroupStack', 'GravitonNodeGroupStack', 'PodIdentityAgentAddon'].map((n) => [
        u,
        n,
      ]),
    ),
  )('%s is deleted before %s', (user, dependency) => {
    expect(dependsTransitively(t, user, dependency)).toBe(true);
  });

  test.each(['JenkinsStack', 'GitLabRunnerStack'])('workload %s is deleted before the add-ons', (workload) => {
    expect(dependsTransitively(t, workload, 'AddonsStack')).toBe(true);
  });

  test('the provider security group outlives the functions (Lambda releases its interfaces first)', () => {
    expect(dependsTransitively(t, 'FunctionsStack', 'ProviderSecurityGroup')).toBe(true);
  });
});

describe('the VPC cleanup', () => {
  const lbc = { LoadBalancerController: 'Enabled', SystemPartition: 'ExistingNodes' };
  const functionsParameters = (values: Record<string, string>) =>
    resolveValue(t, t.Resources.FunctionsStack!.Properties!.Parameters, {
      ...required,
      'AWS::StackId': 'arn:aws:cloudformation:eu-west-1:111122223333:stack/tools/0c1d2e3f',
      ...values,
    }) as Record<string, unknown>;

  test('comes with the load balancer controller this stack installs, and only with it', () => {
    expect(created(lbc)).toContain('VpcCleanup');
    expect(created({ ...jenkins })).toContain('VpcCleanup');
    expect(created({})).not.toContain('VpcCleanup');
    expect(created({ EfsStorage: 'Enabled', EbsStorage: 'Enabled', MetricsServer: 'Enabled' })).not.toContain(
      'VpcCleanup',
    );
  });

  test('sweeps this cluster in its VPC and detaches this stack’s own providers, nothing else', () => {
    expect(resolveValue(t, t.Resources.VpcCleanup!.Properties, { ...required, ...lbc })).toEqual({
      ServiceToken: '<FunctionsStack.Outputs.CleanupProviderArn>',
      ServiceTimeout: 1200,
      ClusterName: 'team-cluster',
      VpcId: 'vpc-0123456789abcdef0',
      DetachFunctions: ['<FunctionsStack.Outputs.KubeProviderArn>', '<FunctionsStack.Outputs.HelmProviderArn>'],
      TimeoutSeconds: 900,
    });
  });

  test('the CleanupProvider may describe this stack alone, and act in the VPC only when the cleanup exists', () => {
    expect(functionsParameters(lbc)).toMatchObject({
      CleanupStackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/tools/0c1d2e3f',
      VpcId: 'vpc-0123456789abcdef0',
    });
    expect(functionsParameters({})).toMatchObject({
      CleanupStackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/tools/0c1d2e3f',
      VpcId: '',
    });
  });

  // Deleted after everything that makes load balancers or leaves interfaces (the workloads, the add-ons
  // with the controller, the node groups), before the providers it detaches.
  test.each([
    'JenkinsStack',
    'GitLabRunnerStack',
    'AddonsStack',
    'SystemNodeGroupStack',
    'AgentNodeGroupStack',
    'GravitonNodeGroupStack',
    'NodeGroupsReady',
  ])('%s is deleted before the VPC cleanup', (earlier) => {
    expect(dependsTransitively(t, earlier, 'VpcCleanup')).toBe(true);
  });

  test('it is deleted before the providers, and waits on create for neither the nodes nor the add-ons', () => {
    expect(dependsTransitively(t, 'VpcCleanup', 'FunctionsStack')).toBe(true);
    for (const later of ['NodeGroupsReady', 'SystemNodeGroupStack', 'AddonsStack', 'PodIdentityAgentAddon'])
      expect([later, dependsTransitively(t, 'VpcCleanup', later)]).toEqual([later, false]);
  });

  test('without it, the resources that wait for it have nothing conditional to wait on', () => {
    // DependsOn names the unconditional VpcCleanupReady, which refers to the cleanup only through Fn::If.
    for (const [id, r] of Object.entries(t.Resources))
      expect([id, [r.DependsOn ?? []].flat().includes('VpcCleanup')]).toEqual([id, false]);
    expect(t.Resources.VpcCleanupReady!.Condition).toBeUndefined();
    expect(t.Resources.VpcCleanupReady!.Metadata).toEqual({
      VpcCleanup: { 'Fn::If': ['CreateVpcCleanup', { Ref: 'VpcCleanup' }, ''] },
    });
  });
});
