/**
 * `Custom::HelmRelease` (HelmProvider): a Helm release from a chart repository, an OCI registry
 * (ECR logged in), S3 or a chart packaged with the function. See docs/resources/helm-release.md.
 */
export { default } from './handler';
export {
  TYPE,
  ATTRIBUTES,
  physicalIdOf,
  targetOfPhysicalId,
  targetOf,
  setFetchers,
  type ReleaseTarget,
  type State,
} from './handler';
export { schema, defaultReleaseName, RELEASE_NAME, RELEASE_NAME_MAX, type HelmReleaseProps } from './schema';
export { explainUpgradeFailure, describeChart } from './failure-reason';
