import { Sha256 } from '@aws-crypto/sha256-js';
import { STSClient } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** Prefix that marks a bearer token as an EKS (aws-iam-authenticator v1) token. */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';

/** Header that binds the presigned request to one cluster; the authenticator rejects tokens that do not sign it. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';

/**
 * Value of `X-Amz-Expires`, as `aws eks get-token` and aws-iam-authenticator set it.
 *
 * STS ignores it for GetCallerIdentity: a presigned URL stays valid for 15 minutes after its
 * `X-Amz-Date`, and the authenticator enforces exactly that (it only checks the parameter is
 * 0–900). 60 is kept because authenticators up to 0.3.0 required a value of at most 60.
 */
export const PRESIGN_EXPIRES_SECONDS = 60;

/**
 * How long a token is worth using. The authenticator accepts it for 15 minutes after signing;
 * aws-iam-authenticator's own client reports 14 minutes. Callers should replace a token well
 * before that: the KubeClient (api-client.ts) mints a new one after {@link TOKEN_REFRESH_MS}.
 */
export const TOKEN_LIFETIME_MS = 14 * 60_000;

/** Age at which a cached token is replaced: 10 minutes leaves margin for clock skew and long requests. */
export const TOKEN_REFRESH_MS = 10 * 60_000;

/** Options of {@link getEksToken}. */
export interface EksTokenOptions {
  /** EKS cluster name, signed into the token as the `x-k8s-aws-id` header. */
  clusterName: string;
  /** Region of the cluster; the token is signed for that region's STS endpoint. */
  region: string;
  /** Credentials to sign with. Default: the Node.js default chain (in Lambda, the function's role). */
  credentials?: AwsCredentialIdentityProvider;
  /** Signing time. Default: now. Tests pin it. */
  now?: Date;
}

/** STS hostname by region: resolving it builds a client, so do it once per region. */
const stsHostnames = new Map<string, string>();

/**
 * The STS host for a region, from the SDK's own endpoint rules (so the China and other partitions
 * get their own DNS suffix). Always the real regional host, never `AWS_ENDPOINT_URL_STS`: the
 * authenticator only accepts real STS hostnames, and the API server does the calling, not us.
 */
function stsHostname(region: string): string {
  const known = stsHostnames.get(region);
  if (known) return known;
  const endpoint = new STSClient({ region }).config.endpointProvider({
    Region: region,
    UseFIPS: false,
    UseDualStack: false,
    UseGlobalEndpoint: false,
  });
  stsHostnames.set(region, endpoint.url.hostname);
  return endpoint.url.hostname;
}

/**
 * Mints an EKS bearer token: `k8s-aws-v1.` followed by the unpadded base64url of a presigned STS
 * `GetCallerIdentity` URL whose signature covers the `x-k8s-aws-id: <clusterName>` header.
 * The API server's authenticator replays the URL against STS to learn who signed it.
 *
 * The token is accepted for 15 minutes after `now`, whatever `X-Amz-Expires` says (see
 * {@link PRESIGN_EXPIRES_SECONDS}); refresh it before {@link TOKEN_LIFETIME_MS}.
 *
 * @example
 * ```ts
 * const token = await getEksToken({ clusterName: 'ci', region: 'eu-west-1' });
 * // Authorization: Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20v...
 * ```
 */
export async function getEksToken(opts: EksTokenOptions): Promise<string> {
  if (!opts.clusterName) throw new Error('ClusterName: expected a non-empty EKS cluster name to sign into the token');
  if (!opts.region) throw new Error(`ClusterName '${opts.clusterName}': no AWS region to sign the EKS token for`);
  const hostname = stsHostname(opts.region);
  const signer = new SignatureV4({
    service: 'sts',
    region: opts.region,
    credentials: opts.credentials ?? defaultProvider(),
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    // Both headers must be signed: host by SigV4 itself, the cluster id because the authenticator checks it.
    headers: { host: hostname, [CLUSTER_ID_HEADER]: opts.clusterName },
  });
  const signed = await signer.presign(request, {
    expiresIn: PRESIGN_EXPIRES_SECONDS,
    ...(opts.now ? { signingDate: opts.now } : {}),
  });
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(signed.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) if (v != null) query.append(key, v);
  }
  const url = `https://${hostname}/?${query.toString()}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}
