// The pod network as the EKS control plane reaches it, for the local control plane.
//
// In EKS the API server calls admission webhooks and aggregated APIs (APIServices) at the endpoints
// of their Service: the pods' IPs, reached through the cluster's VPC. When the Service has no ready
// endpoint the call fails with `no endpoints available for service "..."`; when a pod is listed but
// does not answer, with a connection error. Here pods are kwok's: they have IPs and become Ready, but
// no container runs and nothing routes their IPs. So the local API server is started with
//
//   --enable-aggregator-routing=true                service references resolve to endpoints (pod IPs),
//                                                   as in EKS, not to the ClusterIP
//   --egress-selector-config-file (cluster network) connections to the cluster network go through an
//                                                   HTTP CONNECT proxy: this one
//
// and this proxy answers each CONNECT <pod IP>:<port> by finding the pod of that IP and handing the
// connection to the emulation that stands in for that pod's server (a PodServer, e.g. the AWS Load
// Balancer Controller's webhook server in cloud-emulation.ts). A pod no emulation serves refuses the
// connection, as a pod whose container does not listen. The chart's objects (webhook configurations,
// Services, certificates) are untouched: the API server's own service routing does the rest.
//
// A pod that terminates takes its connections with it: its server stops, and the API server's
// kept-alive connection to it breaks, so its next webhook call dials again, resolves the Service's
// endpoints again and, with none left, fails with `no endpoints available`. The proxy does the same:
// every second it looks up the pods it holds tunnels to and closes the tunnels of a pod that is
// terminating, gone, or replaced (another uid). Without that the API server would go on reusing a
// connection to a pod deleted long ago, which no EKS cluster does.
// Each EKS cluster's control plane has a pod network of its own (a socket in its own directory).
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeCall } from './kube-api';

/** A pod as the API returns it, the fields the emulations read. */
export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: {
    containers: Array<{ name: string; ports?: Array<{ name?: string; containerPort: number }> }>;
    volumes?: Array<{ name: string; secret?: { secretName: string } }>;
  };
  status?: { podIP?: string; phase?: string };
}

/** An emulation standing in for a server some pods run. */
export interface PodServer {
  /** What it stands for, in logs. */
  name: string;
  /** Whether it answers for this pod on this port. */
  serves(pod: Pod, port: number): boolean;
  /** Takes the tunnelled connection (the client's TLS handshake comes next). */
  accept(pod: Pod, port: number, socket: Duplex): Promise<void>;
}

/** The running proxy. */
export interface PodNetwork {
  /** kube-apiserver flags that send its cluster-network connections here. */
  apiserverArgs: string[];
  /** Starts answering: pods are looked up with `call`, connections given to `servers`. */
  attach(call: KubeCall, servers: PodServer[]): void;
  /** Connections answered and refused so far. */
  counts(): { served: number; refused: number };
  stop(): Promise<void>;
}

/**
 * Starts the proxy on a Unix socket in `dir` and writes the API server's egress selector configuration.
 *
 * @example
 * const net = await startPodNetwork({ dir, log });
 * const cluster = await startLocalCluster({ apiserverArgs: net.apiserverArgs });
 * net.attach(kubeCaller(cluster.kubeconfigPath), [loadBalancerControllerWebhooks(...)]);
 */
