import { randomUUID } from 'node:crypto';
import type { CloudFormationEvent, RequestType } from '../../functions/src/runtime';

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
