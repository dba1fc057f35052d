/**
 * `Custom::KubeManifest`: Kubernetes objects applied, awaited, pruned and deleted from a template.
 * The folder holds resource.ts (the definition), schema.ts (the properties), state.ts (the state
 * machine that decides the next action), the actions apply.ts, wait.ts, prune.ts and delete.ts,
 * and what they share: step.ts (clock, polling), cluster.ts (client, objects), owner.ts (who
 * manages the set, and the physical id).
 */
export { default } from './resource';
export { ownerFor, ownerFromId, physicalIdFor } from './owner';
export type { State } from './state';
export { schema, type Props } from './schema';
