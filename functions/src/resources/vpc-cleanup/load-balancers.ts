/**
 * Load balancers and target groups that a controller of the cluster (the AWS Load Balancer
 * Controller, or the in-tree cloud provider's NLBs) created in the VPC and left behind: deleted,
 * the load balancers first (their listeners go with them), then the target groups they used.
 */
import {
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Clients } from './clients';
import { codeOf, managedElsewhere, ownedByCluster, tagMap } from './clients';
import { fromError, pending, type Leftover } from './leftovers';
import type { Props } from './schema';

/** DescribeTags takes at most 20 ARNs a call. */
const TAGS_PER_CALL = 20;

async function tagsOf(
  clients: Clients,
  arns: string[],
  signal: AbortSignal,
): Promise<Map<string, Record<string, string>>> {
  const tags = new Map<string, Record<string, string>>();
  for (let i = 0; i < arns.length; i += TAGS_PER_CALL) {
    const out = await clients.elb.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + TAGS_PER_CALL) }), {
      abortSignal: signal,
    });
    for (const d of out.TagDescriptions ?? []) if (d.ResourceArn) tags.set(d.ResourceArn, tagMap(d.Tags));
  }
  return tags;
}

async function listLoadBalancers(clients: Clients, vpcId: string, signal: AbortSignal): Promise<LoadBalancer[]> {
  const found: LoadBalancer[] = [];
  let Marker: string | undefined;
  do {
    const out = await clients.elb.send(new DescribeLoadBalancersCommand({ Marker }), { abortSignal: signal });
    found.push(...(out.LoadBalancers ?? []).filter((lb) => lb.VpcId === vpcId && lb.LoadBalancerArn));
    Marker = out.NextMarker;
  } while (Marker);
  return found;
}

async function listTargetGroups(clients: Clients, vpcId: string, signal: AbortSignal): Promise<TargetGroup[]> {
  const found: TargetGroup[] = [];
  let Marker: string | undefined;
  do {
    const out = await clients.elb.send(new DescribeTargetGroupsCommand({ Marker }), { abortSignal: signal });
    found.push(...(out.TargetGroups ?? []).filter((tg) => tg.VpcId === vpcId && tg.TargetGroupArn));
    Marker = out.NextMarker;
  } while (Marker);
  return found;
}

async function owned<T>(
  clients: Clients,
  items: T[],
  arnOf: (item: T) => string,
  clusterName: string,
  signal: AbortSignal,
): Promise<T[]> {
  const tags = await tagsOf(clients, items.map(arnOf), signal);
  return items.filter((item) => {
    const t = tags.get(arnOf(item)) ?? {};
    return ownedByCluster(t, clusterName) && !managedElsewhere(t);
  });
}

export interface Removed {
  readonly removed: string[];
  readonly leftovers: Leftover[];
}

export async function sweepLoadBalancers(clients: Clients, props: Props, signal: AbortSignal): Promise<Removed> {
  const removed: string[] = [];
  const leftovers: Leftover[] = [];
  const all = await listLoadBalancers(clients, props.VpcId, signal);
  const mine = await owned(clients, all, (lb) => lb.LoadBalancerArn!, props.ClusterName, signal);
  for (const lb of mine) {
    const what = `load balancer ${lb.LoadBalancerName} (${lb.LoadBalancerArn})`;
    try {
      await clients.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }), {
        abortSignal: signal,
      });
    } catch (error) {
      if (codeOf(error) === 'LoadBalancerNotFound') continue;
      leftovers.push(fromError(what, error));
      continue;
    }
    // Deletion is asynchronous: the load balancer is gone when DescribeLoadBalancers no longer knows it.
    try {
      const out = await clients.elb.send(
        new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }),
        {
          abortSignal: signal,
        },
      );
      if ((out.LoadBalancers ?? []).length > 0) leftovers.push(pending(what, 'its deletion is in progress'));
      else removed.push(what);
    } catch (error) {
      if (codeOf(error) === 'LoadBalancerNotFound') removed.push(what);
      else leftovers.push(fromError(what, error));
    }
  }
  return { removed, leftovers };
}

export async function sweepTargetGroups(clients: Clients, props: Props, signal: AbortSignal): Promise<Removed> {
  const removed: string[] = [];
  const leftovers: Leftover[] = [];
  const all = await listTargetGroups(clients, props.VpcId, signal);
  const mine = await owned(clients, all, (tg) => tg.TargetGroupArn!, props.ClusterName, signal);
  for (const tg of mine) {
    const what = `target group ${tg.TargetGroupName} (${tg.TargetGroupArn})`;
    try {
      await clients.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }), {
        abortSignal: signal,
      });
      removed.push(what);
    } catch (error) {
      const code = codeOf(error);
      if (code === 'TargetGroupNotFound') continue;
      // Still used by a listener of a load balancer that is being deleted.
      if (code === 'ResourceInUse') leftovers.push(pending(what, `in use: ${(error as Error).message}`));
      else leftovers.push(fromError(what, error));
    }
  }
  return { removed, leftovers };
}
