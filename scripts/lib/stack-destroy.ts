// `npm run destroy`: delete the stack and watch every nested stack go. A stack that does not exist
// is already destroyed: success.
import { DeleteStackCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { randomUUID } from 'node:crypto';
import { describeError } from './aws';
import { snapshotStackTree, watchAndReport, type StackApi } from './stack-progress';

/** Options for {@link destroyStack}. */
export interface DestroyOptions {
  cfn: Pick<CloudFormationClient, 'send'>;
  api: StackApi;
  stackName: string;
  print: (line: string) => void;
  color?: boolean;
  pollIntervalMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Deletes the stack (nested stacks go with it) and prints live progress until it is gone.
 * Returns the exit code: 0 when the stack reached DELETE_COMPLETE or never existed, 1 when the
 * deletion failed (after printing the root causes). Throws when CloudFormation refuses the request
 * (termination protection, another operation running).
 *
 * @example
 * const cfn = cloudFormationClient('us-east-1');
 * process.exitCode = await destroyStack({ cfn, api: cloudFormationStackApi(cfn), stackName: 'kubecfn', print: console.log });
 */
export async function destroyStack(opts: DestroyOptions): Promise<number> {
  const { cfn, api, stackName, print } = opts;
  const existing = await api.describeStack(stackName);
  if (!existing || existing.status === 'DELETE_COMPLETE') {
    print(`Stack ${stackName} does not exist: nothing to delete.`);
    return 0;
  }
  if (
    existing.status.endsWith('_IN_PROGRESS') &&
    existing.status !== 'DELETE_IN_PROGRESS' &&
    existing.status !== 'REVIEW_IN_PROGRESS'
  ) {
    throw new Error(`stack ${stackName} is busy (${existing.status}); wait until it settles, then destroy it`);
  }
  // Recorded before the delete: nested stacks can only be found while their parents still list them.
  const snapshot = await snapshotStackTree(api, existing.stackId);
  if (existing.status === 'DELETE_IN_PROGRESS') {
    print(`Stack ${stackName} is already being deleted; watching it.\n`);
  } else {
    try {
      // The token makes an SDK retry of this request the same request to CloudFormation.
      await cfn.send(
        new DeleteStackCommand({ StackName: existing.stackId, ClientRequestToken: `kubecfn-destroy-${randomUUID()}` }),
      );
    } catch (err) {
      throw new Error(`CloudFormation refused to delete stack ${stackName}: ${describeError(err)}`);
    }
    const nested = snapshot.length - 1;
    print(`Deleting stack ${stackName} (${existing.stackId})${nested ? ` and its ${nested} nested stack(s)` : ''}\n`);
  }
  return watchAndReport(api, {
    rootStackId: existing.stackId,
    rootName: stackName,
    snapshot,
    expected: 'DELETE_COMPLETE',
    print,
    color: opts.color,
    pollIntervalMs: opts.pollIntervalMs,
    timeoutMs: opts.timeoutMs,
    sleep: opts.sleep,
  });
}
