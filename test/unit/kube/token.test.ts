import { createHash, createHmac } from 'node:crypto';
import { getEksToken, PRESIGN_EXPIRES_SECONDS, TOKEN_LIFETIME_MS, TOKEN_REFRESH_MS } from '../../../functions/src/kube';

// Fixed credentials and signing time: no network, no ambient AWS configuration.
const credentials = async () => ({
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
});
const sessionCredentials = async () => ({ ...(await credentials()), sessionToken: 'FwoGZXIvYXdzE+session/token==' });
const now = new Date('2025-03-04T05:06:07Z');

/** Query parameters aws-iam-authenticator accepts (pkg/token/token.go, `parameterWhitelist`); any other fails the token. */
const allowedParameters = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

/** The authenticator's presigned URLs stay valid 15 minutes after X-Amz-Date (`presignedURLExpiration`). */
const PRESIGNED_URL_VALIDITY_MS = 15 * 60_000;

/**
 * The checks aws-iam-authenticator's `tokenVerifier.Verify` makes before it calls STS, restated
 * here: size, prefix, unpadded base64url, https, an STS host of the verifier's partition and
 * region, path `/`, only allowed single-valued parameters, the action, the signed cluster-id
 * header, 0 ≤ X-Amz-Expires ≤ 900 and X-Amz-Date not older than 15 minutes at `at`.
 * Returns the parsed URL, its parameters (names lower-cased, like the authenticator), the signing
 * time and the validity the token itself states (read from its X-Amz-Date and X-Amz-Expires).
 */
function verifyLikeAuthenticator(token: string, opts: { region: string; dnsSuffix?: string; at: Date }) {
  expect(token.length).toBeLessThanOrEqual(4096);
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const encoded = token.slice('k8s-aws-v1.'.length);
  // RawURLEncoding: URL alphabet, no padding. Node's decoder is lenient, so check the alphabet first.
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  const url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  expect(url.protocol).toBe('https:');
  // sts.{region}.{partition domain}; the global sts.amazonaws.com is allowed too, but we always sign regionally.
  expect(url.host).toBe(`sts.${opts.region}.${opts.dnsSuffix ?? 'amazonaws.com'}`);
  expect(url.pathname).toBe('/');
  const params = new Map<string, string>();
  for (const key of new Set(url.searchParams.keys())) {
    expect(allowedParameters.has(key.toLowerCase())).toBe(true);
    expect(url.searchParams.getAll(key)).toHaveLength(1);
    params.set(key.toLowerCase(), url.searchParams.get(key)!);
  }
  expect(params.get('action')).toBe('GetCallerIdentity');
  expect(params.get('x-amz-signedheaders')!.toLowerCase().split(';')).toContain('x-k8s-aws-id');
  const expires = Number(params.get('x-amz-expires'));
  expect(Number.isInteger(expires) && expires >= 0 && expires <= 900).toBe(true);
  const date = params.get('x-amz-date')!;
  expect(date).toMatch(/^\d{8}T\d{6}Z$/);
  const signedAt = Date.parse(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  // What the token says of itself: signed at X-Amz-Date, accepted until 15 minutes after it.
  const validUntil = signedAt + PRESIGNED_URL_VALIDITY_MS;
  expect(opts.at.getTime()).toBeLessThanOrEqual(validUntil);
  return { url, params, signedAt, expiresSeconds: expires, validUntil };
}

/** RFC 3986 encoding as SigV4's canonical query string wants it. */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** Recomputes the SigV4 query signature independently of the code under test (node:crypto HMAC chain). */
function expectedSignature(url: URL, clusterName: string, secretAccessKey: string): string {
  const [, day, region, service, terminator] = url.searchParams.get('X-Amz-Credential')!.split('/');
  const amzDate = url.searchParams.get('X-Amz-Date')!;
  const canonicalQuery = [...url.searchParams.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `host:${url.host}\nx-k8s-aws-id:${clusterName}\n`,
    'host;x-k8s-aws-id',
    sha256Hex(''),
  ].join('\n');
  const scope = `${day}/${region}/${service}/${terminator}`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service), terminator);
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

