/**
 * Whether the stack is going away. CloudFormation sends this resource a Delete in three cases: the
 * stack is deleted, a failed Create rolls back, or an Update that added it (or replaced it) is
 * rolled back or cleaned up. Only the first two may sweep: in the third the cluster lives on, and its
 * load balancers are in use.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ResourceError } from '../../runtime';
import type { Clients } from './clients';
import { describeAwsError } from './clients';

/** The stack statuses in which every resource of the stack is being deleted. */
export const SWEEP_STATUSES: readonly string[] = ['DELETE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'];

/** The status of the stack that holds the resource (`event.StackId`). */
export async function stackStatus(clients: Clients, stackId: string, signal: AbortSignal): Promise<string> {
  try {
    const out = await clients.cfn.send(new DescribeStacksCommand({ StackName: stackId }), { abortSignal: signal });
    const status = out.Stacks?.[0]?.StackStatus;
    if (!status) throw new Error('DescribeStacks answered no stack');
    return status;
  } catch (error) {
    throw new ResourceError(
      `could not tell whether stack ${stackId} is being deleted (cloudformation:DescribeStacks answered ${describeAwsError(error)}); nothing was removed`,
      { cause: error },
    );
  }
}
