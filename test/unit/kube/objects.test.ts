/** Manifest objects: dependency levels, List expansion, the capped object list, identities. */
import {
  describeObject,
  expandLists,
  Level,
  levelOf,
  objectKey,
  objectList,
  type KubeObject,
} from '../../../functions/src/kube';

const cm = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });

describe('levelOf', () => {
  test.each([
    ['', 'Namespace', Level.Foundation],
    ['apiextensions.k8s.io', 'CustomResourceDefinition', Level.Foundation],
    ['storage.k8s.io', 'StorageClass', Level.Foundation],
    ['', 'ServiceAccount', Level.Configuration],
    ['', 'ConfigMap', Level.Configuration],
    ['rbac.authorization.k8s.io', 'ClusterRoleBinding', Level.Configuration],
    ['', 'PersistentVolumeClaim', Level.Configuration],
    ['apps', 'Deployment', Level.Workload],
    ['', 'Service', Level.Workload],
    ['networking.k8s.io', 'Ingress', Level.Workload],
    ['cert-manager.io', 'Certificate', Level.Custom],
    ['vpcresources.k8s.aws', 'SecurityGroupPolicy', Level.Custom],
    ['admissionregistration.k8s.io', 'ValidatingWebhookConfiguration', Level.Interceptor],
    ['apiregistration.k8s.io', 'APIService', Level.Interceptor],
  ])('%s %s → level %i', (group, kind, level) => {
    expect(levelOf(group, kind)).toBe(level);
  });
});

describe('expandLists', () => {
  test('a List contributes its items, each named by its place', () => {
    const list = { apiVersion: 'v1', kind: 'List', metadata: {}, items: [cm('a'), cm('b')] } as unknown as KubeObject;
    expect(expandLists([cm('first'), list], 'Manifest')).toEqual([
      { source: 'Manifest[0]', body: cm('first') },
      { source: 'Manifest[1].items[0]', body: cm('a') },
      { source: 'Manifest[1].items[1]', body: cm('b') },
    ]);
  });
});

describe('objectList', () => {
  const objects = Array.from({ length: 100 }, (_, i) => ({
    kind: 'ConfigMap',
    namespace: 'default',
    name: `config-${String(i).padStart(3, '0')}`,
  }));

  test('lists kind/namespace/name, and kind/name for cluster-scoped objects', () => {
    expect(objectList([{ kind: 'Namespace', namespace: '', name: 'web' }, objects[0]!])).toBe(
      'Namespace/web,ConfigMap/default/config-000',
    );
  });

  test('stays within the cap and says how many it left out', () => {
    const text = objectList(objects, 300);
    expect(text.length).toBeLessThanOrEqual(300);
    const shown = text.split(',').filter((s) => s.startsWith('ConfigMap/')).length;
    expect(text.endsWith(`,… (+${100 - shown} more)`)).toBe(true);
    expect(text.startsWith('ConfigMap/default/config-000,ConfigMap/default/config-001,')).toBe(true);
  });
});

describe('identities', () => {
  test('an object is the same whatever its apiVersion', () => {
    const a = { group: 'autoscaling', kind: 'HorizontalPodAutoscaler', namespace: 'web', name: 'api' };
    expect(objectKey(a)).toBe('autoscaling/HorizontalPodAutoscaler/web/api');
  });

  test('messages name apiVersion, kind, namespace and name', () => {
    expect(
      describeObject({
        body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' } },
        namespace: 'web',
        name: 'api',
      }),
    ).toBe('apps/v1 Deployment web/api');
    expect(
      describeObject({
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } },
        namespace: '',
        name: 'web',
      }),
    ).toBe('v1 Namespace web');
  });
});
