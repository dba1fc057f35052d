/**
 * Physical-id rules. CloudFormation treats a changed physical id on Update as a replacement and
 * sends a Delete for the old one after the stack update completes; ids are what Delete acts on.
 */
import { createHash } from 'node:crypto';
import type { CloudFormationEvent } from './types';

/**
 * The physical id answered for a Create that failed. Its Delete (during rollback) succeeds at once:
 * nothing was left behind, because a failed Create cleans up after itself before answering.
 */
export const CREATE_FAILED_PREFIX = 'kubecfn:create-failed:';

export const createFailedId = (event: CloudFormationEvent) =>
  `${CREATE_FAILED_PREFIX}${event.LogicalResourceId}:${shortHash(event.RequestId)}`;

export const isCreateFailedId = (id: string | undefined) => id?.startsWith(CREATE_FAILED_PREFIX) ?? false;

/** CloudFormation allows physical ids up to 1,024 characters. */
export const MAX_PHYSICAL_ID = 1024;

/**
 * The default physical id: stable for a given request, so CloudFormation's retry of the same
 * Create (same RequestId) gets the same answer, and distinct across stacks and requests.
 *
 * @example
 * defaultPhysicalId(event); // 'mystack-JenkinsRelease-3f9a1c0d2b7e'
 */
export function defaultPhysicalId(event: CloudFormationEvent): string {
  const stackName = event.StackId.split('/')[1] ?? 'stack';
  return `${stackName}-${event.LogicalResourceId}-${shortHash(`${event.StackId}|${event.LogicalResourceId}|${event.RequestId}`)}`.slice(
    0,
    MAX_PHYSICAL_ID,
  );
}

export const shortHash = (text: string, length = 12) =>
  createHash('sha256').update(text).digest('hex').slice(0, length);
