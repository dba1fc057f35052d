// The API server's token authentication webhook (`--authentication-token-webhook-config-file`):
// an HTTPS endpoint, served with a certificate of the cluster's own CA, that answers TokenReviews
// with whatever the cluster's authenticator decides. EKS authenticates bearer tokens the same way
// (aws-iam-authenticator behind the API server); the local cloud plugs its EKS authenticator in here.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';

/** Who a token belongs to, as a TokenReview's `status.user` says it. */
export interface AuthenticatedUser {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/**
 * Decides who a bearer token belongs to: a user, or a refusal whose `error` the API server logs
 * (the client only sees 401 Unauthorized, as in EKS).
 */
export type TokenAuthenticator = (token: string) => Promise<AuthenticatedUser | { error: string }>;

export interface TokenWebhook {
  /** The kubeconfig file to give kube-apiserver as `--authentication-token-webhook-config-file`. */
  configPath: string;
  close(): Promise<void>;
}

/**
 * Serves TokenReviews on a loopback port and writes the webhook kubeconfig that points at it.
 *
 * @example
 * const hook = await startTokenWebhook({ cert, key, caData, configPath, authenticate });
 * // kube-apiserver --authentication-token-webhook-config-file=${hook.configPath} ...
 */
export async function startTokenWebhook(opts: {
  cert: string;
  key: string;
  caData: string;
  configPath: string;
  authenticate: TokenAuthenticator;
}): Promise<TokenWebhook> {
  const server: Server = createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: object) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status }));
      };
      let token = '';
      try {
        token = String(
          (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { spec?: { token?: string } }).spec?.token,
        );
      } catch {
        return answer({ authenticated: false, error: 'malformed TokenReview' });
      }
      opts.authenticate(token).then(
        (result) =>
          'error' in result
            ? answer({ authenticated: false, error: result.error })
            : answer({ authenticated: true, user: result }),
        (err: Error) => answer({ authenticated: false, error: `authenticator failed: ${err.message}` }),
      );
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  writeFileSync(
    opts.configPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'token-authenticator',
          cluster: {
            server: `https://127.0.0.1:${port}/authenticate`,
            'certificate-authority-data': Buffer.from(opts.caData).toString('base64'),
          },
        },
      ],
      users: [{ name: 'kube-apiserver', user: {} }],
      contexts: [{ name: 'webhook', context: { cluster: 'token-authenticator', user: 'kube-apiserver' } }],
      'current-context': 'webhook',
    }),
    { mode: 0o600 },
  );
  return {
    configPath: opts.configPath,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
