import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { notReadyReason, watchedObjects } from '../../../functions/src/helm';
import { ensureHelm } from '../../../scripts/dev/binaries';

const chart = resolve(__dirname, '../../fixtures/charts/web');

describe('watchedObjects', () => {
  test('picks the kinds helm waits for from a rendered release, in the release namespace', async () => {
    // given the manifest helm renders for the web chart
    const { stdout } = await promisify(execFile)(
      await ensureHelm(),
      ['template', 'rel', chart, '--namespace', 'apps'],
      { env: { HOME: '/tmp' } },
    );

    const objects = watchedObjects(
      `${stdout}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: other\n`,
      'apps',
    );

    expect(objects).toEqual([
      { apiVersion: 'v1', kind: 'Service', namespace: 'apps', name: 'rel' },
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'apps', name: 'rel' },
      { apiVersion: 'v1', kind: 'Pod', namespace: 'other', name: 'p' },
    ]);
  });
});

describe('notReadyReason', () => {
  const deployment = (status: object, spec: object = {}) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', generation: 2 },
    spec: { replicas: 4, ...spec },
    status,
  });

  test('Deployment: observed, updated, and ready up to maxUnavailable (25% by default)', () => {
    expect(notReadyReason(deployment({ observedGeneration: 1, updatedReplicas: 4, readyReplicas: 4 }))).toBe(
      'rollout not observed yet',
    );
    expect(notReadyReason(deployment({ observedGeneration: 2, updatedReplicas: 3, readyReplicas: 4 }))).toBe(
      '3 of 4 replicas updated',
    );
    expect(notReadyReason(deployment({ observedGeneration: 2, updatedReplicas: 4, readyReplicas: 2 }))).toBe(
      '2 of 3 replicas ready',
    );
    expect(notReadyReason(deployment({ observedGeneration: 2, updatedReplicas: 4, readyReplicas: 3 }))).toBeUndefined();
    expect(
      notReadyReason(
        deployment({ observedGeneration: 2, updatedReplicas: 4, readyReplicas: 3 }, { strategy: { type: 'Recreate' } }),
      ),
    ).toBe('3 of 4 replicas ready');
    expect(notReadyReason(deployment({}, { paused: true }))).toBeUndefined();
  });

  test('StatefulSet, DaemonSet, Pod, PVC and Service', () => {
    const sts = { kind: 'StatefulSet', metadata: { generation: 1 }, spec: { replicas: 2 } };
    expect(notReadyReason({ ...sts, status: { observedGeneration: 1, updatedReplicas: 2, readyReplicas: 1 } })).toBe(
      '1 of 2 replicas ready',
    );
    expect(
      notReadyReason({
        ...sts,
        status: {
          observedGeneration: 1,
          updatedReplicas: 2,
          readyReplicas: 2,
          currentRevision: 'a',
          updateRevision: 'b',
        },
      }),
    ).toBe('update not rolled out to every replica yet');
    expect(
      notReadyReason({
        ...sts,
        status: {
          observedGeneration: 1,
          updatedReplicas: 2,
          readyReplicas: 2,
          currentRevision: 'b',
          updateRevision: 'b',
        },
      }),
    ).toBeUndefined();
    const ds = { kind: 'DaemonSet', metadata: { generation: 1 }, spec: {} };
    expect(
      notReadyReason({
        ...ds,
        status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 1 },
      }),
    ).toBe('1 of 2 pods ready');
    expect(notReadyReason({ kind: 'Pod', status: { phase: 'Pending' } })).toBe('pod Pending, not ready');
    expect(
      notReadyReason({ kind: 'Pod', status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }),
    ).toBeUndefined();
    expect(notReadyReason({ kind: 'PersistentVolumeClaim', status: { phase: 'Pending' } })).toBe(
      'claim Pending, not bound',
    );
    expect(notReadyReason({ kind: 'Service', spec: { type: 'LoadBalancer', clusterIP: '10.0.0.1' }, status: {} })).toBe(
      'load balancer not provisioned yet',
    );
    expect(notReadyReason({ kind: 'Service', spec: { type: 'ClusterIP', clusterIP: 'None' } })).toBeUndefined();
    expect(notReadyReason({ kind: 'ConfigMap' })).toBeUndefined();
  });
});
