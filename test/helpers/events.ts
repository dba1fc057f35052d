import { randomUUID } from 'node:crypto';
import type { CloudFormationEvent, LambdaContext, RequestType } from '../../functions/src/runtime';

/** A CloudFormation custom-resource request as CloudFormation sends it (every scalar a string). */
export function cfnEvent(
  requestType: RequestType,
  resourceType: string,
  properties: Record<string, unknown>,
  extra: Partial<CloudFormationEvent> & { ResponseURL: string },
): CloudFormationEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:Provider',
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/teststack/0f4c7e60-0000-11ef-0000-000000000000',
    RequestId: randomUUID(),
    LogicalResourceId: 'TestResource',
    ResourceType: resourceType,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:Provider', ...properties },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'existing-id' }),
    ...extra,
  };
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
