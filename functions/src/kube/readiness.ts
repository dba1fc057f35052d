/**
 * When is an applied object ready? The rules `kubectl rollout status` and `kubectl wait` use:
 * Deployments, StatefulSets and DaemonSets rolled out, Jobs complete, CRDs established, Services
 * of type LoadBalancer with an ingress address, PersistentVolumeClaims bound. Other kinds are
 * ready once applied.
 */
import type { KubeClient } from './api-client';
import type { KubeObject } from './types';

/** Ready, still waiting (and for what), or failed for good (and why). */
export type Readiness =
  { state: 'ready' } | { state: 'waiting'; waitingFor: string } | { state: 'failed'; reason: string };

const ready: Readiness = { state: 'ready' };
const waiting = (waitingFor: string): Readiness => ({ state: 'waiting', waitingFor });
const failed = (reason: string): Readiness => ({ state: 'failed', reason });

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}
type Live = KubeObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Condition[] };
};

const condition = (o: Live, type: string) => o.status?.conditions?.find((c) => c.type === type);
const num = (v: unknown, fallback = 0) => (typeof v === 'number' ? v : fallback);

/** True for the kinds whose readiness needs more than the apply: only these are read back. */
export function needsReadinessCheck(group: string, kind: string, body: KubeObject): boolean {
  switch (`${group}/${kind}`) {
    case 'apps/Deployment':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet':
    case 'batch/Job':
    case 'apiextensions.k8s.io/CustomResourceDefinition':
    case '/PersistentVolumeClaim':
      return true;
    case '/Service':
      return (body.spec as { type?: string } | undefined)?.type === 'LoadBalancer';
    default:
      return false;
  }
}

/** The controller has not yet acted on the latest spec. */
function staleGeneration(o: Live): Readiness | undefined {
  const generation = o.metadata.generation;
  const observed = o.status?.observedGeneration;
  if (generation !== undefined && (typeof observed !== 'number' || observed < generation)) {
    return waiting(`the controller to observe generation ${generation}`);
  }
  return undefined;
}