export async function startPodNetwork(opts: { dir: string; log?: (m: string) => void }): Promise<PodNetwork> {
  const log = opts.log ?? (() => {});
  let call: KubeCall | undefined;
  let servers: PodServer[] = [];
  let served = 0;
  let refused = 0;
  const sockets = new Set<Socket>();
  /** The open tunnels, by the pod they reach (`namespace/name`), with the uid they were opened to. */
  const tunnels = new Map<string, { uid: string | undefined; sockets: Set<Socket> }>();
  let sweeping = false;
  const sweep = async () => {
    if (sweeping || !call || !tunnels.size) return;
    sweeping = true;
    try {
      for (const [key, tunnel] of [...tunnels]) {
        if (!tunnel.sockets.size) {
          tunnels.delete(key);
          continue;
        }
        const [namespace, name] = key.split('/') as [string, string];
        const got = await call('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
        const pod = got.status === 200 ? (got.json as Pod) : undefined;
        const why =
          got.status === 404
            ? 'the pod is gone'
            : pod?.metadata.deletionTimestamp
              ? 'the pod is terminating'
              : pod && pod.metadata.uid !== tunnel.uid
                ? 'the pod was replaced'
                : undefined;
        if (!why) continue;
        log(`pod network: ${tunnel.sockets.size} connection(s) to pod ${key} closed: ${why}`);
        for (const socket of tunnel.sockets) socket.destroy();
        tunnels.delete(key);
      }
    } catch {
      // the API server is stopping or busy: the next sweep looks again
    } finally {
      sweeping = false;
    }
  };
  const sweeper = setInterval(() => void sweep(), 1_000);
  sweeper.unref();

  const refuse = (socket: Socket, addr: string, why: string) => {
    refused++;
    log(`pod network: ${addr} refused: ${why}`);
    // The API server quotes the status line in its error ("proxy error from ... while dialing ...").
    socket.end(`HTTP/1.1 503 connection refused by ${addr} (${why})\r\n\r\n`);
  };

  const proxy = createServer((_req, res) => {
    res.writeHead(405).end('CONNECT only\n');
  });
  proxy.on('connect', (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const addr = req.url ?? '';
    const m = /^\[?([0-9a-fA-F.:]+?)\]?:(\d+)$/.exec(addr);
    void (async () => {
      if (!m) return refuse(socket, addr, 'not an IP and port');
      if (!call) return refuse(socket, addr, 'the local cloud is still starting');
      const [, ip, portText] = m;
      const port = Number(portText);
      const found = await call('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`status.podIP=${ip}`)}`);
      const pods = (found.json?.items as Pod[] | undefined) ?? [];
      const pod = pods.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
      if (!pod)
        return refuse(
          socket,
          addr,
          pods.some((p) => p.metadata.deletionTimestamp)
            ? 'the pod is terminating: its server has stopped'
            : 'no running pod has this IP',
        );
      const server = servers.find((s) => s.serves(pod, port));
      const who = `pod ${pod.metadata.namespace}/${pod.metadata.name}`;
      if (!server) return refuse(socket, addr, `${who} runs no container in the local cloud`);
      served++;
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      const uid = pod.metadata.uid;
      let tunnel = tunnels.get(key);
      if (!tunnel || tunnel.uid !== uid) tunnels.set(key, (tunnel = { uid, sockets: new Set() }));
      const held = tunnel.sockets;
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      await server.accept(pod, port, socket);
    })().catch((err: Error) => {
      if (!socket.destroyed) refuse(socket, addr, err.message);
    });
  });
  // A Unix socket in the run directory: the API server's HTTP CONNECT over TCP insists on TLS.
  const socketPath = join(opts.dir, 'pod-network.sock');
  rmSync(socketPath, { force: true });
  await new Promise<void>((ok) => proxy.listen(socketPath, ok));
  const configPath = join(opts.dir, 'egress-selector.yaml');
  writeFileSync(
    configPath,
    [
      'apiVersion: apiserver.k8s.io/v1beta1',
      'kind: EgressSelectorConfiguration',
      'egressSelections:',
      '  - name: cluster',
      '    connection:',
      '      proxyProtocol: HTTPConnect',
      '      transport:',
      '        uds:',
      `          udsName: ${socketPath}`,
      '',
    ].join('\n'),
  );
  return {
    apiserverArgs: ['--enable-aggregator-routing=true', `--egress-selector-config-file=${configPath}`],
    attach: (c, s) => {
      call = c;
      servers = s;
    },
    counts: () => ({ served, refused }),
    stop: () =>
      new Promise<void>((ok) => {
        clearInterval(sweeper);
        for (const s of sockets) s.destroy();
        proxy.closeAllConnections();
        proxy.close(() => {
          rmSync(socketPath, { force: true });
          ok();
        });
      }),
  };
}
