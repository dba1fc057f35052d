// A few raw calls to the local control plane as a cluster admin, for the emulations of what AWS
// controllers do (cloud-emulation.ts, pod-network.ts): method, path, JSON body, JSON answer.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';

interface KubeconfigShape {
  clusters: Array<{
    cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string };
  }>;
  users: Array<{ user: { token?: string } }>;
}

/** One API call's status and parsed body (raw API JSON of many kinds, read field by field by callers). */
export type KubeCall = (
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
) => Promise<{ status: number; json: any }>;

/**
 * A caller for the cluster of a kubeconfig (token authentication, as the local control plane's).
 *
 * @example
 * const call = kubeCaller(cluster.kubeconfigPath);
 * const { json } = await call('GET', '/api/v1/services');
 */
export function kubeCaller(kubeconfigPath: string): KubeCall {
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as KubeconfigShape;
  const cluster = config.clusters[0]!.cluster;
  const ca = cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64')
    : readFileSync(cluster['certificate-authority']!);
  const token = config.users[0]!.user.token ?? '';
  const server = new URL(cluster.server);
  return (method, path, body, contentType = 'application/json') =>
    new Promise((ok, fail) => {
      const req = request(
        {
          host: server.hostname,
          port: server.port,
          path,
          method,
          ca,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body ? { 'content-type': contentType } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let json: unknown = null;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              json = { message: text };
            }
            ok({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', fail);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
}
