// One real local control plane per test file: started in beforeAll, stopped in afterAll.
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../scripts/local';

/**
 * Starts a local control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
 * kwok nodes) before the enclosing describe block's tests and stops it after them. Call it at
 * describe (or file) level; the returned getter gives the running cluster inside tests.
 *
 * The first run on a machine builds Kubernetes from Go modules, so beforeAll gets a long timeout;
 * warm, the cluster starts in a few seconds.
 *
 * @example
 * const cluster = useLocalCluster();
 * test('lists nodes', async () => {
 *   const kc = new KubeConfig();
 *   kc.loadFromFile(cluster().kubeconfigPath);
 *   ...
 * });
 */
export function useLocalCluster(opts: LocalClusterOptions = {}): () => LocalCluster {
  let cluster: LocalCluster | undefined;
  beforeAll(
    async () => {
      cluster = await startLocalCluster(opts);
    },
    2 * 60 * 60_000,
  );
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);
  return () => {
    if (!cluster)
      throw new Error(
        'useLocalCluster: the cluster is not running (call useLocalCluster() at describe level, not inside a test)',
      );
    return cluster;
  };
}
