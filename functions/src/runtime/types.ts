/**
 * The CloudFormation custom-resource protocol, as the runtime sees it.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
 */

export type RequestType = 'Create' | 'Update' | 'Delete';

/** Every property arrives as CloudFormation sent it: scalars as strings, lists and maps as JSON. */
export type RawProperties = Record<string, unknown> & { ServiceToken?: string; ServiceTimeout?: string };

export interface CloudFormationEvent {
  RequestType: RequestType;
  ServiceToken: string;
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  ResourceType: string;
  ResourceProperties: RawProperties;
  /** Present on Update and Delete. */
  PhysicalResourceId?: string;
  /** Present on Update. */
  OldResourceProperties?: RawProperties;
}

/** What CloudFormation receives in the PUT to the response URL. */
export interface ResponseBody {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  NoEcho?: boolean;
  Data?: Record<string, string>;
}

/** The subset of the Lambda context the runtime uses. */
export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  invokedFunctionArn: string;
  logGroupName: string;
  logStreamName: string;
  getRemainingTimeInMillis(): number;
}

/**
 * Work carried from one invocation to the next when a step needs longer than one invocation.
 * Travels inside the asynchronous self-invocation's payload, beside the original event.
 */
export interface Continuation<S = unknown> {
  /** The resource's own state, as its last step returned it. */
  state: S;
  /** When the first invocation for this request started (ms since epoch): the overall deadline counts from it. */
  startedAt: number;
  /** 1 for the first continuation, 2 for the second… */
  attempt: number;
  /** Physical id decided by the step that went on in the background. */
  physicalId: string;
  /**
   * Set when the hand-over left the event's OldResourceProperties out to stay within Lambda's
   * asynchronous payload limit: later invocations of an Update then do not know the previous properties.
   */
  oldPropertiesDropped?: true;
}

export interface ContinuationEvent<S = unknown> extends CloudFormationEvent {
  KubecfnContinuation: Continuation<S>;
}