describe('getEksToken', () => {
  test('passes the authenticator format checks for the cluster region', async () => {
    // prepare / act
    const token = await getEksToken({ clusterName: 'ci', region: 'eu-west-1', credentials, now });

    // assess
    const { params } = verifyLikeAuthenticator(token, { region: 'eu-west-1', at: now });
    expect(params.get('version')).toBe('2011-06-15');
    expect(params.get('x-amz-algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(params.get('x-amz-credential')).toBe('AKIDEXAMPLE/20250304/eu-west-1/sts/aws4_request');
    expect(params.get('x-amz-date')).toBe('20250304T050607Z');
    expect(params.get('x-amz-expires')).toBe('60');
    expect(params.get('x-amz-signedheaders')).toBe('host;x-k8s-aws-id');
    expect(params.get('x-amz-signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(params.has('x-amz-security-token')).toBe(false);
  });

  test('carries a signature that an independent SigV4 computation reproduces', async () => {
    const token = await getEksToken({ clusterName: 'ci', region: 'eu-west-1', credentials: sessionCredentials, now });

    const { url } = verifyLikeAuthenticator(token, { region: 'eu-west-1', at: now });
    const { secretAccessKey } = await sessionCredentials();
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, 'ci', secretAccessKey));
  });

  test('binds the cluster name: the signature does not hold for another cluster', async () => {
    const token = await getEksToken({ clusterName: 'ci', region: 'eu-west-1', credentials, now });

    const { url } = verifyLikeAuthenticator(token, { region: 'eu-west-1', at: now });
    expect(url.searchParams.get('X-Amz-Signature')).not.toBe(
      expectedSignature(url, 'other', (await credentials()).secretAccessKey),
    );
  });

  test('carries the session token of temporary credentials, URL-encoded', async () => {
    const token = await getEksToken({ clusterName: 'ci', region: 'us-east-1', credentials: sessionCredentials, now });

    const { url, params } = verifyLikeAuthenticator(token, { region: 'us-east-1', at: now });
    expect(params.get('x-amz-security-token')).toBe('FwoGZXIvYXdzE+session/token==');
    // Go's query parser reads a raw "+" as a space: it must arrive encoded.
    expect(url.search).toContain('X-Amz-Security-Token=FwoGZXIvYXdzE%2Bsession%2Ftoken%3D%3D');
  });

  test('is signed when it is minted, and stays valid for the lifetime the code gives it', async () => {
    // prepare / act: a token minted at `now`, and one minted on the real clock
    const token = await getEksToken({ clusterName: 'ci', region: 'eu-west-1', credentials, now });
    const before = Date.now();
    const fresh = await getEksToken({ clusterName: 'ci', region: 'eu-west-1', credentials });
    const after = Date.now();

    // assess: the validity is read from what the code produced (X-Amz-Date, X-Amz-Expires)
    const pinned = verifyLikeAuthenticator(token, { region: 'eu-west-1', at: now });
    expect(pinned.signedAt).toBe(now.getTime());
    expect(pinned.expiresSeconds).toBe(PRESIGN_EXPIRES_SECONDS);
    // A KubeClient uses a token for TOKEN_LIFETIME_MS at most (and replaces it after TOKEN_REFRESH_MS):
    // the token must still be accepted at the end of that lifetime.
    expect(TOKEN_REFRESH_MS).toBeLessThan(TOKEN_LIFETIME_MS);
    expect(pinned.signedAt + TOKEN_LIFETIME_MS).toBeLessThan(pinned.validUntil);
    verifyLikeAuthenticator(token, { region: 'eu-west-1', at: new Date(now.getTime() + TOKEN_LIFETIME_MS) });

    // X-Amz-Date has whole seconds: a token minted now is dated within the second it was minted
    const { signedAt } = verifyLikeAuthenticator(fresh, { region: 'eu-west-1', at: new Date(after) });
    expect(signedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(signedAt).toBeLessThanOrEqual(after);
  });

  test('signs for the partition of the region (China)', async () => {
    const token = await getEksToken({ clusterName: 'ci', region: 'cn-north-1', credentials, now });

    const { params } = verifyLikeAuthenticator(token, { region: 'cn-north-1', dnsSuffix: 'amazonaws.com.cn', at: now });
    expect(params.get('x-amz-credential')).toBe('AKIDEXAMPLE/20250304/cn-north-1/sts/aws4_request');
  });

  describe('environment', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    test('takes credentials from the default chain and ignores AWS_ENDPOINT_URL_STS', async () => {
      // given: only environment credentials, and an STS endpoint override the authenticator would reject
      process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENV';
      process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
      delete process.env.AWS_SESSION_TOKEN;
      delete process.env.AWS_PROFILE;
      process.env.AWS_ENDPOINT_URL_STS = 'http://127.0.0.1:1';
      process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';

      const token = await getEksToken({ clusterName: 'ci', region: 'eu-central-1', now });

      const { url, params } = verifyLikeAuthenticator(token, { region: 'eu-central-1', at: now });
      expect(params.get('x-amz-credential')).toBe('AKIDFROMENV/20250304/eu-central-1/sts/aws4_request');
      expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, 'ci', 'env-secret'));
    });
  });

  test('rejects an empty cluster name, naming the property', async () => {
    await expect(getEksToken({ clusterName: '', region: 'eu-west-1', credentials, now })).rejects.toThrow(
      /^ClusterName: /,
    );
  });
});
