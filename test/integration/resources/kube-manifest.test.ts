/**
 * Custom::KubeManifest through the bundled KubeProvider (each invocation its own Node process, as
 * in Lambda) against a real kube-apiserver with kwok nodes: CRDs with their objects, workloads
 * across namespaces waited for, pruning on update, finalizers on delete, waits that outlive one
 * invocation, and every kind of bad input answered FAILED with the exact reason and nothing left
 * behind. Cluster state is read back with @kubernetes/client-node, independently of the handler.
 */
import { CreateClusterCommand, DeleteClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { createServer, type Server, type Socket } from 'node:net';
import { stringify } from 'yaml';
import type { CloudFormationEvent, ContinuationEvent } from '../../../functions/src/runtime';
import type { Invocation } from '../../../scripts/local';
import { startMoto, type MotoServer } from '../../../scripts/local';
import { useLocalCluster } from '../../helpers/cluster';
import { packageZip, ProviderHarness } from '../../helpers/provider-harness';

const TYPE = 'Custom::KubeManifest';
const FN = 'KubeProvider';
/** The same package with a short Lambda timeout: long waits must continue in new invocations. */
const SHORT = 'KubeProviderShort';

const cluster = useLocalCluster();
let h: ProviderHarness;
let moto: MotoServer;
let objects: KubernetesObjectApi;
let core: CoreV1Api;
let apps: AppsV1Api;
let closedPort: number;
/** Accepts connections and never says a word: a TLS handshake to it never completes. */
let silent: Server;
let silentPort: number;
const silentSockets = new Set<Socket>();

/** A loopback port nothing listens on: connections to it are refused at once. */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  moto = await startMoto();
  closedPort = await unusedPort();
  silent = createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
  const c = cluster();
  const access = { server: c.server, caData: c.caData, token: c.token };
  const environment = {
    // `local` is the local control plane; `unreachable` points at a closed port, `silent` at a
    // server that accepts connections and never answers; any other name
    // is looked up with DescribeCluster in moto, which knows no cluster at all.
    KUBECFN_CLUSTER_ACCESS: JSON.stringify({
      local: access,
      unreachable: { ...access, server: `https://127.0.0.1:${closedPort}` },
      silent: { ...access, server: `https://127.0.0.1:${silentPort}` },
    }),
    AWS_ENDPOINT_URL_EKS: moto.endpoint,
  };
  h = await ProviderHarness.start([
    { name: FN, zipFile: packageZip('KubeProvider'), timeoutSeconds: 120, environment },
    { name: SHORT, zipFile: packageZip('KubeProvider'), timeoutSeconds: 10, environment },
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfigPath);
  objects = KubernetesObjectApi.makeApiClient(kc);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await moto?.stop();
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
});

// --- helpers ---------------------------------------------------------------------------------

type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
};
/** Manifest text as kubectl (and the provider) read it: YAML 1.1, so `y`, `on`, `no` are quoted. */
const yaml = (...docs: Obj[]) => docs.map((d) => stringify(d, { version: '1.1' })).join('---\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ns = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const configMap = (name: string, namespace?: string, data: Record<string, string> = { key: 'value' }): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace ? { namespace } : {}) },
  data,
});

const logPointer = (inv: Invocation) => ` (log: /aws/lambda/${inv.functionName} local/${inv.requestId})`;

/** A live object as read back: only what the tests look at is typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests reach into arbitrary spec/status fields
type Live = KubernetesObject & { spec?: any; status?: any; data?: Record<string, string> };

/** The live object, or undefined when the API server answers 404. */
async function read(apiVersion: string, kind: string, name: string, namespace?: string): Promise<Live | undefined> {
  try {
    return (await objects.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } })) as Live;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

/** Polls until `probe` is truthy; the jest timeout bounds it. */
async function eventually<T>(probe: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v) return v;
    await sleep(200);
  }
}

/** One request with a resource-specific logical id; Update/Delete take the current physical id. */
function send(
  requestType: CloudFormationEvent['RequestType'],
  logicalId: string,
  props: Record<string, unknown>,
  extra: Partial<CloudFormationEvent> = {},
  fn = FN,
) {
  return h.send(fn, requestType, TYPE, props, { LogicalResourceId: logicalId, ...extra });
}

/** What the physical id of a set in the local cluster looks like. */
const idPattern = (logicalId: string) => new RegExp(`^local/teststack/${logicalId}/[0-9a-f]{8}$`);

const widgetCrd = (group: string, scope: 'Namespaced' | 'Cluster' = 'Namespaced'): Obj => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope,
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
});

// --- create ----------------------------------------------------------------------------------

