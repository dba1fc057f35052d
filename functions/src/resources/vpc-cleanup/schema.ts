/** The properties of `Custom::VpcCleanup`, as a template author writes them. */
import * as z from 'zod';
import { prop } from '../../runtime';

/** A Lambda function name, partial ARN or ARN, as Lambda's FunctionName takes it. */
const functionName = prop.string({
  minLength: 1,
  maxLength: 170,
  pattern: /^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?$/,
  patternDescription: 'a Lambda function name or ARN',
});

export const schema = z.strictObject({
  /**
   * The EKS cluster whose leftovers are removed: what the AWS Load Balancer Controller tagged
   * `elbv2.k8s.aws/cluster` with this value, and the interfaces the VPC CNI tagged
   * `cluster.k8s.amazonaws.com/name` with it. Required.
   */
  ClusterName: prop.string({
    minLength: 1,
    maxLength: 100,
    pattern: /^[0-9A-Za-z][A-Za-z0-9\-_]*$/,
    patternDescription: 'an EKS cluster name (letters, digits, hyphens, underscores)',
  }),
  /** The VPC the cluster runs in: nothing outside it is touched. Required. */
  VpcId: prop.string({ pattern: /^vpc-[0-9a-f]{8,17}$/, patternDescription: 'a VPC id such as vpc-0123456789abcdef0' }),
  /**
   * Lambda functions attached to the VPC (the providers) to detach from it on Delete, so that Lambda
   * releases their network interfaces before CloudFormation deletes the functions, their security group
   * and the subnets. Optional; a function already gone or outside any VPC is skipped.
   */
  DetachFunctions: prop.list(functionName).default([]),
  /**
   * How long a Delete waits for what it removes to be gone (load balancers, then the security groups
   * and interfaces they held), in seconds; then it answers FAILED naming what is left and why.
   * Kept below the resource's ServiceTimeout. Default 900.
   */
  TimeoutSeconds: prop.integer({ min: 30, max: 3300 }).default(900),
});

export type Props = z.infer<typeof schema>;
