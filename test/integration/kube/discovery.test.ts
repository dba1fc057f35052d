/**
 * Discovery with an aggregated API that does not answer (issue 13.13): a real APIService whose
 * Service has no endpoints, as metrics-server's is on a cluster where it is not ready yet. KubeGet
 * of a plain ConfigMap must not wait on it, and a name no answering API knows says which did not.
 * The same unavailable API blocks namespace deletion: a KubeManifest Delete that times out on it
 * says so (issue 13.10).
 */
import { ApiregistrationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeClient, discoverAll } from '../../../functions/src/kube';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const cluster = useLocalCluster();
let h: ProviderHarness;
let core: CoreV1Api;

beforeAll(async () => {
  h = await ProviderHarness.start([
    {
      name: 'KubeProvider',
      zipFile: packageZip('KubeProvider'),
      timeoutSeconds: 60,
      environment: clusterAccessEnv(cluster()),
    },
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  const registration = kc.makeApiClient(ApiregistrationV1Api);
  // given an APIService backed by a Service without endpoints: never Available
  await core.createNamespacedService({
    namespace: 'kube-system',
    body: {
      metadata: { name: 'metrics-server' },
      spec: { selector: { app: 'not-running' }, ports: [{ port: 443, targetPort: 4443 }] },
    },
  });
  await registration.createAPIService({
    body: {
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      spec: {
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        service: { name: 'metrics-server', namespace: 'kube-system' },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  });
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'settings' }, data: { region: 'eu-west-1' } },
  });
  // the aggregator has tried it and marked it unavailable
  for (let i = 0; i < 100; i++) {
    const s = await registration.readAPIService({ name: 'v1beta1.metrics.k8s.io' });
    if (s.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'False')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

test('discovery lists what answers and names the unavailable group, in a fraction of a second', async () => {
  const c = cluster();
  const client = new KubeClient({ server: c.server, caData: c.caData, token: c.token, clusterName: 'local' });
  try {
    const started = Date.now();
    const found = await discoverAll(client);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(found.resources.find((r) => r.shortNames.includes('cm'))).toMatchObject({ group: '', kind: 'ConfigMap' });
    expect(found.unavailable.map((u) => u.groupVersion)).toEqual(['metrics.k8s.io/v1beta1']);
  } finally {
    client.close();
  }
});

test('KubeGet of cm/settings does not wait on the unavailable API', async () => {
  // when
  const started = Date.now();
  const { answer, invocations } = await h.send('KubeProvider', 'Create', 'Custom::KubeGet', {
    ClusterName: 'local',
    Object: 'cm/settings',
    JsonPath: '{.data.region}',
  });

  // then: one invocation, well under the 6-7 s the retries of 503s took
  expect(answer).toMatchObject({ Status: 'SUCCESS', Data: { Value: 'eu-west-1' } });
  expect(invocations).toHaveLength(1);
  expect(invocations[0]!.durationMs).toBeLessThan(3_000);
  expect(Date.now() - started).toBeLessThan(5_000);
});

test('a name no answering API knows names the API that did not answer', async () => {
  const { answer } = await h.send('KubeProvider', 'Create', 'Custom::KubeGet', {
    ClusterName: 'local',
    Object: 'widget/w',
    JsonPath: '{.metadata.name}',
    TimeoutSeconds: 5,
  });
  expect(answer.Status).toBe('FAILED');
  expect(answer.Reason).toMatch(
    /^Object \(widget\/w\): the API server does not know resource type widget; these APIs did not answer discovery, so it may be one of theirs: metrics\.k8s\.io\/v1beta1 \(its API service is not available/,
  );
});

test('a namespace delete held by the unavailable API: the Reason names the condition and the API', async () => {
  // given a namespace applied by a KubeManifest
  const props = {
    ClusterName: 'local',
    Manifest: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acc-disc\n',
    TimeoutSeconds: 8,
  };
  const created = await h.send('KubeProvider', 'Create', 'Custom::KubeManifest', props);
  expect(created.answer.Status).toBe('SUCCESS');

  // when it is deleted while metrics.k8s.io does not answer
  const { answer } = await h.send('KubeProvider', 'Delete', 'Custom::KubeManifest', props, {
    PhysicalResourceId: created.answer.PhysicalResourceId,
  });

  // then
  expect(answer.Status).toBe('FAILED');
  expect(answer.Reason).toMatch(
    /^Objects still being deleted after 8 s \(TimeoutSeconds\): Manifest\[0\] \(v1 Namespace acc-disc, held by finalizers spec kubernetes; NamespaceDeletionDiscoveryFailure=True \(DiscoveryFailed: Discovery failed for some groups, 1 failing: .*metrics\.k8s\.io\/v1beta1/,
  );
}, 60_000);