describe('create', () => {
  test('a CRD and its custom objects in one manifest: the CRD first, its objects once it is established', async () => {
    // given custom objects written before their namespace and their CRD
    const group = 'crd.it.kubecfn.io';
    const manifest = yaml(
      {
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: { name: 'small', namespace: 'crd-it' },
        spec: { size: 1 },
      },
      {
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: { name: 'large', namespace: 'crd-it' },
        spec: { size: 9 },
      },
      ns('crd-it'),
      widgetCrd(group),
    );
    const props = { ClusterName: 'local', Manifest: manifest };

    // when
    const { answer } = await send('Create', 'CrdSet', props);

    // then every object is there, applied by the kubecfn field manager and marked with its owner
    expect(answer).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: expect.stringMatching(idPattern('CrdSet')),
      Data: {
        ObjectCount: '4',
        Objects: `Widget/crd-it/small,Widget/crd-it/large,Namespace/crd-it,CustomResourceDefinition/widgets.${group}`,
      },
    });
    const large = await read(`${group}/v1`, 'Widget', 'large', 'crd-it');
    expect(large?.spec).toEqual({ size: 9 });
    // applied under the resource's own field manager
    expect(large?.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([
      ['kubecfn/teststack/CrdSet', 'Apply'],
    ]);
    expect(large?.metadata?.annotations?.['kubecfn.io/owner']).toBe(
      answer.PhysicalResourceId.split('/').slice(1).join('/'),
    );
    const crd = await read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `widgets.${group}`);
    expect(crd?.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Established', status: 'True' })]),
    );

    // and Delete removes the objects, the CRD and the namespace, and waits until they are gone
    const deleted = await send('Delete', 'CrdSet', props, { PhysicalResourceId: answer.PhysicalResourceId });
    expect(deleted.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: answer.PhysicalResourceId });
    expect(await read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `widgets.${group}`)).toBeUndefined();
    expect(await read('v1', 'Namespace', 'crd-it')).toBeUndefined();
  });

  test('a Deployment, a Service and a ConfigMap across namespaces: answered once the Deployment is Available on the kwok nodes', async () => {
    // given a Deployment in one namespace, a Service in another and a ConfigMap without a namespace
    const manifest = yaml(
      ns('apps-a'),
      ns('apps-b'),
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'apps-a' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'apps-b' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
      },
      configMap('settings'),
    );
    const props = { ClusterName: 'local', Manifest: manifest, Namespace: 'apps-b', Wait: 'ready' };

    // when
    const { answer } = await send('Create', 'WebSet', props);

    // then the answer came once the rollout was complete, and the ConfigMap went to Namespace
    expect(answer).toMatchObject({
      Status: 'SUCCESS',
      Data: {
        ObjectCount: '5',
        Objects: 'Namespace/apps-a,Namespace/apps-b,Deployment/apps-a/web,Service/apps-b/web,ConfigMap/apps-b/settings',
      },
    });
    const web = await apps.readNamespacedDeployment({ name: 'web', namespace: 'apps-a' });
    expect(web.status?.availableReplicas).toBe(2);
    expect(web.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Available', status: 'True' })]),
    );
    expect((await core.readNamespacedConfigMap({ name: 'settings', namespace: 'apps-b' })).data).toEqual({
      key: 'value',
    });

    // and Delete leaves neither the workload nor its pods nor the namespaces
    const deleted = await send('Delete', 'WebSet', props, { PhysicalResourceId: answer.PhysicalResourceId });
    expect(deleted.answer.Status).toBe('SUCCESS');
    expect(await read('apps/v1', 'Deployment', 'web', 'apps-a')).toBeUndefined();
    expect(await read('v1', 'Namespace', 'apps-a')).toBeUndefined();
    expect(await read('v1', 'Namespace', 'apps-b')).toBeUndefined();
  });

  test('a LoadBalancer Service is ready once it has an address; the wait continues in new invocations', async () => {
    // given a 10 s Lambda and a load balancer address that appears only after 12 s
    const service: Obj = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', namespace: 'default' },
      spec: { type: 'LoadBalancer', selector: { app: 'lb' }, ports: [{ port: 80 }] },
    };
    const props = { ClusterName: 'local', Manifest: yaml(service), TimeoutSeconds: 120 };
    const answersBefore = h.responses.received.length;

    // when
    const pending = send('Create', 'LbSet', props, {}, SHORT);
    await eventually(() => read('v1', 'Service', 'lb', 'default'));
    await sleep(12_000);
    expect(h.responses.received.length).toBe(answersBefore); // still waiting
    await core.patchNamespacedServiceStatus(
      {
        name: 'lb',
        namespace: 'default',
        body: { status: { loadBalancer: { ingress: [{ hostname: 'lb-1.elb.example.com' }] } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const { answer, invocations } = await pending;

    // then
    expect(answer.Status).toBe('SUCCESS');
    expect(invocations.length).toBeGreaterThan(1);
    expect(invocations.every((i) => !i.timedOut)).toBe(true);

    const deleted = await send('Delete', 'LbSet', props, { PhysicalResourceId: answer.PhysicalResourceId }, SHORT);
    expect(deleted.answer.Status).toBe('SUCCESS');
    expect(await read('v1', 'Service', 'lb', 'default')).toBeUndefined();
  });

  test('a claim on a WaitForFirstConsumer class is ready unbound: it binds only when a pod uses it', async () => {
    const props = {
      ClusterName: 'local',
      Manifest: yaml(
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: 'late-binding' },
          provisioner: 'kubernetes.io/no-provisioner',
          volumeBindingMode: 'WaitForFirstConsumer',
        },
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', namespace: 'default' },
          spec: {
            storageClassName: 'late-binding',
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '1Gi' } },
          },
        },
      ),
    };
    const { answer } = await send('Create', 'ClaimSet', props);
    expect(answer.Status).toBe('SUCCESS');
    expect((await read('v1', 'PersistentVolumeClaim', 'data', 'default'))?.status?.phase).toBe('Pending');
    await send('Delete', 'ClaimSet', props, { PhysicalResourceId: answer.PhysicalResourceId });
    expect(await read('v1', 'PersistentVolumeClaim', 'data', 'default')).toBeUndefined();
  });

  test('a workload that never becomes ready: FAILED after TimeoutSeconds saying what it waits for, and removed', async () => {
    // given a Deployment whose pods select a node that does not exist
    const stuck: Obj = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'stuck' } },
        template: {
          metadata: { labels: { app: 'stuck' } },
          spec: { nodeSelector: { 'kubecfn.io/no-such-node': 'true' }, containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    };
    const { answer, first } = await send('Create', 'StuckSet', {
      ClusterName: 'local',
      Manifest: yaml(stuck),
      TimeoutSeconds: 5,
    });
    expect(answer.Reason).toBe(
      `Wait: not ready after 5 s (TimeoutSeconds): Manifest[0] (apps/v1 Deployment default/stuck) is waiting for 0 of 1 updated replicas available${logPointer(first)}`,
    );
    expect(await read('apps/v1', 'Deployment', 'stuck', 'default')).toBeUndefined();
  });

  test("a Secret's data never reaches the logs", async () => {
    const canary = 'canary-p4ssw0rd-7f3a';
    const props = {
      ClusterName: 'local',
      Manifest: yaml({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'default' },
        stringData: { password: canary },
      }),
    };
    const created = await send('Create', 'SecretSet', props);
    const deleted = await send('Delete', 'SecretSet', props, { PhysicalResourceId: created.answer.PhysicalResourceId });
    expect([created.answer.Status, deleted.answer.Status]).toEqual(['SUCCESS', 'SUCCESS']);
    const logs = [...created.invocations, ...deleted.invocations].map((i) => i.logs).join('\n');
    expect(logs).toContain('Secret/default/db');
    expect(logs).not.toContain(canary);
  });

  test('a Create delivered again after its answer (same RequestId) gets the same answer and applies nothing', async () => {
    const props = { ClusterName: 'local', Manifest: yaml(configMap('retried', 'default')) };
    const first = await send('Create', 'RetrySet', props);
    const again = await h.sendEvent(FN, first.event);
    expect(again.answer).toEqual({ ...first.answer });
    expect(again.first.logs).toContain('duplicate delivery of an answered request');
    expect(again.first.logs).not.toContain('step started');
    await send('Delete', 'RetrySet', props, { PhysicalResourceId: first.answer.PhysicalResourceId });
    expect(await read('v1', 'ConfigMap', 'retried', 'default')).toBeUndefined();
  });
});

