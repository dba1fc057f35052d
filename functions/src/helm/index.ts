/**
 * helm for the Helm provider: the CLI runner, a private per-invocation helm environment, chart
 * sources (repository, OCI with ECR login, S3, packaged), values files, release operations and
 * readiness checks for waits that outlast one invocation. Its errors are one family (./errors).
 */
export { HelmCli, helmBinary, LAYER_HELM_PATH, type HelmResult, type HelmRunOptions } from './helm-cli';
export { HelmError, HelmCommandError, ChartSourceError, ValuesError, tail } from './errors';
export { openHelmSession, withHelmSession, kubeconfigYaml, type HelmSession } from './helm-session';
export {
  releaseHistory,
  releaseStatus,
  recoverRelease,
  upgradeRelease,
  uninstallRelease,
  helmDuration,
  isPending,
  isReleaseNotFound,
  isOperationInProgress,
  isTimeout,
  PENDING_STATUSES,
  type HelmRelease,
  type HistoryEntry,
  type ReleaseRef,
  type Recovery,
  type UpgradeOptions,
} from './release';
export {
  parseChartSource,
  prepareChart,
  findLocalChart,
  redactUrlCredentials,
  chartRoots,
  describeAwsError,
  type ChartSource,
  type ChartProps,
} from './chart-source';
export {
  awsSources,
  parseS3Url,
  ecrRegistry,
  loginToEcr,
  s3ObjectReader,
  ecrTokenSource,
  type AwsSources,
  type S3Location,
  type ObjectReader,
  type EcrTokenSource,
  secretsManagerReader,
  type SecretReader,
} from './aws-sources';
export {
  preparePrivateRepository,
  readRepositorySecret,
  pemCertificates,
  PRIVATE_REPO_NAME,
  type RepositoryAuth,
} from './repository-config';
export { writeValuesFiles, valuesFileText, type ValuesProps } from './values';
export {
  watchedObjects,
  checkReadiness,
  notReadyReason,
  pendingAfterTimeout,
  releaseWatchedObjects,
  type WatchedObject,
} from './readiness';