function deployment(o: Live): Readiness {
  if ((o.spec as { paused?: boolean }).paused) return ready; // a paused rollout makes no progress to wait for
  const stale = staleGeneration(o);
  if (stale) return stale;
  const progressing = condition(o, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return failed(`rollout exceeded its progress deadline: ${progressing.message ?? ''}`.trim());
  const want = num(o.spec?.replicas, 1);
  const updated = num(o.status?.updatedReplicas);
  const total = num(o.status?.replicas);
  const available = num(o.status?.availableReplicas);
  if (updated < want) return waiting(`${updated} of ${want} replicas updated`);
  if (total > updated) return waiting(`${total - updated} old replicas to terminate`);
  if (available < updated) return waiting(`${available} of ${updated} updated replicas available`);
  return ready;
}

function statefulSet(o: Live): Readiness {
  const strategy = o.spec?.updateStrategy as { type?: string; rollingUpdate?: { partition?: number } } | undefined;
  if (strategy?.type === 'OnDelete') return ready; // pods are replaced only when someone deletes them
  const stale = staleGeneration(o);
  if (stale) return stale;
  const want = num(o.spec?.replicas, 1);
  const readyReplicas = num(o.status?.readyReplicas);
  if (readyReplicas < want) return waiting(`${readyReplicas} of ${want} replicas ready`);
  const partition = num(strategy?.rollingUpdate?.partition);
  if (partition > 0) {
    const updated = num(o.status?.updatedReplicas);
    if (updated < want - partition)
      return waiting(`${updated} of ${want - partition} replicas above the partition updated`);
    return ready;
  }
  if (o.status?.updateRevision !== o.status?.currentRevision)
    return waiting(`the rolling update to revision ${String(o.status?.updateRevision)}`);
  return ready;
}

function daemonSet(o: Live): Readiness {
  if ((o.spec?.updateStrategy as { type?: string } | undefined)?.type === 'OnDelete') return ready;
  const stale = staleGeneration(o);
  if (stale) return stale;
  const desired = num(o.status?.desiredNumberScheduled);
  const updated = num(o.status?.updatedNumberScheduled);
  const available = num(o.status?.numberAvailable);
  if (updated < desired) return waiting(`${updated} of ${desired} pods updated`);
  if (available < desired) return waiting(`${available} of ${desired} pods available`);
  return ready;
}

function job(o: Live): Readiness {
  const failedCond = condition(o, 'Failed');
  if (failedCond?.status === 'True')
    return failed(`the Job failed: ${[failedCond.reason, failedCond.message].filter(Boolean).join(': ')}`);
  if (condition(o, 'Complete')?.status === 'True') return ready;
  if ((o.spec as { suspend?: boolean }).suspend) return ready; // suspended on purpose: it will not complete
  return waiting(`completion (${num(o.status?.succeeded)} succeeded, ${num(o.status?.active)} active)`);
}

function crd(o: Live): Readiness {
  const names = condition(o, 'NamesAccepted');
  if (names?.status === 'False') return failed(`names not accepted: ${names.message ?? names.reason ?? ''}`.trim());
  if (condition(o, 'Established')?.status === 'True') return ready;
  return waiting('the Established condition');
}

function loadBalancer(o: Live): Readiness {
  const ingress = (o.status?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress;
  return ingress && ingress.length > 0 ? ready : waiting('a load balancer address (status.loadBalancer.ingress)');
}

async function claim(o: Live, client: KubeClient, signal?: AbortSignal): Promise<Readiness> {
  const phase = o.status?.phase;
  if (phase === 'Bound') return ready;
  if (phase === 'Lost') return failed('the claim lost its volume (phase Lost)');
  // A WaitForFirstConsumer class (EKS's default gp2/gp3) binds only once a pod uses the claim:
  // waiting for Bound here would wait for ever.
  const className =
    (o.spec as { storageClassName?: string }).storageClassName ?? (await defaultStorageClass(client, signal));
  if (className) {
    const sc = await client.getOrUndefined<{ volumeBindingMode?: string }>(
      `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(className)}`,
      signal,
    );
    if (sc?.volumeBindingMode === 'WaitForFirstConsumer') return ready;
  }
  return waiting(`the claim to be bound (phase ${String(phase ?? 'Pending')})`);
}

async function defaultStorageClass(client: KubeClient, signal?: AbortSignal): Promise<string | undefined> {
  const list = await client.request<{ items?: KubeObject[] }>('GET', '/apis/storage.k8s.io/v1/storageclasses', {
    signal,
  });
  return list.items?.find((sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')
    ?.metadata.name;
}

/**
 * The readiness of a live object (as read from the API server) of the given group and kind.
 *
 * @example
 * const live = await client.request<KubeObject>('GET', path);
 * const r = await readinessOf('apps', 'Deployment', live, client);
 * if (r.state === 'waiting') console.log(`waiting for ${r.waitingFor}`);
 */
export async function readinessOf(
  group: string,
  kind: string,
  live: KubeObject,
  client: KubeClient,
  signal?: AbortSignal,
): Promise<Readiness> {
  const o = live as Live;
  o.spec ??= {};
  switch (`${group}/${kind}`) {
    case 'apps/Deployment':
      return deployment(o);
    case 'apps/StatefulSet':
      return statefulSet(o);
    case 'apps/DaemonSet':
      return daemonSet(o);
    case 'batch/Job':
      return job(o);
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return crd(o);
    case '/Service':
      return (o.spec as { type?: string }).type === 'LoadBalancer' ? loadBalancer(o) : ready;
    case '/PersistentVolumeClaim':
      return claim(o, client, signal);
    default:
      return ready;
  }
}

/** A condition as objects report it, in a Reason: `Available=False (MinimumReplicasUnavailable: …)`. */
const describeCondition = (c: Condition) =>
  `${c.type}=${c.status}${c.reason || c.message ? ` (${[c.reason, c.message].filter(Boolean).join(': ')})` : ''}`;

/** Conditions that say something is wrong: False for the positive ones, True for a Namespace's failures. */
function troubleConditions(o: Live): Condition[] {
  const conditions = o.status?.conditions ?? [];
  if (o.kind === 'Namespace') return conditions.filter((c) => c.status === 'True');
  const bad = new Set(['ReplicaFailure', 'Failed', 'Stalled', 'Degraded']);
  return conditions.filter((c) => (bad.has(c.type ?? '') ? c.status === 'True' : c.status === 'False'));
}

/** The newest Warning event about an object (else the newest event), as `Reason: message`. */
async function latestEvent(client: KubeClient, o: KubeObject, signal?: AbortSignal): Promise<string | undefined> {
  const ns = o.metadata.namespace;
  const selector = [`involvedObject.name=${o.metadata.name}`, `involvedObject.kind=${o.kind}`];
  if (o.metadata.uid) selector.push(`involvedObject.uid=${o.metadata.uid}`);
  const path = ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/events` : '/api/v1/events';
  try {
    const list = await client.request<{
      items?: Array<{ type?: string; reason?: string; message?: string; lastTimestamp?: string; eventTime?: string }>;
    }>('GET', path, { query: { fieldSelector: selector.join(','), limit: 50 }, signal, retryErrorStatus: false });
    const when = (e: { lastTimestamp?: string; eventTime?: string }) =>
      Date.parse(e.lastTimestamp ?? e.eventTime ?? '') || 0;
    const items = [...(list.items ?? [])].sort((a, b) => when(b) - when(a));
    const e = items.find((i) => i.type === 'Warning') ?? items[0];
    return e ? `event ${e.reason ?? ''}: ${(e.message ?? '').trim()}`.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Why the first not-ready pod of a workload is not ready: unscheduled, a container waiting, or its event. */
async function podHold(client: KubeClient, o: Live, signal?: AbortSignal): Promise<string | undefined> {
  const labels = (o.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
  const ns = o.metadata.namespace;
  if (!labels || !ns || Object.keys(labels).length === 0) return undefined;
  try {
    const pods = await client.request<{ items?: Live[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, {
      query: {
        labelSelector: Object.entries(labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        limit: 20,
      },
      signal,
      retryErrorStatus: false,
    });
    const pod = (pods.items ?? []).find((p) => condition(p, 'Ready')?.status !== 'True');
    if (!pod) return undefined;
    const name = `pod ${pod.metadata.name}`;
    const scheduled = condition(pod, 'PodScheduled');
    if (scheduled?.status === 'False') return `${name}: ${describeCondition(scheduled)}`;
    type ContainerStatus = { name?: string; state?: { waiting?: { reason?: string; message?: string } } };
    const statuses = [
      ...((pod.status?.initContainerStatuses as ContainerStatus[] | undefined) ?? []),
      ...((pod.status?.containerStatuses as ContainerStatus[] | undefined) ?? []),
    ];
    const waiting = statuses.find((s) => s.state?.waiting);
    if (waiting?.state?.waiting)
      return `${name}: container ${waiting.name} waiting (${[waiting.state.waiting.reason, waiting.state.waiting.message].filter(Boolean).join(': ')})`;
    const event = await latestEvent(client, pod, signal);
    return event ? `${name}: ${event}` : `${name}: phase ${String(pod.status?.phase ?? 'Pending')}`;
  } catch {
    return undefined;
  }
}

/** Kinds whose readiness is their pods'. */
const POD_OWNERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/**
 * What holds an object that is not ready, or not gone, for a Reason after a wait has timed out:
 * its finalizers while it is being deleted, its conditions that report trouble (for a Namespace,
 * `NamespaceDeletionDiscoveryFailure` naming the API that did not answer, and the other deletion
 * conditions), for a workload the first pod not ready (unscheduled, a container waiting), and
 * otherwise the newest Warning event. Empty when nothing explains it. Never throws: it only adds to
 * a Reason already decided.
 *
 * @example
 * const holds = await whatHolds(client, live); // ['finalizers kubernetes', 'NamespaceDeletionDiscoveryFailure=True (…)']
 */
export async function whatHolds(client: KubeClient, live: KubeObject, signal?: AbortSignal): Promise<string[]> {
  const o = live as Live;
  const out: string[] = [];
  if (o.metadata.deletionTimestamp) {
    const finalizers = [
      ...(o.metadata.finalizers ?? []),
      ...(o.kind === 'Namespace' ? ((o.spec?.finalizers as string[] | undefined) ?? []).map((f) => `spec ${f}`) : []),
    ];
    if (finalizers.length) out.push(`finalizers ${finalizers.join(', ')}`);
  }
  out.push(...troubleConditions(o).map(describeCondition));
  if (POD_OWNERS.has(o.kind) && !o.metadata.deletionTimestamp) {
    const pod = await podHold(client, o, signal);
    if (pod) out.push(pod);
  }
  if (out.length === 0) {
    const event = await latestEvent(client, o, signal);
    if (event) out.push(event);
  }
  return out;
}

/**
 * {@link whatHolds} for an object named by its path, read afresh; `undefined` when it is gone or
 * cannot be read.
 */
export async function whatHoldsAt(client: KubeClient, path: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const live = await client.getOrUndefined(path, signal);
    if (!live) return undefined;
    const holds = await whatHolds(client, live, signal);
    return holds.length ? holds.join('; ') : undefined;
  } catch {
    return undefined;
  }
}