// --- update ----------------------------------------------------------------------------------

describe('update', () => {
  test('applies the new set and prunes what it dropped, renamed or changed in kind', async () => {
    // given a set of five objects
    const before = {
      ClusterName: 'local',
      Namespace: 'prune-it',
      Manifest: yaml(
        ns('prune-it'),
        configMap('kept', undefined, { v: '1' }),
        configMap('old-name'),
        configMap('swapped'),
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'dropped' },
          stringData: { password: 'x' },
        },
      ),
    };
    const created = await send('Create', 'PruneSet', before);
    expect(created.answer.Status).toBe('SUCCESS');

    // when the update changes one, renames one, turns one into a Secret and drops one
    const after = {
      ...before,
      Manifest: yaml(ns('prune-it'), configMap('kept', undefined, { v: '2' }), configMap('new-name'), {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'swapped' },
        // not `y`: unquoted in YAML text, kubectl (YAML 1.1) reads it as a boolean, and so does the provider
        stringData: { password: 'swapped-secret' },
      }),
    };
    const { answer } = await send('Update', 'PruneSet', after, {
      PhysicalResourceId: created.answer.PhysicalResourceId,
      OldResourceProperties: before,
    });

    // then the same set (same physical id) holds exactly the new objects
    expect(answer).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: created.answer.PhysicalResourceId,
      Data: {
        ObjectCount: '4',
        Objects: 'Namespace/prune-it,ConfigMap/prune-it/kept,ConfigMap/prune-it/new-name,Secret/prune-it/swapped',
      },
    });
    expect((await read('v1', 'ConfigMap', 'kept', 'prune-it'))?.data).toEqual({ v: '2' });
    expect(await read('v1', 'ConfigMap', 'new-name', 'prune-it')).toBeDefined();
    expect(await read('v1', 'Secret', 'swapped', 'prune-it')).toBeDefined();
    expect(await read('v1', 'ConfigMap', 'old-name', 'prune-it')).toBeUndefined();
    expect(await read('v1', 'ConfigMap', 'swapped', 'prune-it')).toBeUndefined();
    expect(await read('v1', 'Secret', 'dropped', 'prune-it')).toBeUndefined();

    await send('Delete', 'PruneSet', after, { PhysicalResourceId: created.answer.PhysicalResourceId });
    expect(await read('v1', 'Namespace', 'prune-it')).toBeUndefined();
  });

  test('a CRD that gains a field and an object using it, in one update: the CRD first, then the object', async () => {
    // given a CRD whose schema knows `size` only
    const group = 'schema.it.kubecfn.io';
    const crd = (withColour: boolean): Obj => {
      const base = widgetCrd(group, 'Cluster') as Obj & {
        spec: {
          versions: Array<{
            schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } };
          }>;
        };
      };
      if (withColour)
        base.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.colour = { type: 'string' };
      return base;
    };
    const widget = (spec: Record<string, unknown>): Obj => ({
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w' },
      spec,
    });
    const before = { ClusterName: 'local', Manifest: yaml(crd(false), widget({ size: 1 })) };
    const created = await send('Create', 'SchemaSet', before);
    expect(created.answer.Status).toBe('SUCCESS');

    // when one update adds `colour` to the schema and sets it
    const after = { ...before, Manifest: yaml(crd(true), widget({ size: 2, colour: 'blue' })) };
    const { answer } = await send('Update', 'SchemaSet', after, {
      PhysicalResourceId: created.answer.PhysicalResourceId,
      OldResourceProperties: before,
    });

    // then
    expect(answer).toMatchObject({
      Status: 'SUCCESS',
      Data: { Objects: `CustomResourceDefinition/widgets.${group},Widget/w` },
    });
    expect((await read(`${group}/v1`, 'Widget', 'w'))?.spec).toEqual({ size: 2, colour: 'blue' });

    await send('Delete', 'SchemaSet', after, { PhysicalResourceId: created.answer.PhysicalResourceId });
    expect(await read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `widgets.${group}`)).toBeUndefined();
  });

  test('a prune held by a finalizer goes on in new invocations, still knowing the previous manifest', async () => {
    // given a 10 s Lambda and a set whose second object carries a finalizer
    const held: Obj = {
      ...configMap('prune-held', 'default'),
      metadata: { name: 'prune-held', namespace: 'default', finalizers: ['kubecfn.io/test-hold'] },
    };
    const before = {
      ClusterName: 'local',
      Manifest: yaml(configMap('prune-kept', 'default'), held),
      TimeoutSeconds: 120,
    };
    const created = await send('Create', 'SlowPrune', before, {}, SHORT);
    expect(created.answer.Status).toBe('SUCCESS');
    const answersBefore = h.responses.received.length;

    // when an update drops it, and the finalizer is lifted only after 12 s
    const after = { ...before, Manifest: yaml(configMap('prune-kept', 'default')) };
    const pending = send(
      'Update',
      'SlowPrune',
      after,
      { PhysicalResourceId: created.answer.PhysicalResourceId, OldResourceProperties: before },
      SHORT,
    );
    await eventually(async () => (await read('v1', 'ConfigMap', 'prune-held', 'default'))?.metadata?.deletionTimestamp);
    await sleep(12_000);
    expect(h.responses.received.length).toBe(answersBefore);
    await objects.patch(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'prune-held', namespace: 'default', finalizers: null },
      } as unknown as KubernetesObject,
      undefined,
      undefined,
      'test',
      undefined,
      PatchStrategy.MergePatch,
    );
    const { answer, invocations } = await pending;

    // then
    expect(answer).toMatchObject({
      Status: 'SUCCESS',
      Data: { ObjectCount: '1', Objects: 'ConfigMap/default/prune-kept' },
    });
    expect(invocations.length).toBeGreaterThan(1);
    expect(await read('v1', 'ConfigMap', 'prune-held', 'default')).toBeUndefined();
    await send('Delete', 'SlowPrune', after, { PhysicalResourceId: created.answer.PhysicalResourceId });
  });

  test('an object another resource has adopted is not pruned', async () => {
    // given resource A applies a ConfigMap, then resource B adopts the same ConfigMap
    const a = { ClusterName: 'local', Manifest: yaml(configMap('moved', 'default'), configMap('only-a', 'default')) };
    const b = { ClusterName: 'local', Manifest: yaml(configMap('moved', 'default', { from: 'b' })), Adopt: 'true' };
    const createdA = await send('Create', 'OwnerA', a);
    const createdB = await send('Create', 'OwnerB', b);
    expect([createdA.answer.Status, createdB.answer.Status]).toEqual(['SUCCESS', 'SUCCESS']);

    // when A drops it (the object moved from A's manifest to B's)
    const aAfter = { ...a, Manifest: yaml(configMap('only-a', 'default')) };
    const { answer } = await send('Update', 'OwnerA', aAfter, {
      PhysicalResourceId: createdA.answer.PhysicalResourceId,
      OldResourceProperties: a,
    });

    // then it stays, as B owns it now; A only withdrew the field its manager alone had set
    expect(answer.Status).toBe('SUCCESS');
    expect((await read('v1', 'ConfigMap', 'moved', 'default'))?.data).toEqual({ from: 'b' });

    await send('Delete', 'OwnerA', aAfter, { PhysicalResourceId: createdA.answer.PhysicalResourceId });
    await send('Delete', 'OwnerB', b, { PhysicalResourceId: createdB.answer.PhysicalResourceId });
    expect(await read('v1', 'ConfigMap', 'moved', 'default')).toBeUndefined();
    expect(await read('v1', 'ConfigMap', 'only-a', 'default')).toBeUndefined();
  });

  test("an immutable-field change (a Service's clusterIP) fails with the API server's message and leaves the previous state", async () => {
    // given a Service with a fixed clusterIP and a ConfigMap
    const set = (ip: string, v: string) => ({
      ClusterName: 'local',
      Manifest: yaml(
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'fixed-ip', namespace: 'default' },
          spec: { clusterIP: ip, ports: [{ port: 80 }] },
        },
        configMap('fixed-ip', 'default', { v }),
      ),
    });
    const created = await send('Create', 'ImmutableSet', set('10.96.0.50', '1'));
    expect(created.answer.Status).toBe('SUCCESS');

    // when the update changes the clusterIP and the ConfigMap
    const { answer, first } = await send('Update', 'ImmutableSet', set('10.96.0.51', '2'), {
      PhysicalResourceId: created.answer.PhysicalResourceId,
      OldResourceProperties: set('10.96.0.50', '1'),
    });

    // then it fails, naming the object, and nothing changed (not even the valid ConfigMap)
    expect(answer).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: created.answer.PhysicalResourceId,
      Reason:
        'Manifest[0] (v1 Service default/fixed-ip): the API server rejected it (checked before changing anything): ' +
        `Service "fixed-ip" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.0.51"]: may not change once set${logPointer(first)}`,
    });
    expect((await read('v1', 'Service', 'fixed-ip', 'default'))?.spec?.clusterIP).toBe('10.96.0.50');
    expect((await read('v1', 'ConfigMap', 'fixed-ip', 'default'))?.data).toEqual({ v: '1' });

    await send('Delete', 'ImmutableSet', set('10.96.0.50', '1'), {
      PhysicalResourceId: created.answer.PhysicalResourceId,
    });
    expect(await read('v1', 'Service', 'fixed-ip', 'default')).toBeUndefined();
  });

  test("an immutable-field change (a Job's template) fails with the API server's message", async () => {
    const job = (image: string) => ({
      ClusterName: 'local',
      Manifest: yaml({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'once', namespace: 'default' },
        // Suspended: the Job is ready as it is, no pods needed.
        spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'run', image }] } } },
      }),
    });
    const created = await send('Create', 'JobSet', job('busybox:1'));
    expect(created.answer.Status).toBe('SUCCESS');

    const { answer } = await send('Update', 'JobSet', job('busybox:2'), {
      PhysicalResourceId: created.answer.PhysicalResourceId,
      OldResourceProperties: job('busybox:1'),
    });

    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toMatch(
      /^Manifest\[0\] \(batch\/v1 Job default\/once\): the API server rejected it \(checked before changing anything\): Job\.batch "once" is invalid: spec\.template: Invalid value: .*field is immutable/,
    );
    expect((await read('batch/v1', 'Job', 'once', 'default'))?.spec?.template?.spec?.containers?.[0]?.image).toBe(
      'busybox:1',
    );

    await send('Delete', 'JobSet', job('busybox:1'), { PhysicalResourceId: created.answer.PhysicalResourceId });
    expect(await read('batch/v1', 'Job', 'once', 'default')).toBeUndefined();
  });

  test('a change of ClusterName replaces the set: a new physical id', async () => {
    const props = { ClusterName: 'local', Manifest: yaml(configMap('replaced', 'default')) };
    const created = await send('Create', 'MovedSet', props);
    const old = { ...props, ClusterName: 'unreachable' };
    const { answer } = await send('Update', 'MovedSet', props, {
      PhysicalResourceId: 'unreachable/teststack/MovedSet/00000000',
      OldResourceProperties: old,
    });
    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.answer.PhysicalResourceId });
    await send('Delete', 'MovedSet', props, { PhysicalResourceId: created.answer.PhysicalResourceId });
  });
});

