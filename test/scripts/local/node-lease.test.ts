// A Node's Lease goes with the Node, as in EKS: kwok gives each lease an owner reference to its
// Node, the controller manager's garbage collector deletes it when the Node goes, and kwok, told of
// the deletion by its watch, stops renewing it (with the API server's WatchList gate on against
// Debian's etcd its watches ended at once, it missed the deletion and recreated the lease ownerless).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureKubectl } from '../../../scripts/dev/binaries';
import { useLocalCluster } from '../../helpers/cluster';

const run = promisify(execFile);

describe('node leases of the local cluster', () => {
  const cluster = useLocalCluster();
  const kubectl = async (...args: string[]) => {
    const bin = await ensureKubectl();
    const { stdout } = await run(bin, args, { env: { ...process.env, KUBECONFIG: cluster().kubeconfigPath } });
    return stdout.trim();
  };
  const leases = async () =>
    (await kubectl('get', 'leases', '-n', 'kube-node-lease', '-o', 'name')).split('\n').filter(Boolean).sort();

  test('a Node lease is owned by its Node, and is gone for good once the Node is deleted', async () => {
    // given the fake nodes' leases, each owned by its Node
    let names: string[] = [];
    while (names.length < 2) {
      names = await leases();
      await new Promise((r) => setTimeout(r, 500));
    }
    const node = names[0]!.replace(/^lease[^/]*\//, '');
    const uid = await kubectl('get', 'node', node, '-o', 'jsonpath={.metadata.uid}');
    expect(
      await kubectl('get', 'lease', '-n', 'kube-node-lease', node, '-o', 'jsonpath={.metadata.ownerReferences}'),
    ).toBe(JSON.stringify([{ apiVersion: 'v1', kind: 'Node', name: node, uid }]));

    // when the Node is deleted
    await kubectl('delete', 'node', node, '--wait=true');

    // then the garbage collector removes its lease, and kwok does not make it again over more than
    // one renew interval (10 s for the 40 s leases the cluster gives kwok)
    while ((await leases()).some((l) => l.endsWith(`/${node}`))) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, 15_000));
    expect((await leases()).map((l) => l.replace(/^lease[^/]*\//, ''))).toEqual(
      names.slice(1).map((l) => l.replace(/^lease[^/]*\//, '')),
    );
  }, 120_000);
});
