/** Readiness rules, as kubectl rollout status and kubectl wait apply them, on objects as the API server returns them. */
import { needsReadinessCheck, readinessOf, type KubeClient, type KubeObject } from '../../../functions/src/kube';

// Only PersistentVolumeClaims read more from the cluster; these cases never reach it.
const noClient = {} as KubeClient;
const obj = (apiVersion: string, kind: string, rest: Record<string, unknown>, generation = 2): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name: 'x', generation },
  ...rest,
});
const ready = { state: 'ready' };
const waiting = (waitingFor: string) => ({ state: 'waiting', waitingFor });

describe('Deployment', () => {
  const deployment = (status: Record<string, unknown>, spec: Record<string, unknown> = { replicas: 2 }) =>
    obj('apps/v1', 'Deployment', { spec, status });

  test.each([
    [
      'a new generation not yet observed',
      deployment({ observedGeneration: 1 }),
      waiting('the controller to observe generation 2'),
    ],
    [
      'replicas still being updated',
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 1 }),
      waiting('1 of 2 replicas updated'),
    ],
    [
      'old replicas still running',
      deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 2 }),
      waiting('1 old replicas to terminate'),
    ],
    [
      'updated replicas not available',
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }),
      waiting('1 of 2 updated replicas available'),
    ],
    ['rolled out', deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), ready],
    ['paused', deployment({}, { replicas: 2, paused: true }), ready],
    ['scaled to zero', deployment({ observedGeneration: 2 }, { replicas: 0 }), ready],
  ])('%s', async (_name, live, expected) => {
    expect(await readinessOf('apps', 'Deployment', live, noClient)).toEqual(expected);
  });

  test('a rollout past its progress deadline has failed', async () => {
    const live = deployment({
      observedGeneration: 2,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "x-1" has timed out progressing.',
        },
      ],
    });
    expect(await readinessOf('apps', 'Deployment', live, noClient)).toEqual({
      state: 'failed',
      reason: 'rollout exceeded its progress deadline: ReplicaSet "x-1" has timed out progressing.',
    });
  });
});

describe('StatefulSet and DaemonSet', () => {
  test.each([
    [
      'StatefulSet',
      'not all ready',
      { replicas: 3 },
      { observedGeneration: 2, readyReplicas: 2 },
      waiting('2 of 3 replicas ready'),
    ],
    [
      'StatefulSet',
      'revision rolling',
      { replicas: 1 },
      { observedGeneration: 2, readyReplicas: 1, currentRevision: 'a', updateRevision: 'b' },
      waiting('the rolling update to revision b'),
    ],
    [
      'StatefulSet',
      'rolled out',
      { replicas: 1 },
      { observedGeneration: 2, readyReplicas: 1, currentRevision: 'b', updateRevision: 'b' },
      ready,
    ],
    [
      'StatefulSet',
      'partitioned',
      { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
      { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 1 },
      ready,
    ],
    ['StatefulSet', 'OnDelete', { replicas: 3, updateStrategy: { type: 'OnDelete' } }, {}, ready],
    [
      'DaemonSet',
      'pods not updated',
      {},
      { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 1 },
      waiting('1 of 2 pods updated'),
    ],
    [
      'DaemonSet',
      'pods not available',
      {},
      { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 1 },
      waiting('1 of 2 pods available'),
    ],
    [
      'DaemonSet',
      'rolled out',
      {},
      { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 },
      ready,
    ],
  ])('%s: %s', async (kind, _name, spec, status, expected) => {
    expect(await readinessOf('apps', kind, obj('apps/v1', kind, { spec, status }), noClient)).toEqual(expected);
  });
});

describe('Job, CRD, Service, PVC', () => {
  test('a Job is ready when complete, failed when failed, waiting otherwise', async () => {
    const job = (conditions: unknown[], status: Record<string, unknown> = {}) =>
      obj('batch/v1', 'Job', { spec: {}, status: { conditions, ...status } });
    expect(await readinessOf('batch', 'Job', job([{ type: 'Complete', status: 'True' }]), noClient)).toEqual(ready);
    expect(
      await readinessOf(
        'batch',
        'Job',
        job([
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ]),
        noClient,
      ),
    ).toEqual({
      state: 'failed',
      reason: 'the Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
    expect(await readinessOf('batch', 'Job', job([], { active: 1 }), noClient)).toEqual(
      waiting('completion (0 succeeded, 1 active)'),
    );
  });

  test('a CRD is ready when Established; rejected names fail it', async () => {
    const crd = (conditions: unknown[]) =>
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', { spec: {}, status: { conditions } });
    expect(
      await readinessOf(
        'apiextensions.k8s.io',
        'CustomResourceDefinition',
        crd([{ type: 'Established', status: 'True' }]),
        noClient,
      ),
    ).toEqual(ready);
    expect(await readinessOf('apiextensions.k8s.io', 'CustomResourceDefinition', crd([]), noClient)).toEqual(
      waiting('the Established condition'),
    );
    expect(
      await readinessOf(
        'apiextensions.k8s.io',
        'CustomResourceDefinition',
        crd([{ type: 'NamesAccepted', status: 'False', message: '"widgets" is already in use' }]),
        noClient,
      ),
    ).toEqual({ state: 'failed', reason: 'names not accepted: "widgets" is already in use' });
  });

  test('a LoadBalancer Service is ready with an ingress address; other Services at once', async () => {
    const lb = (ingress: unknown[]) =>
      obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress } } });
    expect(await readinessOf('', 'Service', lb([]), noClient)).toEqual(
      waiting('a load balancer address (status.loadBalancer.ingress)'),
    );
    expect(await readinessOf('', 'Service', lb([{ hostname: 'h' }]), noClient)).toEqual(ready);
    expect(await readinessOf('', 'Service', obj('v1', 'Service', { spec: { type: 'ClusterIP' } }), noClient)).toEqual(
      ready,
    );
  });

  test('a bound claim is ready; a lost one has failed', async () => {
    const pvc = (phase: string) => obj('v1', 'PersistentVolumeClaim', { spec: {}, status: { phase } });
    expect(await readinessOf('', 'PersistentVolumeClaim', pvc('Bound'), noClient)).toEqual(ready);
    expect(await readinessOf('', 'PersistentVolumeClaim', pvc('Lost'), noClient)).toEqual({
      state: 'failed',
      reason: 'the claim lost its volume (phase Lost)',
    });
  });
});

describe('needsReadinessCheck', () => {
  test.each([
    ['apps', 'Deployment', {}, true],
    ['', 'Service', { spec: { type: 'LoadBalancer' } }, true],
    ['', 'Service', { spec: { type: 'ClusterIP' } }, false],
    ['', 'ConfigMap', {}, false],
    ['example.com', 'Widget', {}, false],
  ])('%s %s → %s', (group, kind, rest, expected) => {
    expect(needsReadinessCheck(group, kind, { apiVersion: 'v', kind, metadata: { name: 'x' }, ...rest })).toBe(
      expected,
    );
  });
});