// --- delete ----------------------------------------------------------------------------------

describe('delete', () => {
  test('waits while a finalizer holds an object and completes once it is removed', async () => {
    // given an object with a finalizer nobody will remove but the test
    const held: Obj = {
      ...configMap('held', 'default'),
      metadata: { name: 'held', namespace: 'default', finalizers: ['kubecfn.io/test-hold'] },
    };
    const props = { ClusterName: 'local', Manifest: yaml(held, configMap('free', 'default')) };
    const created = await send('Create', 'HeldSet', props);
    expect(created.answer.Status).toBe('SUCCESS');
    const answersBefore = h.responses.received.length;

    // when the delete runs and the test lifts the finalizer a moment later
    const pending = send('Delete', 'HeldSet', props, { PhysicalResourceId: created.answer.PhysicalResourceId });
    await eventually(async () => (await read('v1', 'ConfigMap', 'held', 'default'))?.metadata?.deletionTimestamp);
    await sleep(2_000);
    expect(h.responses.received.length).toBe(answersBefore); // still waiting for the finalizer
    await objects.patch(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'held', namespace: 'default', finalizers: null },
      } as unknown as KubernetesObject,
      undefined,
      undefined,
      'test',
      undefined,
      PatchStrategy.MergePatch,
    );
    const { answer } = await pending;

    // then
    expect(answer.Status).toBe('SUCCESS');
    expect(await read('v1', 'ConfigMap', 'held', 'default')).toBeUndefined();
    expect(await read('v1', 'ConfigMap', 'free', 'default')).toBeUndefined();
  });

  test('succeeds when the objects and their namespace are already gone', async () => {
    const props = { ClusterName: 'local', Manifest: yaml(ns('gone-it'), configMap('x', 'gone-it')) };
    const created = await send('Create', 'GoneSet', props);
    await core.deleteNamespace({ name: 'gone-it' });
    await eventually(async () => !(await read('v1', 'Namespace', 'gone-it')));

    const { answer } = await send('Delete', 'GoneSet', props, {
      PhysicalResourceId: created.answer.PhysicalResourceId,
    });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.answer.PhysicalResourceId });
  });

  test('succeeds when the cluster is gone (DescribeCluster: not found)', async () => {
    const props = { ClusterName: 'deleted-cluster', Manifest: yaml(configMap('x', 'default')) };
    const { answer } = await send('Delete', 'OrphanSet', props, {
      PhysicalResourceId: 'deleted-cluster/teststack/OrphanSet/0123abcd',
    });
    expect(answer).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'deleted-cluster/teststack/OrphanSet/0123abcd',
    });
  });

  test('RetainOnDelete leaves the objects in place', async () => {
    const props = { ClusterName: 'local', Manifest: yaml(configMap('retained', 'default')), RetainOnDelete: 'true' };
    const created = await send('Create', 'RetainSet', props);
    const { answer } = await send('Delete', 'RetainSet', props, {
      PhysicalResourceId: created.answer.PhysicalResourceId,
    });
    expect(answer.Status).toBe('SUCCESS');
    expect(await read('v1', 'ConfigMap', 'retained', 'default')).toBeDefined();
    await core.deleteNamespacedConfigMap({ name: 'retained', namespace: 'default' });
  });
});

