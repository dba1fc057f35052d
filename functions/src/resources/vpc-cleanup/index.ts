/**
 * `Custom::VpcCleanup` (CleanupProvider): what the cluster's controllers and the providers leave in
 * the VPC, removed when the stack is deleted. The folder holds resource.ts (the definition),
 * schema.ts (the properties), sweep.ts (Delete's pass and its verdict), guard.ts (is the stack being
 * deleted?), one file per kind of leftover (load-balancers.ts, security-groups.ts,
 * network-interfaces.ts, functions.ts), clients.ts (the AWS clients and their errors) and
 * leftovers.ts (what is left, and why).
 */
export { default, TYPE } from './resource';
export { schema, type Props } from './schema';
export type { State } from './sweep';
