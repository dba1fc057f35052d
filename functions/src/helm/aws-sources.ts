/**
 * What helm needs from AWS: S3 objects (packaged charts, values files), ECR registry logins and
 * chart repository credentials in Secrets Manager.
 * Every AWS call of the helm layer goes through {@link awsSources}, a pair of swappable defaults
 * (the style of the runtime's outbound.ts): the SDK's clients, which honour `AWS_ENDPOINT_URL`
 * (local mode points them at moto); a test replaces them there.
 */
import type { HelmCli } from './helm-cli';

/** An `s3://bucket/key` location. */
export interface S3Location {
  bucket: string;
  key: string;
}

/**
 * Parses `s3://bucket/key`; `undefined` when `url` is not of that form.
 *
 * @example
 * parseS3Url('s3://charts-bucket/jenkins-5.8.0.tgz'); // { bucket: 'charts-bucket', key: 'jenkins-5.8.0.tgz' }
 */
export function parseS3Url(url: string): S3Location | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url.trim());
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

/** Reads whole S3 objects. */
export interface ObjectReader {
  get(location: S3Location, signal?: AbortSignal): Promise<Uint8Array>;
}

const endpointOverride = (service: string) =>
  process.env[`AWS_ENDPOINT_URL_${service}`] || process.env.AWS_ENDPOINT_URL || undefined;

/** The default {@link ObjectReader}: S3 GetObject, following the bucket's region. */
export async function s3ObjectReader(): Promise<ObjectReader> {
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  // A custom endpoint (moto, a VPC endpoint by URL) knows no virtual-hosted bucket names.
  const client = new S3Client({ forcePathStyle: endpointOverride('S3') !== undefined, followRegionRedirects: true });
  return {
    async get(location, signal) {
      const out = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }), {
        abortSignal: signal,
      });
      if (!out.Body) throw new Error(`s3://${location.bucket}/${location.key} has no body`);
      return out.Body.transformToByteArray();
    },
  };
}

/** `<account>.dkr.ecr.<region>.amazonaws.com` (and the FIPS and China forms). */
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * The ECR registry an OCI host names, or `undefined` for any other registry.
 *
 * @example
 * ecrRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com'); // { accountId: '123456789012', region: 'eu-west-1' }
 */
export function ecrRegistry(host: string): { accountId: string; region: string } | undefined {
  const m = ECR_HOST.exec(host);
  return m ? { accountId: m[1]!, region: m[2]! } : undefined;
}

/** Gets a registry password for ECR. */
export interface EcrTokenSource {
  /** `{ username, password }` decoded from GetAuthorizationToken. */
  token(
    registry: { accountId: string; region: string },
    signal?: AbortSignal,
  ): Promise<{ username: string; password: string }>;
}

/** The default {@link EcrTokenSource}: ECR GetAuthorizationToken in the registry's region. */
export async function ecrTokenSource(): Promise<EcrTokenSource> {
  const { ECRClient, GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
  return {
    async token(registry, signal) {
      const client = new ECRClient({ region: registry.region });
      // registryIds names the registry's account: the token is the same for every registry the role
      // may use, but an emulator (and a cross-account registry's audit trail) tells them apart.
      const out = await client.send(new GetAuthorizationTokenCommand({ registryIds: [registry.accountId] }), {
        abortSignal: signal,
      });
      const encoded = out.authorizationData?.[0]?.authorizationToken;
      if (!encoded) throw new Error('ECR GetAuthorizationToken returned no token');
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new Error('ECR GetAuthorizationToken returned a token of an unexpected form');
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    },
  };
}

/**
 * Logs helm in to an ECR registry for this session only (the login lands in the session's
 * HELM_CONFIG_HOME, which is removed when the session closes). The password goes through stdin,
 * never an argument or a log line.
 *
 * @example
 * await loginToEcr(session.cli, '123456789012.dkr.ecr.eu-west-1.amazonaws.com', await ecrTokenSource(), ctx.signal);
 */
export async function loginToEcr(
  cli: HelmCli,
  host: string,
  source: EcrTokenSource,
  signal?: AbortSignal,
): Promise<void> {
  const registry = ecrRegistry(host);
  if (!registry) throw new Error(`${host} is not an ECR registry`);
  const { username, password } = await source.token(registry, signal);
  await cli.run(['registry', 'login', host, '--username', username, '--password-stdin'], { stdin: password, signal });
}

/** Reads secret strings from AWS Secrets Manager. */
export interface SecretReader {
  /** The SecretString of the secret's current version. Never log it. */
  get(secretArn: string, signal?: AbortSignal): Promise<string>;
}

/** The default {@link SecretReader}: Secrets Manager GetSecretValue in the secret's own Region (from its ARN). */
export async function secretsManagerReader(): Promise<SecretReader> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  return {
    async get(secretArn, signal) {
      const region = /^arn:[^:]+:secretsmanager:([a-z0-9-]+):/.exec(secretArn)?.[1];
      const client = new SecretsManagerClient(region ? { region } : {});
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }), { abortSignal: signal });
      if (out.SecretString === undefined) throw new Error('the secret has no SecretString (a binary secret)');
      return out.SecretString;
    },
  };
}

/** Where the helm layer's AWS calls go: narrow interfaces, each created on first use. */
export interface AwsSources {
  /** Reads S3 objects: packaged charts (`s3://` Chart) and values files (ValuesUrl). */
  objects: () => Promise<ObjectReader>;
  /** Gets ECR registry logins for `oci://` charts in ECR. */
  ecr: () => Promise<EcrTokenSource>;
  /** Reads chart repository credentials (RepositorySecretArn). */
  secrets: () => Promise<SecretReader>;
}

let reader: Promise<ObjectReader> | undefined;

/**
 * The AWS calls in use: S3 (one client per process, kept while the container is warm) and ECR.
 * Tests replace `objects` or `ecr` here and put them back afterwards; production code never does.
 */
export const awsSources: AwsSources = {
  objects: () => (reader ??= s3ObjectReader()),
  ecr: ecrTokenSource,
  secrets: secretsManagerReader,
};