// --- failures --------------------------------------------------------------------------------

describe('failures', () => {
  test('malformed YAML: FAILED with the parser message', async () => {
    const { answer, first } = await send('Create', 'BadYaml', {
      ClusterName: 'local',
      Manifest: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: bad-yaml\n',
    });
    expect(answer).toMatchObject({
      Status: 'FAILED',
      Reason: `Invalid properties for Custom::KubeManifest: Manifest: document 1 is not valid YAML/JSON: Flow map in block collection must be sufficiently indented and end with a } (line 4, column 1)${logPointer(first)}`,
      PhysicalResourceId: expect.stringMatching(/^kubecfn:create-failed:BadYaml:/),
    });
    expect(await read('v1', 'Namespace', 'bad-yaml')).toBeUndefined();
  });

  test('an object without a name: FAILED naming the document', async () => {
    const { answer, first } = await send('Create', 'NoName', {
      ClusterName: 'local',
      Manifest: yaml(ns('no-name'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as Obj),
    });
    expect(answer.Reason).toBe(
      `Invalid properties for Custom::KubeManifest: Manifest[1].metadata.name: expected the object name (a non-empty string)${logPointer(first)}`,
    );
    expect(await read('v1', 'Namespace', 'no-name')).toBeUndefined();
  });

  test('missing ClusterName: FAILED naming the property', async () => {
    const { answer, first } = await send('Create', 'NoCluster', { Manifest: yaml(ns('no-cluster')) });
    expect(answer.Reason).toBe(
      `Invalid properties for Custom::KubeManifest: ClusterName: required property is missing${logPointer(first)}`,
    );
    expect(await read('v1', 'Namespace', 'no-cluster')).toBeUndefined();
  });

  test('an unknown kind: FAILED naming the object, before anything is applied', async () => {
    const manifest = yaml(ns('unknown-kind'), configMap('x', 'unknown-kind'), {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'foo' },
    });
    const { answer, first } = await send('Create', 'UnknownKind', { ClusterName: 'local', Manifest: manifest });
    expect(answer.Reason).toBe(
      `Manifest[2] (example.com/v1 Widget foo): the API server does not know kind Widget in example.com/v1${logPointer(first)}`,
    );
    expect(await read('v1', 'Namespace', 'unknown-kind')).toBeUndefined();
  });

  test("an object the API server rejects: FAILED with the API server's message, and what was applied is removed", async () => {
    // given a namespace (applied first) and a Deployment the API server rejects
    const manifest = yaml(ns('rejected'), configMap('applied-first', 'rejected'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'rejected' },
      spec: {
        replicas: -1,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
      },
    });
    const { answer, first } = await send('Create', 'Rejected', { ClusterName: 'local', Manifest: manifest });
    expect(answer.Reason).toBe(
      `Manifest[2] (apps/v1 Deployment rejected/web): the API server rejected it: Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0${logPointer(first)}`,
    );
    // the namespace and the ConfigMap, applied before the Deployment, were removed before the answer
    expect(await read('v1', 'Namespace', 'rejected')).toBeUndefined();
  });

  test('a field the schema does not declare: FAILED with the strict validation message', async () => {
    const { answer, first } = await send('Create', 'Typo', {
      ClusterName: 'local',
      Manifest: yaml({ ...configMap('typo', 'default'), dataz: { a: 'b' } }),
    });
    expect(answer.Reason).toBe(
      `Manifest[0] (v1 ConfigMap default/typo): the API server rejected it: failed to create typed patch object (default/typo; /v1, Kind=ConfigMap): .dataz: field not declared in schema${logPointer(first)}`,
    );
    expect(await read('v1', 'ConfigMap', 'typo', 'default')).toBeUndefined();
  });

  test('an unreachable cluster: FAILED within seconds, naming the endpoint', async () => {
    const { answer, first } = await send('Create', 'Unreachable', {
      ClusterName: 'unreachable',
      Manifest: yaml(configMap('x', 'default')),
    });
    expect(answer.Reason).toBe(
      `ClusterName 'unreachable': cannot reach the API server at https://127.0.0.1:${closedPort}: connect ECONNREFUSED 127.0.0.1:${closedPort}${logPointer(first)}`,
    );
    expect(first.timedOut).toBe(false);
  });

  test('an endpoint that accepts connections but never answers: FAILED after the connect timeout, naming it', async () => {
    const { answer, first } = await send('Create', 'Silent', {
      ClusterName: 'silent',
      Manifest: yaml(configMap('x', 'default')),
    });
    expect(answer.Reason).toBe(
      `ClusterName 'silent': cannot reach the API server at https://127.0.0.1:${silentPort}: connect timed out after 4000 ms${logPointer(first)}`,
    );
    expect(first.timedOut).toBe(false);
  });

  test('a cluster DescribeCluster does not know: FAILED naming it', async () => {
    const { answer, first } = await send('Create', 'NoSuchCluster', {
      ClusterName: 'no-such-cluster',
      Manifest: yaml(configMap('x', 'default')),
    });
    expect(answer.Reason).toBe(
      `ClusterName 'no-such-cluster': cluster not found in region us-east-1${logPointer(first)}`,
    );
  });
});

