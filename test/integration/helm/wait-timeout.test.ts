/**
 * A helm `--wait` that runs out of time inside one invocation (issue 13.10): helm itself says only
 * "context deadline exceeded"; the Reason must name what is still pending and what holds it. And a
 * wait across invocations of a release with hundreds of objects (issue 13.12): the state handed to
 * each next invocation stays the same small size whatever the number of objects, and its timeout
 * names what holds the one object that is not ready.
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
    // TimeoutSeconds beyond this Lambda timeout: the wait is polled across invocations.
    { name: 'ShortHelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 25, environment },
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

test('a wait across invocations hands over a state independent of the object count', async () => {
  const stateSizes = async (release: string, count: number) => {
    const { answer, invocations } = await h.send('ShortHelmProvider', 'Create', 'Custom::HelmRelease', {
      ClusterName: 'local',
      Chart: 'many',
      ReleaseName: release,
      Values: { count, nodeSelector: { 'kubecfn.io/partition': 'nowhere' } },
      TimeoutSeconds: 40,
    });
    const handedOver = invocations
      .map((i) => (i.event as { KubecfnContinuation?: { state?: unknown } }).KubecfnContinuation?.state)
      .filter((s) => s !== undefined)
      .map((s) => JSON.stringify(s).length);
    return { answer, handedOver };
  };

  // when: 3 objects, then 60, each waited for past one invocation
  const few = await stateSizes('few', 3);
  const many = await stateSizes('many', 60);

  // then the state is the same size (names differ by a character), and small
  expect(few.handedOver.length).toBeGreaterThan(0);
  expect(many.handedOver.length).toBeGreaterThan(0);
  expect(Math.max(...many.handedOver)).toBeLessThan(1_024);
  expect(Math.abs(Math.max(...many.handedOver) - Math.max(...few.handedOver))).toBeLessThan(8);
  // and the timeout names the one object not ready, with what holds it
  expect(many.answer.Status).toBe('FAILED');
  expect(many.answer.Reason).toMatch(
    /^Wait: release many in namespace default did not become ready within TimeoutSeconds \(40 s\): Deployment default\/many: 0 of 1 replicas ready \(.*PodScheduled=False \(Unschedulable: /,
  );
}, 240_000);
