/**
 * Who manages a set of objects, and the physical id that says so: the set is "what this owner
 * applied to this cluster".
 */
import { fieldManagerFor } from '../../kube';
import { shortHash, type CloudFormationEvent } from '../../runtime';

/**
 * Who manages the set: `<stack name>/<logical id>/<hash of stack id + logical id>`. Stable across
 * updates; written into each object's owner annotation and kept in the physical id.
 */
export function ownerFor(event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>): string {
  const stackName = event.StackId.split('/')[1] ?? 'stack';
  return `${stackName}/${event.LogicalResourceId}/${shortHash(`${event.StackId}|${event.LogicalResourceId}`, 8)}`;
}

/** The physical id: `<cluster>/<owner>` — the set is "what this owner applied to this cluster". */
export const physicalIdFor = (clusterName: string, event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>) =>
  `${clusterName}/${ownerFor(event)}`;

/** The owner part of a physical id made by {@link physicalIdFor}, if it is one. */
export function ownerFromId(physicalId: string): string | undefined {
  return /\/([^/]+\/[^/]+\/[0-9a-f]{8})$/.exec(physicalId)?.[1];
}

/** The field manager the resource applies as: `kubecfn/<stack name>/<logical id>`. */
export function fieldManagerOf(event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>): string {
  return fieldManagerFor(event.StackId.split('/')[1] ?? 'stack', event.LogicalResourceId);
}