// --- ownership: what a resource did not apply it never deletes ----------------------------------

describe('ownership', () => {
  /** Creates an object as another tool would (its own field manager), outside any stack. */
  async function preexisting(body: Obj, fieldManager = 'kubectl-create'): Promise<void> {
    await objects.create(body as KubernetesObject, undefined, undefined, fieldManager);
  }

  test('a failed Create never deletes an object that existed before it', async () => {
    // given a ConfigMap someone else created in kube-system
    await preexisting(configMap('coredns-custom', 'kube-system', { 'custom.server': 'example.org:53' }));

    // when a Create names it beside a kind the cluster does not know, and fails before applying anything
    const { answer } = await send('Create', 'NamesExisting', {
      ClusterName: 'local',
      Manifest: yaml(configMap('coredns-custom', 'kube-system', { other: 'x' }), {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'foo' },
      }),
    });

    // then it is answered FAILED (the marker: nothing was left behind) and the ConfigMap is untouched
    expect(answer.Status).toBe('FAILED');
    expect(answer.PhysicalResourceId).toMatch(/^kubecfn:create-failed:/);
    expect((await read('v1', 'ConfigMap', 'coredns-custom', 'kube-system'))?.data).toEqual({
      'custom.server': 'example.org:53',
    });
    await core.deleteNamespacedConfigMap({ name: 'coredns-custom', namespace: 'kube-system' });
  });

  test('the rollback of a failed Update never prunes an object the update did not apply', async () => {
    // given an object someone else created, and a set that does not include it
    await preexisting(configMap('shared-ca', 'default', { 'ca.crt': 'PEM' }));
    const m0 = { ClusterName: 'local', Manifest: yaml(configMap('rb-own', 'default')) };
    const created = await send('Create', 'Rollback', m0);
    expect(created.answer.Status).toBe('SUCCESS');

    // when an Update adds it beside an object the API server rejects (checked before anything changes)
    const m1 = {
      ClusterName: 'local',
      Manifest: yaml(configMap('rb-own', 'default'), configMap('shared-ca', 'default', { 'ca.crt': 'PEM' }), {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'rb-bad', namespace: 'default' },
        spec: {
          replicas: -1,
          selector: { matchLabels: { app: 'rb' } },
          template: { metadata: { labels: { app: 'rb' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      }),
    };
    const failed = await send('Update', 'Rollback', m1, {
      PhysicalResourceId: created.answer.PhysicalResourceId,
      OldResourceProperties: m0,
    });
    expect(failed.answer.Status).toBe('FAILED');

    // and CloudFormation rolls back: the old manifest again, the failed one as the old properties
    const rolledBack = await send('Update', 'Rollback', m0, {
      PhysicalResourceId: created.answer.PhysicalResourceId,
      OldResourceProperties: m1,
    });

    // then the object the failed update never applied is still there
    expect(rolledBack.answer.Status).toBe('SUCCESS');
    expect((await read('v1', 'ConfigMap', 'shared-ca', 'default'))?.data).toEqual({ 'ca.crt': 'PEM' });
    await send('Delete', 'Rollback', m0, { PhysicalResourceId: created.answer.PhysicalResourceId });
    expect(await read('v1', 'ConfigMap', 'shared-ca', 'default')).toBeDefined();
    await core.deleteNamespacedConfigMap({ name: 'shared-ca', namespace: 'default' });
  });

  test('an existing object is not taken over: a change to a field another manager set is refused, naming it', async () => {
    // given a ServiceAccount EKS created, with a label its manager set
    await preexisting(
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'node-agent', namespace: 'default', labels: { app: 'node-agent' } },
      },
      'eks',
    );

    // when a manifest changes that label
    const { answer, first } = await send('Create', 'Patcher', {
      ClusterName: 'local',
      Manifest: yaml({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'node-agent', namespace: 'default', labels: { app: 'mine' } },
      }),
    });

    // then it is refused with the API server's words, who set the field, and how to take it over
    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toBe(
      'Manifest[0] (v1 ServiceAccount default/node-agent): the API server rejected it: Apply failed with 1 conflict: conflict with "eks" using v1: .metadata.labels.app; ' +
        'it existed before this resource applied it (field managers: eks), and this resource changes only fields nobody else set unless Adopt is true' +
        logPointer(first),
    );
    const sa = await read('v1', 'ServiceAccount', 'node-agent', 'default');
    expect(sa?.metadata?.labels).toEqual({ app: 'node-agent' });
    expect(sa?.metadata?.annotations?.['kubecfn.io/owner']).toBeUndefined();
  });

  test('an existing object gets only the fields nobody else set; Delete withdraws them and leaves the object', async () => {
    // given the ServiceAccount of the test above (EKS's), when a manifest adds an annotation to it
    const props = {
      ClusterName: 'local',
      Manifest: yaml({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name: 'node-agent',
          namespace: 'default',
          annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r' },
        },
      }),
    };
    const created = await send('Create', 'Annotator', props);
    expect(created.answer.Status).toBe('SUCCESS');
    let sa = await read('v1', 'ServiceAccount', 'node-agent', 'default');
    expect(sa?.metadata?.labels).toEqual({ app: 'node-agent' });
    expect(sa?.metadata?.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r' });

    // when the stack deletes the resource
    const deleted = await send('Delete', 'Annotator', props, { PhysicalResourceId: created.answer.PhysicalResourceId });

    // then the ServiceAccount stays, without the annotation the resource had set
    expect(deleted.answer.Status).toBe('SUCCESS');
    sa = await read('v1', 'ServiceAccount', 'node-agent', 'default');
    expect(sa).toBeDefined();
    expect(sa?.metadata?.labels).toEqual({ app: 'node-agent' });
    expect(sa?.metadata?.annotations ?? {}).toEqual({});
  });

  test('Adopt takes an existing object over, is recorded on it, and Delete then removes it', async () => {
    const props = {
      ClusterName: 'local',
      Manifest: yaml({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'node-agent', namespace: 'default', labels: { app: 'mine' } },
      }),
      Adopt: 'true',
    };
    const created = await send('Create', 'Adopter', props);
    expect(created.answer.Status).toBe('SUCCESS');
    const sa = await read('v1', 'ServiceAccount', 'node-agent', 'default');
    expect(sa?.metadata?.labels).toEqual({ app: 'mine' });
    expect(sa?.metadata?.annotations).toMatchObject({
      'kubecfn.io/owner': expect.stringMatching(/^teststack\/Adopter\//),
      'kubecfn.io/adopted': expect.stringMatching(/^teststack\/Adopter\//),
    });

    await send('Delete', 'Adopter', props, { PhysicalResourceId: created.answer.PhysicalResourceId });
    expect(await read('v1', 'ServiceAccount', 'node-agent', 'default')).toBeUndefined();
  });

  test('two resources that set different labels of one Namespace keep each other’s (a field manager each)', async () => {
    // given resource A creates a namespace with its label, and resource B adds another
    const nsWith = (labels: Record<string, string>): Obj => ({
      ...ns('fm-shared'),
      metadata: { name: 'fm-shared', labels },
    });
    const a1 = { ClusterName: 'local', Manifest: yaml(nsWith({ a: '1' })) };
    const b = { ClusterName: 'local', Manifest: yaml(nsWith({ b: '2' })) };
    const createdA = await send('Create', 'FmA', a1);
    const createdB = await send('Create', 'FmB', b);
    expect([createdA.answer.Status, createdB.answer.Status]).toEqual(['SUCCESS', 'SUCCESS']);
    expect((await read('v1', 'Namespace', 'fm-shared'))?.metadata?.labels).toMatchObject({ a: '1', b: '2' });

    // when A changes its label
    const a2 = { ClusterName: 'local', Manifest: yaml(nsWith({ a: '3' })) };
    const updated = await send('Update', 'FmA', a2, {
      PhysicalResourceId: createdA.answer.PhysicalResourceId,
      OldResourceProperties: a1,
    });

    // then B's label stays: each applies as its own field manager
    expect(updated.answer.Status).toBe('SUCCESS');
    const live = await read('v1', 'Namespace', 'fm-shared');
    expect(live?.metadata?.labels).toMatchObject({ a: '3', b: '2' });
    expect(live?.metadata?.managedFields?.map((f) => f.manager)).toEqual(
      expect.arrayContaining(['kubecfn/teststack/FmA', 'kubecfn/teststack/FmB']),
    );

    // and B's Delete withdraws its label only; A's deletes the namespace, which is A's
    await send('Delete', 'FmB', b, { PhysicalResourceId: createdB.answer.PhysicalResourceId });
    const afterB = await read('v1', 'Namespace', 'fm-shared');
    expect(afterB?.metadata?.labels?.b).toBeUndefined();
    expect(afterB?.metadata?.labels?.a).toBe('3');
    await send('Delete', 'FmA', a2, { PhysicalResourceId: createdA.answer.PhysicalResourceId });
    await eventually(async () => (await read('v1', 'Namespace', 'fm-shared')) === undefined);
  });

  test('a failed move to another cluster removes what it applied there before answering', async () => {
    // given a set on another cluster, moved to this one with an object the API server rejects
    const bad = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'move-bad', namespace: 'default' },
      spec: {
        replicas: -1,
        selector: { matchLabels: { app: 'mv' } },
        template: { metadata: { labels: { app: 'mv' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    };
    const props = { ClusterName: 'local', Manifest: yaml(configMap('move-applied', 'default'), bad) };
    const old = { ClusterName: 'unreachable', Manifest: yaml(configMap('move-applied', 'default')) };

    // when the move fails
    const { answer } = await send('Update', 'FailedMove', props, {
      PhysicalResourceId: 'unreachable/teststack/FailedMove/00000000',
      OldResourceProperties: old,
    });

    // then the failure is answered with the current id, once the ConfigMap it applied here is gone
    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'unreachable/teststack/FailedMove/00000000' });
    expect(answer.Reason).toMatch(
      /^Manifest\[1\] \(apps\/v1 Deployment default\/move-bad\): the API server rejected it: .* \(what the move applied to cluster local has been removed\)/,
    );
    expect(await read('v1', 'ConfigMap', 'move-applied', 'default')).toBeUndefined();
  });
});

