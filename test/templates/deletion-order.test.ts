// CloudFormation deletes a resource before everything it depends on. These tests read the dependency
// graph (DependsOn, Ref, GetAtt, Sub — Metadata included, where the conditional gates live) and check
// the teardown order the issue asks for: workloads, then add-ons, then the load balancer controller,
// then node groups, then the cluster; the providers after everything they serve; the VPC last.
import { dependsTransitively, loadTemplate } from './cfn-template';

const eks = loadTemplate('templates/kubecfn-eks.template.yaml');
const addons = loadTemplate('templates/kubecfn-addons.template.yaml');
const jenkins = loadTemplate('templates/workloads/kubecfn-jenkins.template.yaml');

const nodeGroups = ['SystemNodeGroupStack', 'AgentNodeGroupStack', 'GravitonNodeGroupStack'];

describe('the EKS stack', () => {
  test.each(['JenkinsStack', 'GitLabRunnerStack'])('workload %s is deleted before the add-ons', (workload) => {
    expect(dependsTransitively(eks, workload, 'AddonsStack')).toBe(true);
  });

  test.each([...nodeGroups, 'CoreDnsAddon', 'KubeProviderAccessEntry', 'HelmProviderAccessEntry'])(
    'the add-ons are deleted before %s (they need nodes to drain onto and cluster access to uninstall)',
    (target) => {
      expect(dependsTransitively(eks, 'AddonsStack', target)).toBe(true);
    },
  );

  test.each(nodeGroups)('%s is deleted before the cluster, after its networking add-ons', (nodeGroup) => {
    expect(dependsTransitively(eks, nodeGroup, 'Cluster')).toBe(true);
    for (const addon of ['VpcCniAddon', 'KubeProxyAddon', 'PodIdentityAgentAddon'])
      expect([addon, dependsTransitively(eks, nodeGroup, addon)]).toEqual([addon, true]);
  });

  test.each(['AddonsStack', 'JenkinsStack', 'GitLabRunnerStack', 'KubeProviderAccessEntry', 'HelmProviderAccessEntry'])(
    '%s is deleted before the providers that serve it',
    (user) => {
      expect(dependsTransitively(eks, user, 'FunctionsStack')).toBe(true);
    },
  );

  test('the providers do not wait for the cluster, so they come up alongside it', () => {
    expect(dependsTransitively(eks, 'FunctionsStack', 'Cluster')).toBe(false);
  });

  // The teardown's safety net sweeps only what the workloads, the add-ons and the nodes left: it must
  // go after all of them, and before the providers it detaches from the VPC.
  test.each(['JenkinsStack', 'GitLabRunnerStack', 'AddonsStack', ...nodeGroups, 'CoreDnsAddon'])(
    '%s is deleted before the VPC cleanup',
    (earlier) => {
      expect(dependsTransitively(eks, earlier, 'VpcCleanup')).toBe(true);
    },
  );

  test('the VPC cleanup is deleted before the providers, and waits for neither the cluster nor its nodes on create', () => {
    expect(dependsTransitively(eks, 'VpcCleanup', 'FunctionsStack')).toBe(true);
    expect(dependsTransitively(eks, 'VpcCleanup', 'Cluster')).toBe(false);
    expect(dependsTransitively(eks, 'VpcCleanup', 'SystemNodeGroupStack')).toBe(false);
  });
});

describe('the add-ons stack', () => {
  const others = Object.entries(addons.Resources)
    .filter(
      ([id, r]) =>
        (r.Type.startsWith('Custom::') || r.Type === 'AWS::EKS::Addon') && id !== 'LoadBalancerControllerRelease',
    )
    .map(([id]) => id);

  test('has add-ons besides the load balancer controller', () => {
    expect(others.length).toBeGreaterThanOrEqual(5);
  });

  test.each(others)('%s is deleted before the load balancer controller', (id) => {
    expect(dependsTransitively(addons, id, 'LoadBalancerControllerRelease')).toBe(true);
  });

  test.each([
    ['LoadBalancerControllerRelease', 'LoadBalancerControllerPodIdentity'],
    ['ClusterAutoscalerRelease', 'ClusterAutoscalerPodIdentity'],
    ['EfsStorageClass', 'EfsMountTarget1'],
    ['EfsStorageClass', 'EfsMountTarget2'],
    ['EfsStorageClass', 'EfsMountTarget3'],
    ['EfsStorageClass', 'EfsCsiAddon'],
    ['Gp3StorageClass', 'EbsCsiAddon'],
  ])('%s goes before %s', (first, then) => {
    expect(dependsTransitively(addons, first, then)).toBe(true);
  });
});

test('the Jenkins example: URL, then release (its Service and load balancer, its volume), then namespace and StorageClass', () => {
  expect(dependsTransitively(jenkins, 'JenkinsLoadBalancer', 'JenkinsRelease')).toBe(true);
  expect(dependsTransitively(jenkins, 'JenkinsRelease', 'JenkinsNamespaceAndStorage')).toBe(true);
});

describe.each([
  'templates/kubecfn-entrypoint-new-vpc.template.yaml',
  'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
])('%s', (path) => {
  const t = loadTemplate(path);

  test('the bastion goes before the cluster', () => {
    expect(dependsTransitively(t, 'BastionStack', 'EKSStack')).toBe(true);
  });

  if (t.Resources.VPCStack) {
    test('the VPC goes last: after the cluster stack, and with it every load balancer and group the cluster made', () => {
      expect(dependsTransitively(t, 'EKSStack', 'VPCStack')).toBe(true);
      expect(dependsTransitively(t, 'BastionStack', 'VPCStack')).toBe(true);
    });
  }
});
