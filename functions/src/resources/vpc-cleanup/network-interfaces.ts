/**
 * Network interfaces left `available` in the VPC: the cluster's (the VPC CNI tags those it creates
 * with `cluster.k8s.amazonaws.com/name`; one left behind when a node went away before ipamd freed it)
 * and the detached providers' (`AWS Lambda VPC ENI-<function>`). In-use interfaces are never touched:
 * a load balancer's go with it, a function's when Lambda releases them.
 */
import {
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import type { StepContext } from '../../runtime';
import type { Clients } from './clients';
import { codeOf, tagMap } from './clients';
import type { Removed } from './load-balancers';
import { fromError, type Leftover } from './leftovers';
import type { Props } from './schema';

export const CNI_CLUSTER_TAG = 'cluster.k8s.amazonaws.com/name';
export const lambdaEniDescription = (functionName: string) => `AWS Lambda VPC ENI-${functionName}`;

async function listInterfaces(clients: Clients, vpcId: string, signal: AbortSignal): Promise<NetworkInterface[]> {
  const found: NetworkInterface[] = [];
  let NextToken: string | undefined;
  do {
    const out = await clients.ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], NextToken }),
      { abortSignal: signal },
    );
    found.push(...(out.NetworkInterfaces ?? []));
    NextToken = out.NextToken;
  } while (NextToken);
  return found;
}

export async function sweepInterfaces(
  clients: Clients,
  props: Props,
  functionNames: string[],
  logger: StepContext['logger'],
  signal: AbortSignal,
): Promise<Removed> {
  const removed: string[] = [];
  const leftovers: Leftover[] = [];
  const lambdaDescriptions = new Set(functionNames.map(lambdaEniDescription));
  const ours = (eni: NetworkInterface) =>
    tagMap(eni.TagSet)[CNI_CLUSTER_TAG] === props.ClusterName || lambdaDescriptions.has(eni.Description ?? '');
  const all = (await listInterfaces(clients, props.VpcId, signal)).filter(ours);
  const inUse = all.filter((eni) => eni.Status !== 'available').map((eni) => eni.NetworkInterfaceId);
  if (inUse.length) logger.info('interfaces still in use are left to their owner', { interfaces: inUse });
  for (const eni of all.filter((e) => e.Status === 'available')) {
    const what = `network interface ${eni.NetworkInterfaceId}${eni.Description ? ` "${eni.Description}"` : ''}`;
    try {
      await clients.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId }), {
        abortSignal: signal,
      });
      removed.push(what);
    } catch (error) {
      if (codeOf(error) === 'InvalidNetworkInterfaceID.NotFound') continue;
      leftovers.push(fromError(what, error));
    }
  }
  return { removed, leftovers };
}
