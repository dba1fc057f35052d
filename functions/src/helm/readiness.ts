/**
 * Readiness of a release's objects, checked the way `helm --wait` checks them, for waits that
 * outlast one Lambda invocation: helm cannot resume a wait, so when `TimeoutSeconds` does not fit
 * in the invocation the release is applied without `--wait` and these checks are polled across
 * invocations instead. Only the kinds helm waits for are checked; everything else counts as ready.
 */
import { gunzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';
import { whatHolds, withKubeClient, type ClusterAccess, type KubeObject } from '../kube';
import type { HelmCli } from './helm-cli';

/** An object to watch, small enough to travel in a continuation's state. */
export interface WatchedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

const WATCHED_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Pod',
  'PersistentVolumeClaim',
  'Service',
]);

/**
 * The objects of a release's manifest that helm would wait for, namespaced to the release's
 * namespace when the manifest leaves it out.
 *
 * @example
 * const objects = watchedObjects(release.manifest ?? '', release.namespace);
 */
export function watchedObjects(manifest: string, releaseNamespace: string): WatchedObject[] {
  const out: WatchedObject[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    const o = doc.toJS() as Partial<KubeObject> | null;
    if (!o?.kind || !o.apiVersion || !o.metadata?.name || !WATCHED_KINDS.has(o.kind)) continue;
    out.push({
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.metadata.namespace ?? releaseNamespace,
      name: o.metadata.name,
    });
  }
  return out;
}

type Obj = { kind?: string; metadata?: { generation?: number }; spec?: any; status?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `25%` of `total`, rounded as Kubernetes rounds maxUnavailable (down), or the number itself. */
function intOrPercent(value: unknown, total: number, fallback: string): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(String(v));
  return m ? Math.floor((Number(m[1]) * total) / 100) : Number(v) || 0;
}

