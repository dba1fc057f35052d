/**
 * Custom::KubeGet through the bundled KubeProvider against a real kube-apiserver: values that
 * appear later (a load balancer address, an annotation on an object created later), kubectl-style
 * `kind/name` resolution, JSONPath filters and lists, and failures with their exact reasons.
 */
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CloudFormationEvent } from '../../../functions/src/runtime';
import type { Invocation } from '../../../scripts/local';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const TYPE = 'Custom::KubeGet';
const FN = 'KubeProvider';
/** A short Lambda timeout: a long wait must continue in new invocations. */
const SHORT = 'KubeProviderShort';

const cluster = useLocalCluster();
let h: ProviderHarness;
let core: CoreV1Api;

beforeAll(async () => {
  const environment = clusterAccessEnv(cluster());
  h = await ProviderHarness.start([
    { name: FN, zipFile: packageZip('KubeProvider'), timeoutSeconds: 60, environment },
    { name: SHORT, zipFile: packageZip('KubeProvider'), timeoutSeconds: 10, environment },
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logPointer = (inv: Invocation) => ` (log: /aws/lambda/${inv.functionName} local/${inv.requestId})`;
const send = (
  requestType: CloudFormationEvent['RequestType'],
  props: Record<string, unknown>,
  extra: Partial<CloudFormationEvent> = {},
  fn = FN,
) => h.send(fn, requestType, TYPE, props, extra);

describe('create', () => {
  test('waits for a load balancer hostname that appears later, across invocations', async () => {
    // given a LoadBalancer Service without an address yet, and a 10 s Lambda
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'jenkins' },
        spec: { type: 'LoadBalancer', selector: { app: 'jenkins' }, ports: [{ port: 8080 }] },
      },
    });
    const answersBefore = h.responses.received.length;

    // when KubeGet starts, and the address appears 12 s later
    const pending = send(
      'Create',
      {
        ClusterName: 'local',
        Object: 'service/jenkins',
        JsonPath: '{.status.loadBalancer.ingress[0].hostname}',
        TimeoutSeconds: 120,
      },
      {},
      SHORT,
    );
    await sleep(12_000);
    expect(h.responses.received.length).toBe(answersBefore); // still waiting
    await core.patchNamespacedServiceStatus(
      {
        name: 'jenkins',
        namespace: 'default',
        body: { status: { loadBalancer: { ingress: [{ hostname: 'jenkins-123.elb.example.com' }] } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const { answer, invocations } = await pending;

    // then
    expect(answer).toMatchObject({ Status: 'SUCCESS', Data: { Value: 'jenkins-123.elb.example.com' } });
    expect(invocations.length).toBeGreaterThan(1);
  });

  test('waits for an object created later; a map names it; an annotation key with dots is escaped kubectl-style', async () => {
    // given nothing yet
    const answersBefore = h.responses.received.length;
    const pending = send('Create', {
      ClusterName: 'local',
      Object: { apiVersion: 'v1', kind: 'ConfigMap', name: 'late', namespace: 'kube-public' },
      JsonPath: '{.metadata.annotations.example\\.com/endpoint}',
    });

    // when the ConfigMap appears without the annotation, and gets it later
    await sleep(1_500);
    await core.createNamespacedConfigMap({
      namespace: 'kube-public',
      body: { metadata: { name: 'late' }, data: { a: 'b' } },
    });
    await sleep(1_500);
    expect(h.responses.received.length).toBe(answersBefore);
    await core.patchNamespacedConfigMap(
      {
        name: 'late',
        namespace: 'kube-public',
        body: { metadata: { annotations: { 'example.com/endpoint': 'https://late.example.com' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const { answer } = await pending;

    // then
    expect(answer).toMatchObject({ Status: 'SUCCESS', Data: { Value: 'https://late.example.com' } });
  });

  test('kubectl-style names, filters and lists: node/<name> with a condition filter, svc with every port', async () => {
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'ports' },
        spec: {
          selector: { app: 'p' },
          ports: [
            { name: 'http', port: 80 },
            { name: 'https', port: 443 },
          ],
        },
      },
    });
    const node = await send('Create', {
      ClusterName: 'local',
      Object: 'node/kwok-system-0',
      JsonPath: '{.status.conditions[?(@.type=="Ready")].status}',
    });
    const ports = await send('Create', {
      ClusterName: 'local',
      Object: 'svc/ports',
      JsonPath: '{.spec.ports[*].port}',
    });
    const both = await send('Create', {
      ClusterName: 'local',
      Object: 'services/ports',
      JsonPath: '{.spec.ports[0].name}:{.spec.ports[0].port}',
    });
    const bare = await send('Create', {
      ClusterName: 'local',
      Object: 'deployments.apps/coredns-does-not-matter',
      Namespace: 'kube-system',
      JsonPath: '.metadata.name',
      TimeoutSeconds: 1,
    });

    expect(node.answer).toMatchObject({ Status: 'SUCCESS', Data: { Value: 'True' } });
    expect(ports.answer).toMatchObject({ Status: 'SUCCESS', Data: { Value: '80 443' } });
    expect(both.answer).toMatchObject({ Status: 'SUCCESS', Data: { Value: 'http:80' } });
    // the resource type resolved (deployments in apps); only the object is missing
    expect(bare.answer.Reason).toBe(
      `Object (deployments.apps/coredns-does-not-matter in namespace kube-system): the object does not exist after 1 s (TimeoutSeconds)${logPointer(bare.first)}`,
    );
  });
});

describe('update and delete', () => {
  test('Update reads again; Delete changes nothing', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'reread' }, data: { v: 'one' } },
    });
    const props = { ClusterName: 'local', Object: 'configmap/reread', JsonPath: '{.data.v}' };
    const created = await send('Create', props);
    await core.replaceNamespacedConfigMap({
      name: 'reread',
      namespace: 'default',
      body: { metadata: { name: 'reread' }, data: { v: 'two' } },
    });

    const updated = await send(
      'Update',
      { ...props, JsonPath: '{.data.v}' },
      { PhysicalResourceId: created.answer.PhysicalResourceId, OldResourceProperties: props },
    );
    const deleted = await send('Delete', props, { PhysicalResourceId: created.answer.PhysicalResourceId });

    expect(created.answer).toMatchObject({ Status: 'SUCCESS', Data: { Value: 'one' } });
    expect(updated.answer).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: created.answer.PhysicalResourceId,
      Data: { Value: 'two' },
    });
    expect(deleted.answer.Status).toBe('SUCCESS');
    expect((await core.readNamespacedConfigMap({ name: 'reread', namespace: 'default' })).data).toEqual({ v: 'two' });
  });
});

