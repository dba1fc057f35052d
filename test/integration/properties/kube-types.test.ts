/**
 * Property types as CloudFormation really sends them (every scalar of a map, at every depth, a
 * string), through the bundled KubeProvider against a real kube-apiserver: a Manifest map typed by
 * the API server's OpenAPI schema (CRDs included), Manifest text kept as its author wrote it (YAML
 * 1.1, as kubectl reads it), and KubeGet answering NoEcho for Secrets. Cluster state is read back
 * with @kubernetes/client-node, independently of the handler.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import type { CloudFormationEvent } from '../../../functions/src/runtime';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const FN = 'KubeProvider';
const cluster = useLocalCluster();
let h: ProviderHarness;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

beforeAll(async () => {
  h = await ProviderHarness.start([
    { name: FN, zipFile: packageZip('KubeProvider'), timeoutSeconds: 60, environment: clusterAccessEnv(cluster()) },
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const send = (type: string, requestType: CloudFormationEvent['RequestType'], props: Record<string, unknown>) =>
  h.send(FN, requestType, type, { ClusterName: 'local', ...props });

describe('Custom::KubeManifest: a Manifest map has its scalars typed by the API schema (issue 9.1)', () => {
  test('replicas, ports, int-or-string, booleans and a CRD with its objects, all sent as strings', async () => {
    // given a manifest written as a map: cfnEvent turns every scalar into a string, as CloudFormation does
    const manifest = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'types-map' } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'types-map' },
        spec: {
          replicas: 2,
          revisionHistoryLimit: 3,
          paused: true,
          selector: { matchLabels: { app: 'web' } },
          strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
          template: {
            metadata: { labels: { app: 'web', tier: 1 } },
            spec: {
              automountServiceAccountToken: false,
              containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }],
              // as a template author writes a mode: YAML 1.1 octal, as kubectl reads it
              volumes: [{ name: 'settings', configMap: { name: 'settings', defaultMode: '0440' } }],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'redis', namespace: 'types-map' },
        spec: { selector: { app: 'redis' }, ports: [{ name: 'redis', port: 6379, targetPort: 6379 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'types-map' },
        data: { count: 1, enabled: true },
      },
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.types.kubecfn.io' },
        spec: {
          group: 'types.kubecfn.io',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      properties: {
                        size: { type: 'integer', minimum: 1 },
                        ratio: { type: 'number' },
                        enabled: { type: 'boolean' },
                        port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
                        name: { type: 'string' },
                        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      },
      {
        apiVersion: 'types.kubecfn.io/v1',
        kind: 'Widget',
        metadata: { name: 'w', namespace: 'types-map' },
        spec: { size: 3, ratio: 0.5, enabled: false, port: 8080, name: 42, extra: { n: 7 } },
      },
    ];

    // when
    const { answer, event } = await send('Custom::KubeManifest', 'Create', { Manifest: manifest, Wait: 'none' });

    // then CloudFormation's shape was sent, and the server holds the types the schema asks for
    expect(JSON.stringify(event.ResourceProperties)).toContain('"replicas":"2"');
    expect([answer.Status, answer.Reason]).toEqual(['SUCCESS', undefined]);
    const dep: V1Deployment = await apps.readNamespacedDeployment({ name: 'web', namespace: 'types-map' });
    expect(dep.spec).toMatchObject({ replicas: 2, revisionHistoryLimit: 3, paused: true });
    expect(dep.spec?.strategy?.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: '25%' });
    expect(dep.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    expect(dep.spec?.template.spec?.volumes?.[0]?.configMap?.defaultMode).toBe(0o440);
    expect(dep.spec?.template.spec?.containers[0]?.ports?.[0]?.containerPort).toBe(8080);
    expect(dep.spec?.template.metadata?.labels).toEqual({ app: 'web', tier: '1' });
    const svc = await core.readNamespacedService({ name: 'redis', namespace: 'types-map' });
    expect(svc.spec?.ports?.[0]).toMatchObject({ port: 6379, targetPort: 6379 });
    const cm = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'types-map' });
    expect(cm.data).toEqual({ count: '1', enabled: 'true' });
    const widget = (await custom.getNamespacedCustomObject({
      group: 'types.kubecfn.io',
      version: 'v1',
      namespace: 'types-map',
      plural: 'widgets',
      name: 'w',
    })) as { spec: Record<string, unknown> };
    // typed by the CRD's own schema; preserve-unknown-fields keeps the string
    expect(widget.spec).toEqual({ size: 3, ratio: 0.5, enabled: false, port: 8080, name: '42', extra: { n: '7' } });
  });
});

describe('Custom::KubeManifest: Manifest text keeps the types its author wrote, as kubectl reads YAML 1.1 (issue 13.3)', () => {
  test('defaultMode: 0440 is octal 288; "NO" and "on" stay strings', async () => {
    // given
    const manifest = [
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: types-text}',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: settings, namespace: types-text}',
      'data:',
      '  country: "NO"',
      '  ssl: "on"',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: reader, namespace: types-text}',
      'spec:',
      '  selector: {matchLabels: {app: reader}}',
      '  template:',
      '    metadata: {labels: {app: reader}}',
      '    spec:',
      '      containers: [{name: reader, image: busybox}]',
      '      volumes:',
      '        - name: settings',
      '          configMap: {name: settings, defaultMode: 0440}',
    ].join('\n');

    // when
    const { answer } = await send('Custom::KubeManifest', 'Create', { Manifest: manifest, Wait: 'none' });

    // then
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    const dep = await apps.readNamespacedDeployment({ name: 'reader', namespace: 'types-text' });
    expect(dep.spec?.template.spec?.volumes?.[0]?.configMap?.defaultMode).toBe(0o440);
    const cm = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'types-text' });
    expect(cm.data).toEqual({ country: 'NO', ssl: 'on' });
  });
});

describe('Custom::KubeGet answers NoEcho for what must not be echoed (issue 13.9)', () => {
  beforeAll(async () => {
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'db' }, stringData: { password: 'Hunter2-SuperSecret' } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'endpoint' }, data: { url: 'https://db.internal:5432' } },
    });
  });

  test('a Secret: NoEcho, and its value in no log line', async () => {
    // when
    const { answer, invocations } = await send('Custom::KubeGet', 'Create', {
      Object: 'secret/db',
      JsonPath: '{.data.password}',
    });

    // then
    const value = Buffer.from('Hunter2-SuperSecret').toString('base64');
    expect(answer).toMatchObject({ Status: 'SUCCESS', NoEcho: true, Data: { Value: value } });
    const logs = invocations.map((i) => i.logs).join('\n');
    expect(logs).toContain('"data":"<NoEcho>"');
    expect(logs).not.toContain(value);
  });

  test('NoEcho: true on any object; without it, a ConfigMap value is echoed', async () => {
    const hidden = await send('Custom::KubeGet', 'Create', {
      Object: 'cm/endpoint',
      JsonPath: '{.data.url}',
      NoEcho: true,
    });
    expect(hidden.answer).toMatchObject({ Status: 'SUCCESS', NoEcho: true });
    expect(hidden.invocations.map((i) => i.logs).join('\n')).not.toContain('db.internal');
    const shown = await send('Custom::KubeGet', 'Create', { Object: 'cm/endpoint', JsonPath: '{.data.url}' });
    expect(shown.answer.NoEcho).toBeUndefined();
    expect(shown.answer.Data).toEqual({ Value: 'https://db.internal:5432' });
  });
});
