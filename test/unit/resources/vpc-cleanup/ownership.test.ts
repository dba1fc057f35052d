/**
 * What the VPC cleanup takes for the cluster's controllers' leftovers, and how it reads AWS errors:
 * the rules that keep it off EKS's, CloudFormation's and other clusters' resources.
 */
import {
  codeOf,
  isPermanent,
  managedElsewhere,
  ownedByCluster,
} from '../../../../functions/src/resources/vpc-cleanup/clients';
import { isControllerGroup } from '../../../../functions/src/resources/vpc-cleanup/security-groups';

const tags = (m: Record<string, string>) => Object.entries(m).map(([Key, Value]) => ({ Key, Value }));

describe('a security group is the controller’s', () => {
  const controller = { 'elbv2.k8s.aws/cluster': 'ci', 'elbv2.k8s.aws/resource': 'backend-sg' };

  test('when the Load Balancer Controller tagged it for this cluster and named it k8s-…', () => {
    expect(isControllerGroup({ GroupName: 'k8s-traffic-ci-0a1b2c3d4e', Tags: tags(controller) }, 'ci')).toBe(true);
  });

  test.each([
    [
      'another cluster’s',
      { GroupName: 'k8s-traffic-other-0a1b2c3d4e', Tags: tags({ 'elbv2.k8s.aws/cluster': 'other' }) },
    ],
    ['named otherwise', { GroupName: 'my-lb-group', Tags: tags(controller) }],
    ['the default group', { GroupName: 'default', Tags: tags(controller) }],
    ['EKS’s cluster group', { GroupName: 'k8s-eks-like', Tags: tags({ ...controller, 'aws:eks:cluster-name': 'ci' }) }],
    [
      'made by CloudFormation',
      { GroupName: 'k8s-cfn', Tags: tags({ ...controller, 'aws:cloudformation:stack-id': 'arn:…' }) },
    ],
    [
      'the in-tree cloud provider’s (not scoped by IAM, not swept)',
      { GroupName: 'k8s-elb-a0123456789', Tags: tags({ 'kubernetes.io/cluster/ci': 'owned' }) },
    ],
    ['untagged', { GroupName: 'k8s-untagged' }],
  ])('but not when it is %s', (_what, group) => {
    expect(isControllerGroup(group, 'ci')).toBe(false);
  });
});

test('ownership is by the controller’s cluster tag; EKS’s and CloudFormation’s tags mark what is theirs', () => {
  expect(ownedByCluster({ 'elbv2.k8s.aws/cluster': 'ci' }, 'ci')).toBe(true);
  expect(ownedByCluster({ 'elbv2.k8s.aws/cluster': 'ci-2' }, 'ci')).toBe(false);
  expect(managedElsewhere({ 'eks:cluster-name': 'ci' })).toBe(true);
  expect(managedElsewhere({ 'aws:cloudformation:logical-id': 'X' })).toBe(true);
  expect(managedElsewhere({ 'elbv2.k8s.aws/cluster': 'ci' })).toBe(false);
});

test('error codes read alike from the query services’ wire code and the SDK’s class name', () => {
  expect(codeOf({ Code: 'LoadBalancerNotFound', name: 'LoadBalancerNotFoundException' })).toBe('LoadBalancerNotFound');
  expect(codeOf({ name: 'LoadBalancerNotFoundException' })).toBe('LoadBalancerNotFound');
  expect(codeOf({ name: 'ResourceNotFoundException' })).toBe('ResourceNotFound');
  expect(codeOf({ Code: 'InvalidGroup.NotFound' })).toBe('InvalidGroup.NotFound');
  expect(isPermanent({ name: 'AccessDeniedException' })).toBe(true);
  expect(isPermanent({ Code: 'OperationNotPermitted' })).toBe(true);
  expect(isPermanent({ Code: 'DependencyViolation' })).toBe(false);
});
