/**
 * The AWS clients a sweep uses, made once per request (Region and endpoint from the Lambda
 * environment, `AWS_ENDPOINT_URL` included), and the few facts about their errors the sweep needs.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { LambdaClient } from '@aws-sdk/client-lambda';

export interface Clients {
  readonly cfn: CloudFormationClient;
  readonly ec2: EC2Client;
  readonly elb: ElasticLoadBalancingV2Client;
  readonly lambda: LambdaClient;
}

/** The SDK retries throttling and 5xx answers itself; a few more attempts than its default of 3. */
const options = { maxAttempts: 5 };

export const makeClients = (): Clients => ({
  cfn: new CloudFormationClient(options),
  ec2: new EC2Client(options),
  elb: new ElasticLoadBalancingV2Client(options),
  lambda: new LambdaClient(options),
});

/**
 * The error code an AWS API answered, without an `Exception` suffix: the query services answer
 * `LoadBalancerNotFound` on the wire where the SDK's class is `LoadBalancerNotFoundException`, and
 * the JSON services `ResourceNotFoundException`. So `DependencyViolation`, `LoadBalancerNotFound`,
 * `ResourceNotFound`…
 */
export const codeOf = (error: unknown): string => {
  const e = error as { name?: string; Code?: string; code?: string };
  return (e?.Code ?? e?.name ?? e?.code ?? 'Error').replace(/Exception$/, '');
};

/** What was answered, in one line: `code: message`, for a Reason. */
export const describeAwsError = (error: unknown): string => {
  const message = (error as { message?: string })?.message ?? String(error);
  const code = codeOf(error);
  return message.startsWith(code) ? message : `${code}: ${message}`;
};

/** Answers that waiting will not change: the role may not do it, or the call is wrong. */
export const isPermanent = (error: unknown): boolean =>
  /^(OperationNotPermitted|AccessDenied|UnauthorizedOperation|AuthFailure|InvalidClientTokenId|ValidationError|InvalidParameterValue)$/.test(
    codeOf(error),
  );

/** Tags as a map, from any of the SDKs' `{ Key, Value }` lists. */
export const tagMap = (tags: readonly { Key?: string; Value?: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));

/**
 * The AWS Load Balancer Controller of this cluster made it. (The in-tree cloud provider's
 * `kubernetes.io/cluster/<name>` = `owned` is not taken: IAM cannot scope a delete to it, see
 * docs/resources/vpc-cleanup.md.)
 */
export const CLUSTER_TAG = 'elbv2.k8s.aws/cluster';
export const ownedByCluster = (tags: Record<string, string>, clusterName: string): boolean =>
  tags[CLUSTER_TAG] === clusterName;

/** Made by CloudFormation or by EKS itself: theirs to delete, never the sweep's. */
export const managedElsewhere = (tags: Record<string, string>): boolean =>
  Object.keys(tags).some(
    (k) => k.startsWith('aws:cloudformation:') || k === 'aws:eks:cluster-name' || k === 'eks:cluster-name',
  );
