/**
 * Security groups a controller of the cluster created in the VPC: the AWS Load Balancer
 * Controller's frontend groups (`k8s-<namespace>-<name>-…`) and its shared backend group
 * (`k8s-traffic-<cluster>-…`), the in-tree cloud provider's (`k8s-elb-…`). The rules other groups
 * hold that refer to them (the controller adds its backend group to the cluster's and the nodes'
 * groups) are revoked first, or the group cannot be deleted.
 */
import {
  DeleteSecurityGroupCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import type { Clients } from './clients';
import { codeOf, managedElsewhere, ownedByCluster, tagMap } from './clients';
import type { Removed } from './load-balancers';
import { fromError, pending, type Leftover } from './leftovers';
import type { Props } from './schema';

/** Every controller this sweep knows names its groups so; a group named otherwise is never deleted. */
const CONTROLLER_GROUP_PREFIX = 'k8s-';

async function listGroups(clients: Clients, vpcId: string, signal: AbortSignal): Promise<SecurityGroup[]> {
  const found: SecurityGroup[] = [];
  let NextToken: string | undefined;
  do {
    const out = await clients.ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], NextToken }),
      { abortSignal: signal },
    );
    found.push(...(out.SecurityGroups ?? []));
    NextToken = out.NextToken;
  } while (NextToken);
  return found;
}

export const isControllerGroup = (group: SecurityGroup, clusterName: string): boolean => {
  const tags = tagMap(group.Tags);
  return (
    group.GroupName !== 'default' &&
    (group.GroupName ?? '').startsWith(CONTROLLER_GROUP_PREFIX) &&
    ownedByCluster(tags, clusterName) &&
    !managedElsewhere(tags)
  );
};

/** The parts of `permissions` that name one of `targets` as their source (or destination). */
function referencing(permissions: IpPermission[] | undefined, targets: Set<string>): IpPermission[] {
  const out: IpPermission[] = [];
  for (const p of permissions ?? []) {
    const pairs = (p.UserIdGroupPairs ?? []).filter((pair) => pair.GroupId && targets.has(pair.GroupId));
    if (pairs.length === 0) continue;
    out.push({
      IpProtocol: p.IpProtocol,
      FromPort: p.FromPort,
      ToPort: p.ToPort,
      UserIdGroupPairs: pairs.map((pair) => ({ GroupId: pair.GroupId, UserId: pair.UserId })),
    });
  }
  return out;
}

/** Who holds a group that cannot be deleted: its network interfaces, as the console shows them. */
async function holders(clients: Clients, groupId: string, signal: AbortSignal): Promise<string> {
  try {
    const out = await clients.ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
      { abortSignal: signal },
    );
    const enis = (out.NetworkInterfaces ?? []).map((eni) =>
      `${eni.NetworkInterfaceId}${eni.Description ? ` "${eni.Description}"` : ''} ${eni.Status ?? ''}`.trim(),
    );
    return enis.length ? `; in use by ${enis.slice(0, 5).join(', ')}${enis.length > 5 ? ', …' : ''}` : '';
  } catch {
    return '';
  }
}

export async function sweepSecurityGroups(clients: Clients, props: Props, signal: AbortSignal): Promise<Removed> {
  const removed: string[] = [];
  const leftovers: Leftover[] = [];
  const groups = await listGroups(clients, props.VpcId, signal);
  const targets = groups.filter((g) => isControllerGroup(g, props.ClusterName));
  if (targets.length === 0) return { removed, leftovers };
  const targetIds = new Set(targets.map((g) => g.GroupId!));

  // Rules of the groups that stay (the cluster's, the nodes') that refer to a group about to go.
  for (const group of groups) {
    if (targetIds.has(group.GroupId!)) continue;
    const what = `the rules of security group ${group.GroupId} (${group.GroupName}) that refer to ${[...targetIds].join(', ')}`;
    const ingress = referencing(group.IpPermissions, targetIds);
    const egress = referencing(group.IpPermissionsEgress, targetIds);
    try {
      if (ingress.length)
        await clients.ec2.send(
          new RevokeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: ingress }),
          {
            abortSignal: signal,
          },
        );
      if (egress.length)
        await clients.ec2.send(
          new RevokeSecurityGroupEgressCommand({ GroupId: group.GroupId, IpPermissions: egress }),
          {
            abortSignal: signal,
          },
        );
    } catch (error) {
      const code = codeOf(error);
      if (code !== 'InvalidPermission.NotFound' && code !== 'InvalidGroup.NotFound')
        leftovers.push(fromError(what, error));
    }
  }

  for (const group of targets) {
    const what = `security group ${group.GroupId} (${group.GroupName})`;
    try {
      await clients.ec2.send(new DeleteSecurityGroupCommand({ GroupId: group.GroupId }), { abortSignal: signal });
      removed.push(what);
    } catch (error) {
      const code = codeOf(error);
      if (code === 'InvalidGroup.NotFound') continue;
      // Still attached to interfaces (a load balancer's, until it is fully gone) or referred to by another group.
      if (code === 'DependencyViolation')
        leftovers.push(pending(what, `${(error as Error).message}${await holders(clients, group.GroupId!, signal)}`));
      else leftovers.push(fromError(what, error));
    }
  }
  return { removed, leftovers };
}
