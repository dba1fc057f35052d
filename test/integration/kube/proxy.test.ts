/**
 * The kube client honours HTTPS_PROXY and NO_PROXY as helm does: through a real CONNECT proxy to a
 * real API server (the TLS session inside the tunnel is still verified against the cluster's CA),
 * directly when NO_PROXY names the server, and a proxy that refuses the tunnel is an unreachable
 * cluster, said so.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { KubeClient } from '../../../functions/src/kube';
import { useLocalCluster } from '../../helpers/cluster';

const cluster = useLocalCluster({ nodes: false });
const savedEnv = { ...process.env };

/** A CONNECT proxy that records each tunnel's target; `refuse` answers 403 instead. */
async function startProxy(refuse = false): Promise<{ url: string; tunnels: string[]; stop(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on('connect', (req, client: Socket) => {
    tunnels.push(req.url ?? '');
    sockets.add(client);
    if (refuse) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((ok) => server.close(ok));
    },
  };
}

const access = () => {
  const c = cluster();
  return { clusterName: 'proxied', server: c.server, caData: c.caData, token: c.token };
};

afterEach(() => {
  process.env = { ...savedEnv };
});

test('with HTTPS_PROXY the client tunnels through the proxy, TLS still verified against the cluster CA', async () => {
  const proxy = await startProxy();
  try {
    process.env.HTTPS_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    const client = new KubeClient(access());
    const ns = await client.request<{ metadata: { name: string } }>('GET', '/api/v1/namespaces/kube-system');
    expect(ns.metadata.name).toBe('kube-system');
    expect(proxy.tunnels).toEqual([new URL(cluster().server).host]);
  } finally {
    await proxy.stop();
  }
});

test('NO_PROXY naming the server goes direct', async () => {
  const proxy = await startProxy();
  try {
    process.env.HTTPS_PROXY = proxy.url;
    process.env.NO_PROXY = '127.0.0.1';
    const client = new KubeClient(access());
    await client.request('GET', '/api/v1/namespaces/default');
    expect(proxy.tunnels).toEqual([]);
  } finally {
    await proxy.stop();
  }
});

test('a proxy that refuses the tunnel fails the request, and fast', async () => {
  const proxy = await startProxy(true);
  try {
    process.env.HTTPS_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    const client = new KubeClient(access(), { connectTimeoutMs: 2_000 });
    await expect(
      client.request('GET', '/api/v1/namespaces/default', { signal: AbortSignal.timeout(20_000) }),
    ).rejects.toThrow();
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
  } finally {
    await proxy.stop();
  }
});
