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

/** Where the clients get their Region and credentials: the flags, else the environment and profile. */
export interface AwsTarget {
  /** `--region`; else AWS_REGION, else AWS_DEFAULT_REGION (which the AWS CLI reads and SDK v3 does not), else the profile's. */
  region?: string;
  /** `--profile`; else AWS_PROFILE, else `default`. */
  profile?: string;
}

/**
 * The Region a command uses: the flag, else AWS_REGION, else AWS_DEFAULT_REGION, else undefined
 * (the SDK then reads the profile's `region`).
 *
 * @example
 * regionFrom(undefined, { AWS_DEFAULT_REGION: 'eu-west-1' }); // 'eu-west-1'
 */
export function regionFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

function clientConfig(target: AwsTarget | string | undefined) {
  const t = typeof target === 'string' ? { region: target } : (target ?? {});
  const profile = t.profile || undefined;
  return { region: regionFrom(t.region), ...(profile ? { profile } : {}) };
}

/**
 * An S3 client for `target` (default: the SDK's own resolution), path-style when an endpoint is set.
 *
 * @example
 * const s3 = s3Client({ region: 'eu-west-1', profile: 'deploy' });
 */
export function s3Client(target?: AwsTarget | string): S3Client {
  return new S3Client({ ...clientConfig(target), forcePathStyle: endpointOverride('S3') !== undefined });
}

/**
 * A CloudFormation client for `target` (default: the SDK's own resolution).
 *
 * @example
 * const cfn = cloudFormationClient({ region: 'eu-west-1' });
 */
export function cloudFormationClient(target?: AwsTarget | string): CloudFormationClient {
  return new CloudFormationClient(clientConfig(target));
}

/**
 * The region a client ended up with: the flag, else AWS_REGION / AWS_DEFAULT_REGION / the profile.
 * Throws a message naming `--region` when none is configured.
 */
export async function resolvedRegion(client: S3Client | CloudFormationClient): Promise<string> {
  try {
    const region = await client.config.region();
    if (region) return region;
  } catch {
    // fall through to the message below
  }
  throw new Error('no Region configured: pass --region, set AWS_REGION, or set region in the profile (aws configure)');
}

const networkCodes = [
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
];

/**
 * What went wrong in words a user can act on, for the failures every AWS command shares: no
 * credentials, expired or invalid credentials, no network or a wrong endpoint, access denied.
 * Undefined for anything else (the caller's own message fits better).
 *
 * @example
 * explainAwsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
 * // 'no AWS credentials found: ...'
 */
export function explainAwsError(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { code?: string; Code?: string; hostname?: string; cause?: unknown };
  const code = e.code ?? (e.cause as { code?: string } | undefined)?.code ?? '';
  const text = `${e.name} ${e.message} ${code}`;
  if (
    e.name === 'CredentialsProviderError' ||
    /Could not load credentials|credential.*(missing|not found)/i.test(e.message)
  ) {
    return (
      'no AWS credentials found: pass --profile NAME (a profile in ~/.aws/config; run aws sso login --profile NAME first for SSO), ' +
      'set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'
    );
  }
  if (/ExpiredToken|token.*expired|RequestExpired/i.test(text)) {
    return 'the AWS credentials have expired: renew them (aws sso login, or new temporary keys) and run the command again';
  }
  if (/InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|InvalidAccessKeyId/.test(text)) {
    return `AWS refused the credentials (${e.name}): check the access key, the secret and the profile (aws sts get-caller-identity shows who you are)`;
  }
  const net = networkCodes.find((c) => text.includes(c)) ?? (e.name === 'TimeoutError' ? 'timeout' : undefined);
  if (net) {
    const host = e.hostname ?? /getaddrinfo \w+ (\S+)/.exec(e.message)?.[1] ?? /connect \w+ (\S+)/.exec(e.message)?.[1];
    const endpoint = process.env.AWS_ENDPOINT_URL;
    return (
      `cannot reach AWS${host ? ` at ${host}` : ''} (${net}): check the network connection and any proxy (HTTPS_PROXY)` +
      (endpoint ? `, and AWS_ENDPOINT_URL (${endpoint})` : ', and that --region names a real Region')
    );
  }
  if (/AccessDenied|not authorized/i.test(text)) {
    return `access denied: ${e.message} (the deploying identity needs the policy in docs/iam/deploy-policy.json)`;
  }
  return undefined;
}

/** `Name: message` of an SDK error (or the explanation of a shared failure), or the message of anything else. */
export function describeError(err: unknown): string {
  const explained = explainAwsError(err);
  if (explained) return explained;
  if (err instanceof Error) {
    const message = err.message || '(no message)';
    return err.name && err.name !== 'Error' && !message.startsWith(err.name) ? `${err.name}: ${message}` : message;
  }
  return String(err);
}

/**
 * Runs one step of a command against AWS; a failure every AWS command shares (credentials,
 * network, access) is rethrown as `<step>: <what happened and what to do>`.
 *
 * @example
 * const stack = await awsStep(`reading stack ${name}`, () => api.describeStack(name));
 */
export async function awsStep<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const explained = explainAwsError(err);
    if (explained) throw new Error(`${step}: ${explained}`, { cause: err });
    throw err;
  }
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
