/**
 * The providers, detached from the VPC before CloudFormation deletes them. A VPC function's
 * network interfaces (Lambda's "hyperplane" ENIs) stay in use for as long as Lambda keeps them,
 * which made CloudFormation wait 20–45 minutes on the security group and the subnets; detached
 * here, Lambda releases them while the rest of the stack (node groups, the cluster) is deleted.
 */
import { GetFunctionConfigurationCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import type { Clients } from './clients';
import { codeOf } from './clients';
import { fromError, pending, type Leftover } from './leftovers';

export interface Detached {
  /** The functions' names, attached or not: their interfaces' descriptions are `AWS Lambda VPC ENI-<name>`. */
  readonly names: string[];
  readonly removed: string[];
  readonly leftovers: Leftover[];
}

export async function detachFunctions(clients: Clients, functions: string[], signal: AbortSignal): Promise<Detached> {
  const names: string[] = [];
  const removed: string[] = [];
  const leftovers: Leftover[] = [];
  for (const fn of functions) {
    const what = `function ${fn} in the VPC`;
    try {
      const config = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }), {
        abortSignal: signal,
      });
      if (config.FunctionName) names.push(config.FunctionName);
      if (config.LastUpdateStatus === 'InProgress') {
        leftovers.push(pending(what, 'its configuration update is in progress'));
        continue;
      }
      if (!(config.VpcConfig?.SubnetIds ?? []).length) continue;
      await clients.lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: fn,
          VpcConfig: { SubnetIds: [], SecurityGroupIds: [] },
        }),
        { abortSignal: signal },
      );
      const after = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }), {
        abortSignal: signal,
      });
      // Lambda applies the change asynchronously; a failed one is tried again on the next pass.
      if (after.LastUpdateStatus === 'InProgress') leftovers.push(pending(what, 'being detached'));
      else if (after.LastUpdateStatus === 'Failed')
        leftovers.push(
          pending(
            what,
            `Lambda could not detach it: ${[after.LastUpdateStatusReasonCode, after.LastUpdateStatusReason].filter(Boolean).join(': ')}`,
          ),
        );
      else removed.push(`function ${config.FunctionName} detached from the VPC`);
    } catch (error) {
      const code = codeOf(error);
      if (code === 'ResourceNotFound') continue;
      // Another update of the function is under way: the next pass tries again.
      if (code === 'ResourceConflict') leftovers.push(pending(what, (error as Error).message));
      else leftovers.push(fromError(what, error));
    }
  }
  return { names, removed, leftovers };
}
