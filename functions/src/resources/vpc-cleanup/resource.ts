/**
 * `Custom::VpcCleanup`: the teardown's safety net. Create and Update do nothing; Delete, when the
 * stack is being deleted, removes from the VPC what Kubernetes controllers created and left
 * behind (load balancers, target groups and security groups tagged for the cluster, the cluster's
 * orphaned network interfaces) and detaches the VPC-attached providers so that their interfaces
 * do not hold up the deletion of the VPC. See docs/resources/vpc-cleanup.md.
 */
import { defineResource, done } from '../../runtime';
import { schema, type Props } from './schema';
import { startState, sweep, type State } from './sweep';

export const TYPE = 'Custom::VpcCleanup';

export default defineResource<Props, State>({
  type: TYPE,
  schema,
  // Writes nothing until the stack is deleted.
  create: async () => done(),
  // The physical id never changes, so an Update never makes CloudFormation delete (sweep) the old one.
  update: async () => done(),
  delete: (props, ctx) => sweep(startState(props, ctx), props, ctx),
  continue: (state, props, ctx) => sweep(state, props, ctx),
  // Create writes nothing: a failed Create has nothing to clean up.
  cleanupFailedCreate: async () => done(),
});
