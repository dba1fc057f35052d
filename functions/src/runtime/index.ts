/**
 * The custom-resource runtime: everything between CloudFormation and a resource's own steps — the
 * handler (provider.ts), the request built once per invocation (request.ts), the deadline guard
 * (deadline.ts), the continuation (continuation.ts), and every network call it makes, swappable
 * for tests (outbound.ts). No Kubernetes knowledge lives here.
 */
export { createProvider, type ProviderOptions, type ResourceLoader } from './provider';
export { invocationMargin, overallMargin, DEFAULT_SERVICE_TIMEOUT } from './request';
export { outbound, type Outbound } from './outbound';
export {
  LedgerSession,
  LEASE_MS,
  RENEW_MS,
  type Claim,
  type LedgerRecord,
  type LedgerStore,
  type RecordedAnswer,
} from './ledger';
export {
  defineResource,
  done,
  inProgress,
  type ResourceDefinition,
  type StepContext,
  type StepResult,
  type Done,
  type InProgress,
  type DataValue,
} from './resource';
export {
  prop,
  parseProperties,
  formatPath,
  RUNTIME_PROPERTIES,
  documentsForm,
  parseYaml11,
  parseAllYaml11,
  resolvePlainScalar,
  resolvePlainScalars,
  shapeOf,
  yamlProblem,
  YAML_11,
} from './properties';
export { ResourceError, PropertyError, describeError } from './errors';
export { serializeResponse, putResponse, issuedAt, responseUrlProblem, MAX_RESPONSE_BYTES } from './respond';
export { redactEvent, redactString, MASK, createLogger } from './logger';
export {
  defaultPhysicalId,
  createFailedId,
  isCreateFailedId,
  CREATE_FAILED_PREFIX,
  shortHash,
  MAX_PHYSICAL_ID,
} from './physical-id';
export type {
  CloudFormationEvent,
  ResponseBody,
  LambdaContext,
  Continuation,
  ContinuationEvent,
  RequestType,
  RawProperties,
} from './types';