describe('failures', () => {
  test('an object that never appears: FAILED after TimeoutSeconds, naming it', async () => {
    const { answer, first } = await send('Create', {
      ClusterName: 'local',
      Object: 'service/nope',
      JsonPath: '{.spec.clusterIP}',
      TimeoutSeconds: 2,
    });
    expect(answer.Reason).toBe(
      `Object (service/nope in namespace default): the object does not exist after 2 s (TimeoutSeconds)${logPointer(first)}`,
    );
  });

  test('a path that never gets a value: FAILED after TimeoutSeconds, naming the path', async () => {
    const { answer, first } = await send('Create', {
      ClusterName: 'local',
      Object: 'namespace/default',
      JsonPath: '{.metadata.labels.missing}',
      TimeoutSeconds: 2,
    });
    expect(answer.Reason).toBe(
      `Object (namespace/default): JsonPath {.metadata.labels.missing} has no value after 2 s (TimeoutSeconds)${logPointer(first)}`,
    );
  });

  test('an unknown resource type: FAILED at once', async () => {
    const { answer, first } = await send('Create', { ClusterName: 'local', Object: 'widget/w1', JsonPath: '{.spec}' });
    expect(answer.Reason).toBe(
      `Object (widget/w1): the API server does not know resource type widget${logPointer(first)}`,
    );
  });

  test('bad properties: FAILED naming each one', async () => {
    const noCluster = await send('Create', { Object: 'service/x', JsonPath: '{.spec}' });
    const badPath = await send('Create', { ClusterName: 'local', Object: 'service/x', JsonPath: '{.status' });
    const badObject = await send('Create', { ClusterName: 'local', Object: 'just-a-name', JsonPath: '{.spec}' });
    const badMap = await send('Create', {
      ClusterName: 'local',
      Object: { kind: 'Service', name: 'x' },
      JsonPath: '{.spec}',
    });

    expect(noCluster.answer.Reason).toBe(
      `Invalid properties for Custom::KubeGet: ClusterName: required property is missing${logPointer(noCluster.first)}`,
    );
    expect(badPath.answer.Reason).toBe(
      `Invalid properties for Custom::KubeGet: JsonPath: expected a Kubernetes JSONPath such as {.status.loadBalancer.ingress[0].hostname}: unclosed { at position 1${logPointer(badPath.first)}`,
    );
    expect(badObject.answer.Reason).toBe(
      `Invalid properties for Custom::KubeGet: Object: expected kind/name (e.g. service/jenkins) or a map with apiVersion, kind, name and optionally namespace, got text${logPointer(badObject.first)}`,
    );
    expect(badMap.answer.Reason).toBe(
      `Invalid properties for Custom::KubeGet: Object: expected kind/name (e.g. service/jenkins) or a map with apiVersion, kind, name and optionally namespace; missing apiVersion${logPointer(badMap.first)}`,
    );
  });
});
