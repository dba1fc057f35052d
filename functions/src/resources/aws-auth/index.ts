/**
 * `Custom::AwsAuth`: merges IAM role, user and account mappings into `kube-system/aws-auth`,
 * owning only its own entries, safely beside other writers. The folder holds:
 * - resource.ts — the definition: which action each request runs;
 * - schema.ts — the properties and their checks (ARNs, usernames, account ids);
 * - apply.ts, delete.ts — the actions: map the entries, let go of them; step.ts — what they share;
 * - mappings.ts — the mapping kinds and how entries compare;
 * - yaml-list.ts — byte-preserving edits of a YAML list;
 * - merge.ts — the ownership rules (who may add, change, remove which entry);
 * - config-map.ts — read-modify-write against the API server with optimistic concurrency.
 * The reference page is docs/resources/aws-auth.md.
 */
export { default } from './resource';
export { awsAuthSchema, type AwsAuthProperties } from './schema';
export { mergeAwsAuth, OWNERS_ANNOTATION } from './merge';
export type { State } from './step';
