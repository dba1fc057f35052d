// The embedded cloud's one public entry: tests, benchmarks and `npm start` reach the local
// control plane, the local Lambda service and the local AWS through these names only (an eslint
// rule keeps it so), which leaves the folders behind them free to change. See README.md here.
export { startLocalCluster, localNodes, type LocalCluster, type LocalClusterOptions } from './cluster/cluster';
export { ensureKubernetesBinaries, kubernetesVersion, kwokVersion, type KubernetesBinaries } from './cluster/k8s/build';
export {
  LocalLambda,
  LAMBDA_ASYNC_RETRY_DELAYS_MS,
  type FunctionConfig,
  type FunctionDefinition,
  type Invocation,
  type LocalLambdaOptions,
  type RoleCredentials,
} from './lambda/runner';
export { startMoto, resetMoto, motoEnv, type MotoServer, type MotoOptions } from './aws/moto';
export { startEmbeddedAws, type EmbeddedAws, type EmbeddedAwsOptions, type EmbeddedConfig } from './aws/embedded-aws';
export {
  LocalDeployment,
  localBucket,
  localRegion,
  chaosFromEnv,
  retryDelaysFromEnv,
  userClusterParameters,
  type InjectedFaults,
  type LocalChaos,
  type DeletedCluster,
  type EksControlPlane,
  type HelmRelease,
  type Print,
} from './deployment';
export { takeInventory, objectKinds, type ClusterInventory } from './cluster/inventory';
export {
  startControlPlaneService,
  type ControlPlane,
  type ControlPlaneKey,
  type ControlPlaneService,
} from './cluster/control-planes';
export {
  createEksAuthenticator,
  canonicalPrincipal,
  ACCESS_POLICY_ROLES,
  type AccessEntry,
  type EksAccessState,
  type EksAuthenticator,
} from './aws/eks-authenticator';
export type { AuthenticatedUser, TokenAuthenticator } from './cluster/token-webhook';
export { taskcatTests, readTaskcatReport, afterDeleteFile, type TaskcatTest, type ReportVerdict } from './taskcat';