// --- Lambda's at-least-once delivery ------------------------------------------------------------

describe('duplicated deliveries', () => {
  let dup: ProviderHarness;
  beforeAll(async () => {
    const c = cluster();
    const environment = {
      KUBECFN_CLUSTER_ACCESS: JSON.stringify({ local: { server: c.server, caData: c.caData, token: c.token } }),
    };
    // Every asynchronous event (CloudFormation's and each hand-over) delivered twice.
    dup = await ProviderHarness.start(
      [{ name: SHORT, zipFile: packageZip('KubeProvider'), timeoutSeconds: 10, environment }],
      { duplicateAsync: true },
    );
  });
  afterAll(() => dup?.stop());

  test('a Create and each of its continuations delivered twice: one invocation works, one answer', async () => {
    // given a Deployment whose readiness wait spans invocations of a 10 s function
    const props = {
      ClusterName: 'local',
      Manifest: yaml(configMap('dup-config', 'default'), {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'dup-web', namespace: 'default' },
        spec: {
          replicas: 1,
          minReadySeconds: 12,
          selector: { matchLabels: { app: 'dup-web' } },
          template: {
            metadata: { labels: { app: 'dup-web' } },
            spec: { containers: [{ name: 'web', image: 'nginx' }] },
          },
        },
      }),
    };

    // when
    const x = await dup.send(SHORT, 'Create', TYPE, props, { LogicalResourceId: 'Duplicated' }, { async: true });

    // then one invocation of each attempt worked; every other delivery stayed silent, or (after
    // the answer) sent the recorded answer again, byte for byte
    expect(x.invocations.some((i) => i.duplicate)).toBe(true);
    const working = x.invocations.filter((i) => i.logs.includes('"step started"'));
    const attempts = working.map((i) => (i.event as ContinuationEvent).KubecfnContinuation?.attempt ?? 0);
    expect(attempts.length).toBeGreaterThan(1);
    expect(new Set(attempts).size).toBe(attempts.length);
    expect(x.bodies.length).toBeGreaterThan(0);
    expect(new Set(x.bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(x.bodies[0]).toMatchObject({ Status: 'SUCCESS' });
    const answer = x.bodies[0]!;
    await dup.send(SHORT, 'Delete', TYPE, props, {
      LogicalResourceId: 'Duplicated',
      PhysicalResourceId: answer.PhysicalResourceId,
    });
    expect(await read('apps/v1', 'Deployment', 'dup-web', 'default')).toBeUndefined();
  });
});

// --- a warm container whose cluster disappears --------------------------------------------------

describe('delete in a warm container', () => {
  test('succeeds when the endpoint stops answering and DescribeCluster then says the cluster is gone', async () => {
    // given the handler's module in this process (a warm container) with a cached client for an
    // EKS cluster (moto) whose endpoint does not resolve
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_EKS: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    delete process.env.KUBECFN_CLUSTER_ACCESS;
    try {
      const eks = new EKSClient({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      await eks.send(
        new CreateClusterCommand({
          name: 'doomed',
          roleArn: 'arn:aws:iam::123456789012:role/eks',
          resourcesVpcConfig: { subnetIds: ['subnet-1', 'subnet-2'] },
        }),
      );
      const { clientForCluster } = await import('../../../functions/src/kube');
      const { default: manifest } = await import('../../../functions/src/resources/kube-manifest');
      const { parseProperties } = await import('../../../functions/src/runtime');
      await clientForCluster('doomed');
      // when the cluster is deleted and then the Delete request arrives
      await eks.send(new DeleteClusterCommand({ name: 'doomed' }));
      const props = parseProperties(manifest.schema, {
        ClusterName: 'doomed',
        Manifest: yaml(configMap('x', 'default')),
      });
      const controller = new AbortController();
      const logger = {
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
        debug: () => undefined,
        appendKeys: () => undefined,
      };
      const result = await manifest.delete(props, {
        event: {
          StackId: 'arn:aws:cloudformation:us-east-1:0:stack/s/x',
          LogicalResourceId: 'Doomed',
        } as CloudFormationEvent,
        requestType: 'Delete',
        physicalId: 'doomed/s/Doomed/0123abcd',
        logger: logger as never,
        deadline: Date.now() + 60_000,
        overallDeadline: Date.now() + 60_000,
        remainingMs: () => 60_000,
        signal: controller.signal,
        attempt: 0,
        changing: () => undefined,
      });
      // then
      expect(result).toEqual({ done: true });
    } finally {
      process.env = saved;
    }
  });
});
