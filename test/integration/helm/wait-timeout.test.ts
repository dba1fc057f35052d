/**
 * A helm `--wait` that runs out of time inside one invocation (issue 13.10): helm itself says only
 * "context deadline exceeded"; the Reason must name what is still pending and what holds it.
 */
import { resolve } from 'node:path';
import { ensureHelm } from '../../../scripts/dev/binaries';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const cluster = useLocalCluster();
let h: ProviderHarness;

beforeAll(async () => {
  const environment = {
    ...clusterAccessEnv(cluster()),
    HELM_BINARY: await ensureHelm(),
    KUBECFN_CHART_PATH: resolve(__dirname, '../../fixtures/charts'),
  };
  h = await ProviderHarness.start([
    { name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 120, environment },
  ]);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

test('helm --wait timeout in one invocation names the Deployment and why its pod is not ready', async () => {
  // when: pods no node can take, and a wait that fits in the invocation
  const { answer, invocations } = await h.send('HelmProvider', 'Create', 'Custom::HelmRelease', {
    ClusterName: 'local',
    Chart: 'web',
    ReleaseName: 'stuck',
    Values: { nodeSelector: { 'kubecfn.io/partition': 'nowhere' } },
    TimeoutSeconds: 6,
  });

  // then
  expect(invocations).toHaveLength(1);
  expect(answer.Status).toBe('FAILED');
  expect(answer.Reason).toMatch(
    /^Wait: release stuck in namespace default did not become ready within TimeoutSeconds \(6 s\): .*context deadline exceeded; still waiting for Deployment default\/stuck: 0 of 1 replicas ready \(.*pod stuck-[a-z0-9-]+: PodScheduled=False \(Unschedulable: 0\/\d+ nodes are available: .*node affinity\/selector/,
  );
}, 90_000);
