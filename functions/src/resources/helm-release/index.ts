/**
 * `Custom::HelmRelease` (HelmProvider): a Helm release from a chart repository, an OCI registry
 * (ECR logged in), S3 or a chart packaged with the function. See docs/resources/helm-release.md.
 * The folder holds:
 * - resource.ts — the definition: which action each request and continuation runs;
 * - schema.ts — the properties, each with its default;
 * - install.ts, wait.ts, uninstall.ts — the actions;
 * - target.ts — where a release lives, and its physical id; state.ts — what travels between invocations;
 * - failure-reason.ts — helm's failures in the words of the property at fault;
 * - namespace.ts — the namespace a failed install created, removed again.
 */
export { default, TYPE, ATTRIBUTES } from './resource';
export { physicalIdOf, targetOfPhysicalId, targetOf, type ReleaseTarget } from './target';
export type { State } from './state';
export { schema, defaultReleaseName, RELEASE_NAME, RELEASE_NAME_MAX, type HelmReleaseProps } from './schema';
export { explainUpgradeFailure, describeChart } from './failure-reason';
