// The local control plane itself: real kube-apiserver, kube-controller-manager, kube-scheduler,
// etcd and kwok, driven through @kubernetes/client-node as the providers will drive EKS.
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  VersionApi,
  type V1Deployment,
} from '@kubernetes/client-node';
import { statSync } from 'node:fs';
import { loadTemplate } from '../../templates/cfn-template';
import { startLocalCluster, localNodes, type LocalCluster } from '../../../scripts/local';
import { useLocalCluster } from '../../helpers/cluster';

function clientConfig(cluster: LocalCluster): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  return kc;
}

/** Polls `probe` every 200 ms until it returns a value; the jest timeout bounds it. */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const spotNode = localNodes.find((n) => n.labels['eks.amazonaws.com/capacityType'] === 'SPOT')!;

describe('local cluster', () => {
  const cluster = useLocalCluster();

  test('reports the Kubernetes minor version the EKS template defaults to, and its kubeconfig is private', async () => {
    // given the version a stack gets when the user leaves KubernetesVersion alone
    const minor = String(loadTemplate('templates/kubecfn-eks.template.yaml').Parameters!.KubernetesVersion!.Default);

    const info = await clientConfig(cluster()).makeApiClient(VersionApi).getCode();

    expect(info.gitVersion.startsWith(`v${minor}.`)).toBe(true);
    expect(info.gitVersion).toBe(cluster().version);
    expect(statSync(cluster().kubeconfigPath).mode & 0o777).toBe(0o600);
  });

  test('schedules a Deployment onto the tainted Spot node and makes it Available', async () => {
    // given a namespace and a Deployment that selects and tolerates the Spot partition
    const kc = clientConfig(cluster());
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const namespace = `it-deploy-${process.pid}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const deployment: V1Deployment = {
      metadata: { name: 'agent', namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: {
            nodeSelector: { 'eks.amazonaws.com/capacityType': 'SPOT' },
            tolerations: [{ key: 'kubecfn.io/spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
            containers: [{ name: 'agent', image: 'busybox:1.36' }],
          },
        },
      },
    };

    // when it is created
    await apps.createNamespacedDeployment({ namespace, body: deployment });

    // then the controller manager, scheduler and kwok bring it to Available on the Spot node
    const available = await eventually(async () => {
      const d = await apps.readNamespacedDeployment({ name: 'agent', namespace });
      return d.status?.conditions?.find((c) => c.type === 'Available' && c.status === 'True');
    });
    expect(available.type).toBe('Available');
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=agent' });
    expect(pods.items).toHaveLength(2);
    expect(pods.items.map((p) => p.spec?.nodeName)).toEqual([spotNode.name, spotNode.name]);
    expect(pods.items.every((p) => p.status?.phase === 'Running')).toBe(true);

    // and deleting the namespace removes it with everything in it (namespace controller, GC)
    await core.deleteNamespace({ name: namespace });
    const gone = await eventually(async () => {
      try {
        await core.readNamespace({ name: namespace });
        return undefined;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return true;
        throw err;
      }
    });
    expect(gone).toBe(true);
  });

  test('grants the admin token cluster-admin through system:masters, and an unknown token is refused', async () => {
    const kc = clientConfig(cluster());
    const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: '*', group: '*', resource: '*' } } },
    });
    expect(review.status?.allowed).toBe(true);

    kc.users[0] = { ...kc.users[0]!, token: 'not-a-known-token' };
    const anonymous = kc.makeApiClient(CoreV1Api);
    await expect(anonymous.listNamespace()).rejects.toMatchObject({ code: 401 });
  });
});

describe('local cluster lifecycle', () => {
  test('two clusters run side by side, and stop() leaves no process behind', async () => {
    // given two clusters started at once (as two jest workers do)
    const [a, b] = await Promise.all([startLocalCluster({ nodes: false }), startLocalCluster({ nodes: false })]);
    let stopped = false;
    try {
      expect(a.server).not.toBe(b.server);
      const [va, vb] = await Promise.all([a, b].map((c) => clientConfig(c).makeApiClient(VersionApi).getCode()));
      expect(va.gitVersion).toBe(vb.gitVersion);
      const pids = [...a.processes, ...b.processes].map((p) => p.pid);
      expect(pids.every(isAlive)).toBe(true);

      // when both are stopped
      await Promise.all([a.stop(), b.stop()]);
      stopped = true;

      // then none of their processes remains
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      if (!stopped) await Promise.all([a.stop(), b.stop()]);
    }
  });
});
