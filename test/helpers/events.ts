import { randomUUID } from 'node:crypto';
import type { CloudFormationEvent, LambdaContext, RequestType } from '../../functions/src/runtime';

/**
 * A value as CloudFormation hands it to a custom resource: every scalar, at every depth of a map or
 * list, a string (`2` → "2", `false` → "false", `0.5` → "0.5"); null stays null. The local
 * engine's `_stringify` (scripts/local/cfn-engine/kubecfn_embedded/custom_resources.py) does the same.
 *
 * @example
 * stringifyScalars({ replicas: 2, labels: { on: true } }); // { replicas: '2', labels: { on: 'true' } }
 */
export function stringifyScalars<T>(value: T): T {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value) as T;
  if (Array.isArray(value)) return value.map(stringifyScalars) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyScalars(v)])) as T;
  return value;
}

/**
 * A CloudFormation custom-resource request as CloudFormation sends it: every scalar of
 * `properties` (and of `extra.OldResourceProperties`), at every depth, a string.
 */
export function cfnEvent(
  requestType: RequestType,
  resourceType: string,
  properties: Record<string, unknown>,
  extra: Partial<CloudFormationEvent> & { ResponseURL: string },
): CloudFormationEvent {
  const event: CloudFormationEvent = {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:Provider',
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/teststack/0f4c7e60-0000-11ef-0000-000000000000',
    RequestId: randomUUID(),
    LogicalResourceId: 'TestResource',
    ResourceType: resourceType,
    ResourceProperties: stringifyScalars({
      ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:Provider',
      ...properties,
    }),
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'existing-id' }),
    ...extra,
  };
  if (extra.OldResourceProperties) event.OldResourceProperties = stringifyScalars(extra.OldResourceProperties);
  if (extra.ResourceProperties) event.ResourceProperties = stringifyScalars(extra.ResourceProperties);
  return event;
}

/**
 * A Lambda context for calling a provider's handler in-process, with a real deadline `timeoutMs`
 * from now (900 s, the providers' Timeout in the templates, by default).
 */
export function lambdaContext(functionName: string, requestId: string, timeoutMs = 900_000): LambdaContext {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: requestId,
    functionName,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'in-process',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
