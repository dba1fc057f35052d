// One local control plane per EKS cluster. The CloudFormation engine (inside moto server) asks this
// service for a control plane when it creates an AWS::EKS::Cluster and tells it when the cluster is
// deleted; the control plane starts then (about 3 s and 350 MiB on two cores: bench/control-planes.ts)
// and stops with its cluster, as an EKS cluster's API exists from CreateCluster to DeleteCluster. Two
// stacks side by side each get their own: own etcd, API server, CA, nodes and authentication.
//
//   PUT    /clusters/<account>/<region>/<name>   start (or find) the cluster's control plane:
//                                               200 {"server", "caData", "token", "version"}
//   DELETE /clusters/<account>/<region>/<name>   stop it: 200, or 404 when none runs (gone already)
//   GET    /clusters                             the running ones: [{"account", "region", "name", "server"}]
//
// Loopback only, and every call must carry the service's bearer token (it hands out admin tokens);
// the engine reads both from its configuration file (mode 0600).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalCluster } from './cluster';

/** Which EKS cluster: names are unique per account and region, as in EKS. */
export interface ControlPlaneKey {
  account: string;
  region: string;
  name: string;
}

/** What the service keeps for a running cluster: its control plane and whatever runs beside it. */
export interface ControlPlane {
  key: ControlPlaneKey;
  cluster: LocalCluster;
  /** Stops the control plane and everything beside it. */
  stop(): Promise<void>;
}

/** The running service. */
export interface ControlPlaneService<P extends ControlPlane> {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The bearer token every call must carry. */
  token: string;
  /** The running control planes (started and not yet stopped). */
  running(): P[];
  /** Stops every control plane (without `beforeStop`) and the service. */
  close(): Promise<void>;
}

/** `<account>/<region>/<name>`. */
export const keyText = (k: ControlPlaneKey) => `${k.account}/${k.region}/${k.name}`;

/**
 * Starts the service on a loopback port. `start` makes a control plane for a cluster; `beforeStop`
 * runs when the engine deletes the cluster, before its control plane stops (the local cloud takes
 * its last inventory there).
 *
 * @example
 * const planes = await startControlPlaneService({ start: async (key) => ({ key, cluster: await startLocalCluster(), stop }) });
 * aws.configure({ controlPlanes: { endpoint: planes.endpoint, token: planes.token, version } });
 */
export async function startControlPlaneService<P extends ControlPlane>(opts: {
  start: (key: ControlPlaneKey) => Promise<P>;
  beforeStop?: (plane: P) => Promise<void>;
  log?: (message: string) => void;
}): Promise<ControlPlaneService<P>> {
  const log = opts.log ?? (() => {});
  const token = randomBytes(24).toString('hex');
  // Starting or running, by key: a second PUT for the same cluster waits for the same start.
  const planes = new Map<string, Promise<P>>();
  const ready = new Map<string, P>();
  let closing = false;

  const start = (key: ControlPlaneKey): Promise<P> => {
    const id = keyText(key);
    let plane = planes.get(id);
    if (!plane) {
      const t = Date.now();
      log(`control plane for EKS cluster ${id}: starting`);
      plane = opts.start(key).then(
        (p) => {
          log(
            `control plane for EKS cluster ${id}: ${p.cluster.server} ready in ${Date.now() - t} ms (${p.cluster.dir})`,
          );
          ready.set(id, p);
          return p;
        },
        (err: Error) => {
          planes.delete(id);
          log(`control plane for EKS cluster ${id}: failed to start: ${err.message}`);
          throw err;
        },
      );
      planes.set(id, plane);
    }
    return plane;
  };

  const stop = async (key: ControlPlaneKey): Promise<boolean> => {
    const id = keyText(key);
    const starting = planes.get(id);
    if (!starting) return false;
    const plane = await starting.catch(() => undefined);
    planes.delete(id);
    ready.delete(id);
    if (!plane) return false;
    const t = Date.now();
    try {
      await opts.beforeStop?.(plane);
    } catch (err) {
      log(`control plane for EKS cluster ${id}: before stopping: ${(err as Error).message}`);
    }
    const hookMs = Date.now() - t;
    await plane.stop();
    log(`control plane for EKS cluster ${id}: stopped in ${Date.now() - t} ms (${hookMs} ms before stopping)`);
    return true;
  };

  const authorized = (req: IncomingMessage): boolean => {
    const given = Buffer.from(req.headers.authorization ?? '');
    const wanted = Buffer.from(`Bearer ${token}`);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  };

  const answer = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  const server = createServer((req, res) => {
    req.resume();
    if (!authorized(req)) return answer(res, 401, { message: 'missing or wrong bearer token' });
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (req.method === 'GET' && path === '/clusters') {
      return answer(
        res,
        200,
        [...ready.values()].map((p) => ({ ...p.key, server: p.cluster.server })),
      );
    }
    const m = /^\/clusters\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (!m) return answer(res, 404, { message: `no route ${req.method} ${path}` });
    const key = {
      account: decodeURIComponent(m[1]!),
      region: decodeURIComponent(m[2]!),
      name: decodeURIComponent(m[3]!),
    };
    if (req.method === 'PUT') {
      if (closing) return answer(res, 503, { message: 'the local cloud is stopping' });
      start(key).then(
        (p) =>
          answer(res, 200, {
            server: p.cluster.server,
            caData: p.cluster.caData,
            token: p.cluster.token,
            version: p.cluster.version,
          }),
        (err: Error) => answer(res, 500, { message: err.message.slice(0, 4000) }),
      );
      return;
    }
    if (req.method === 'DELETE') {
      stop(key).then(
        (stopped) => answer(res, stopped ? 200 : 404, { stopped }),
        (err: Error) => answer(res, 500, { message: err.message.slice(0, 4000) }),
      );
      return;
    }
    answer(res, 405, { message: `${req.method} not allowed` });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    token,
    running: () => [...ready.values()],
    close: async () => {
      closing = true;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      const all = await Promise.all([...planes.values()].map((p) => p.catch(() => undefined)));
      planes.clear();
      ready.clear();
      await Promise.all(all.map((p) => p?.stop().catch(() => undefined)));
    },
  };
}