/** Why an object is not ready yet, or `undefined` when it is. */
export function notReadyReason(o: Obj): string | undefined {
  const spec = o.spec ?? {};
  const status = o.status ?? {};
  const generationSeen = (status.observedGeneration ?? 0) >= (o.metadata?.generation ?? 0);
  switch (o.kind) {
    case 'Deployment': {
      if (spec.paused) return undefined; // helm skips paused deployments
      const replicas = spec.replicas ?? 1;
      const maxUnavailable =
        spec.strategy?.type === 'Recreate'
          ? 0
          : intOrPercent(spec.strategy?.rollingUpdate?.maxUnavailable, replicas, '25%');
      const expected = replicas - maxUnavailable;
      if (!generationSeen) return 'rollout not observed yet';
      if ((status.updatedReplicas ?? 0) < replicas)
        return `${status.updatedReplicas ?? 0} of ${replicas} replicas updated`;
      if ((status.readyReplicas ?? 0) < expected) return `${status.readyReplicas ?? 0} of ${expected} replicas ready`;
      return undefined;
    }
    case 'StatefulSet': {
      if (spec.updateStrategy?.type === 'OnDelete') return undefined;
      const replicas = spec.replicas ?? 1;
      const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      if (!generationSeen) return 'rollout not observed yet';
      if ((status.updatedReplicas ?? 0) < replicas - partition)
        return `${status.updatedReplicas ?? 0} of ${replicas - partition} replicas updated`;
      if ((status.readyReplicas ?? 0) < replicas) return `${status.readyReplicas ?? 0} of ${replicas} replicas ready`;
      if (partition === 0 && status.currentRevision !== status.updateRevision)
        return 'update not rolled out to every replica yet';
      return undefined;
    }
    case 'DaemonSet': {
      if (spec.updateStrategy?.type === 'OnDelete') return undefined;
      const desired = status.desiredNumberScheduled ?? 0;
      const expected = desired - intOrPercent(spec.updateStrategy?.rollingUpdate?.maxUnavailable, desired, '1');
      if (!generationSeen) return 'rollout not observed yet';
      if ((status.updatedNumberScheduled ?? 0) < desired)
        return `${status.updatedNumberScheduled ?? 0} of ${desired} pods updated`;
      if ((status.numberReady ?? 0) < expected) return `${status.numberReady ?? 0} of ${expected} pods ready`;
      return undefined;
    }
    case 'ReplicaSet':
    case 'ReplicationController': {
      const replicas = spec.replicas ?? 1;
      if (!generationSeen) return 'not observed yet';
      return (status.readyReplicas ?? 0) >= replicas
        ? undefined
        : `${status.readyReplicas ?? 0} of ${replicas} replicas ready`;
    }
    case 'Pod': {
      if (status.phase === 'Succeeded') return undefined;
      const ready = (status.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      );
      return ready ? undefined : `pod ${status.phase ?? 'Pending'}, not ready`;
    }
    case 'PersistentVolumeClaim':
      return status.phase === 'Bound' ? undefined : `claim ${status.phase ?? 'Pending'}, not bound`;
    case 'Service': {
      if (spec.type === 'ExternalName') return undefined;
      if (spec.clusterIP !== 'None' && !spec.clusterIP) return 'no cluster IP yet';
      if (
        spec.type === 'LoadBalancer' &&
        !(spec.externalIPs?.length > 0) &&
        !(status.loadBalancer?.ingress?.length > 0)
      )
        return 'load balancer not provisioned yet';
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Checks every watched object once; returns one line per object not ready yet (empty: all ready).
 * An object that does not exist counts as not ready. With `explain`, each line also says what holds
 * the object (its conditions, its first pod not ready, its newest Warning event: see
 * {@link whatHolds}) — for the Reason of a timeout, not for every poll.
 *
 * @example
 * const waiting = await checkReadiness(access, state.objects);
 * if (waiting.length) return inProgress(state, { pollAfterSeconds: 5 });
 */
export async function checkReadiness(
  access: ClusterAccess,
  objects: readonly WatchedObject[],
  options: { explain?: boolean; signal?: AbortSignal } = {},
): Promise<string[]> {
  if (objects.length === 0) return [];
  return withKubeClient(access, async (client) => {
    const results = await Promise.all(
      objects.map(async (w) => {
        const label = `${w.kind} ${w.namespace}/${w.name}`;
        const resource = await client.resourceFor(w.apiVersion, w.kind, { signal: options.signal });
        if (!resource) throw new Error(`${label}: the API server does not serve kind ${w.kind} in ${w.apiVersion}`);
        const o = await client.getOrUndefined<Obj>(client.objectPath(resource, w.name, w.namespace), options.signal);
        if (!o) return `${label}: not found`;
        const reason = notReadyReason(o);
        if (!reason) return undefined;
        if (!options.explain) return `${label}: ${reason}`;
        const holds = await whatHolds(client, o as unknown as KubeObject, options.signal);
        return `${label}: ${reason}${holds.length ? ` (${holds.join('; ')})` : ''}`;
      }),
    );
    return results.filter((r): r is string => r !== undefined);
  });
}

/**
 * What a release still waits for, after helm's own `--wait` ran out of time (helm says only
 * "context deadline exceeded"): its manifest read back with `helm get manifest`, each workload
 * checked as {@link checkReadiness} does, with what holds it. Empty when it cannot tell.
 *
 * @example
 * const pending = await pendingAfterTimeout(session.cli, access, { name: 'web', namespace: 'apps' });
 * // ['Deployment apps/web: 0 of 1 replicas ready (pod web-5d…: PodScheduled=False (Unschedulable: 0/1 nodes are available…))']
 */
export async function pendingAfterTimeout(
  cli: HelmCli,
  access: ClusterAccess,
  release: { name: string; namespace: string },
  signal?: AbortSignal,
): Promise<string[]> {
  try {
    const { stdout } = await cli.run(['get', 'manifest', release.name, '--namespace', release.namespace], { signal });
    return await checkReadiness(access, watchedObjects(stdout, release.namespace), { explain: true, signal });
  } catch {
    return [];
  }
}

/**
 * The watched objects of one revision of a release, read from helm's own record of it (the Secret
 * `sh.helm.release.v1.<name>.v<revision>`: base64 of gzipped JSON, its `manifest`). A wait that
 * spans invocations carries only the revision, so its state stays the same size whatever the
 * number of objects; `undefined` when the record is gone.
 *
 * @example
 * const objects = await releaseWatchedObjects(access, { name: 'web', namespace: 'apps' }, 3);
 */
export async function releaseWatchedObjects(
  access: ClusterAccess,
  release: { name: string; namespace: string },
  revision: number,
  signal?: AbortSignal,
): Promise<WatchedObject[] | undefined> {
  return withKubeClient(access, async (client) => {
    const secret = await client.getOrUndefined<{ data?: { release?: string } }>(
      `/api/v1/namespaces/${encodeURIComponent(release.namespace)}/secrets/${encodeURIComponent(`sh.helm.release.v1.${release.name}.v${revision}`)}`,
      signal,
    );
    const stored = secret?.data?.release;
    if (!stored) return undefined;
    let bytes = Buffer.from(Buffer.from(stored, 'base64').toString('utf8'), 'base64');
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    const record = JSON.parse(bytes.toString('utf8')) as { manifest?: string };
    return watchedObjects(record.manifest ?? '', release.namespace);
  });
}
