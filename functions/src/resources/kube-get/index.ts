/**
 * `Custom::KubeGet`: one value read from a Kubernetes object, waiting until it is there. The folder
 * holds resource.ts (the definition), schema.ts (the properties), read.ts (the one action: Delete
 * does nothing) and resolve.ts (what `kind/name` names, as kubectl resolves it).
 */
export { default } from './resource';
export type { State } from './read';
export { schema, type Props, type ObjectRef } from './schema';
