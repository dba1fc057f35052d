/**
 * Clients kept across the invocations of a warm Lambda container, one per cluster: their
 * connections and discovery caches survive from one invocation to the next.
 */
import { KubeClient } from './api-client';
import { getClusterAccess, type ClusterAccess } from './cluster-access';

interface CachedClient {
  client: Promise<KubeClient>;
  at: number;
}

/** Clients kept across invocations of a warm Lambda container, by cluster name. */
const clients = new Map<string, CachedClient>();
/** How long a cluster's endpoint and CA (from DescribeCluster) are trusted before asking again. */
const CLIENT_TTL_MS = 5 * 60_000;

/**
 * A client for the cluster named `clusterName` (see {@link getClusterAccess}), reused while the
 * container stays warm: its connections and discovery cache survive from one invocation to the
 * next. `fresh` looks the cluster up again (after the endpoint failed, or to check it still exists).
 *
 * @example
 * const client = await clientForCluster(props.ClusterName);
 */
export async function clientForCluster(clusterName: string, options: { fresh?: boolean } = {}): Promise<KubeClient> {
  const cached = clients.get(clusterName);
  if (cached && !options.fresh && Date.now() - cached.at < CLIENT_TTL_MS) return cached.client;
  if (cached) void cached.client.then((c) => c.close()).catch(() => undefined);
  const client = getClusterAccess({ clusterName }).then((access) => new KubeClient(access));
  const entry = { client, at: Date.now() };
  clients.set(clusterName, entry);
  client.catch(() => {
    if (clients.get(clusterName) === entry) clients.delete(clusterName);
  });
  return client;
}

/** Drops the cached client of a cluster (its endpoint failed), so the next call looks it up again. */
export function forgetCluster(clusterName: string): void {
  const cached = clients.get(clusterName);
  clients.delete(clusterName);
  if (cached) void cached.client.then((c) => c.close()).catch(() => undefined);
}

/**
 * Runs `fn` with a client of its own for `access` and closes the client's connections afterwards:
 * for a step that has just looked the cluster up (and must not reuse a cached endpoint).
 *
 * @example
 * const exists = await withKubeClient(access, async (client) => (await client.getOrUndefined(`/api/v1/namespaces/${name}`)) !== undefined);
 */
export async function withKubeClient<T>(access: ClusterAccess, fn: (client: KubeClient) => Promise<T>): Promise<T> {
  const client = new KubeClient(access);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
