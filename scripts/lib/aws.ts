// AWS clients for the publish / deploy / destroy scripts. The SDK v3 reads AWS_ENDPOINT_URL (and
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_CLOUDFORMATION) itself; what it cannot guess is that an
// emulator such as moto serves S3 at http://host:port/<bucket>/<key>, so path-style addressing is
// switched on whenever an endpoint is configured.
import {
  CloudFormationClient,
  DescribeStacksCommand,
  paginateListStackResources,
  DescribeStackEventsCommand,
} from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import type { NestedStackRef, StackApi, StackEvent, StackSummary } from './stack-progress';

/** The endpoint override in effect for a service, if any. */
export function endpointOverride(service: 'S3' | 'CLOUDFORMATION'): string | undefined {
  return process.env[`AWS_ENDPOINT_URL_${service}`] || process.env.AWS_ENDPOINT_URL || undefined;
}

/**
 * An S3 client for `region` (default: the SDK's own resolution), path-style when an endpoint is set.
 *
 * @example
 * const s3 = s3Client('eu-west-1');
 */
export function s3Client(region?: string): S3Client {
  return new S3Client({ region, forcePathStyle: endpointOverride('S3') !== undefined });
}

/**
 * A CloudFormation client for `region` (default: the SDK's own resolution).
 *
 * @example
 * const cfn = cloudFormationClient('eu-west-1');
 */
export function cloudFormationClient(region?: string): CloudFormationClient {
  return new CloudFormationClient({ region });
}

/**
 * The region a client ended up with: the flag, else AWS_REGION / the profile. Throws a message
 * naming `--region` when none is configured.
 */
export async function resolvedRegion(client: S3Client | CloudFormationClient): Promise<string> {
  try {
    const region = await client.config.region();
    if (region) return region;
  } catch {
    // fall through to the message below
  }
  throw new Error('no region configured: pass --region or set AWS_REGION');
}

/** `Name: message` of an SDK error, or the message of anything else. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const message = err.message || '(no message)';
    return err.name && err.name !== 'Error' && !message.startsWith(err.name) ? `${err.name}: ${message}` : message;
  }
  return String(err);
}

/** True for CloudFormation's answer about a stack that does not exist (or no longer does, by name). */
export function isStackMissing(err: unknown): boolean {
  return (
    err instanceof Error &&
    /does not exist/i.test(err.message) &&
    /ValidationError/i.test(err.name + ((err as { Code?: string }).Code ?? ''))
  );
}

/**
 * The {@link StackApi} the progress watcher needs, over a real CloudFormation client.
 *
 * @example
 * const api = cloudFormationStackApi(cloudFormationClient('us-east-1'));
 * const stack = await api.describeStack('kubecfn');
 */
export function cloudFormationStackApi(cfn: CloudFormationClient): StackApi {
  return {
    async describeStack(nameOrId: string): Promise<StackSummary | undefined> {
      try {
        const res = await cfn.send(new DescribeStacksCommand({ StackName: nameOrId }));
        const stack = res.Stacks?.[0];
        if (!stack?.StackId) return undefined;
        return {
          stackId: stack.StackId,
          stackName: stack.StackName ?? nameOrId,
          status: stack.StackStatus ?? 'UNKNOWN',
          reason: stack.StackStatusReason,
          parameters: Object.fromEntries(
            (stack.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? '']),
          ),
        };
      } catch (err) {
        if (isStackMissing(err)) return undefined;
        throw err;
      }
    },

    async listEvents(stackId: string, nextToken?: string): Promise<{ events: StackEvent[]; nextToken?: string }> {
      const res = await cfn.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: nextToken }));
      const events = (res.StackEvents ?? []).map((e): StackEvent => ({
        eventId: e.EventId ?? '',
        stackId: e.StackId ?? stackId,
        stackName: e.StackName ?? '',
        logicalId: e.LogicalResourceId ?? '',
        physicalId: e.PhysicalResourceId || undefined,
        type: e.ResourceType ?? '',
        status: e.ResourceStatus ?? '',
        reason: e.ResourceStatusReason || undefined,
        timestamp: e.Timestamp ?? new Date(0),
      }));
      return { events, nextToken: res.NextToken };
    },

    async listNestedStacks(stackId: string): Promise<NestedStackRef[]> {
      const refs: NestedStackRef[] = [];
      try {
        for await (const page of paginateListStackResources({ client: cfn }, { StackName: stackId })) {
          for (const r of page.StackResourceSummaries ?? []) {
            if (r.ResourceType === 'AWS::CloudFormation::Stack' && r.PhysicalResourceId && r.LogicalResourceId) {
              refs.push({ logicalId: r.LogicalResourceId, physicalId: r.PhysicalResourceId });
            }
          }
        }
      } catch (err) {
        // A deleted stack has no resources to list any more.
        if (isStackMissing(err)) return refs;
        throw err;
      }
      return refs;
    },
  };
}
