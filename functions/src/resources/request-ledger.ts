/**
 * The request ledger of the Kubernetes resources (see runtime/ledger.ts): one Lease per request in
 * the cluster's `kube-system` namespace, `kubecfn-request-<hash>`, whose annotation holds the
 * record (which invocation works on the request, until when, and the answer once sent). Writes
 * are conditional on the resourceVersion read, so two deliveries of one request never both win.
 *
 * Records go once no delivery of their request can arrive any more: when a Delete of their
 * resource has succeeded, all but that Delete's record (the resource's tombstone, which lets a late
 * delivery of an earlier request stay silent); and every record, tombstones included, once older
 * than {@link RECORD_LIFETIME_MS} (beyond Lambda's longest event age), removed by the next request
 * that creates one on the same cluster.
 */
import { KubeApiError, clientForCluster, type KubeClient } from '../kube';
import { shortHash, type CloudFormationEvent, type LedgerRecord, type LedgerStore } from '../runtime';

const NAMESPACE = 'kube-system';
const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`;
/** The annotation holding the record (JSON). */
export const RECORD_ANNOTATION = 'kubecfn.io/request-record';
/** The label every record carries, for the clean-up of old ones. */
export const LEDGER_LABEL = 'kubecfn.io/request-ledger';
/** The label naming the resource (stack and logical id, hashed) whose request the record is. */
export const RESOURCE_LABEL = 'kubecfn.io/request-of';
/** Lambda drops asynchronous events older than 6 hours at most: a record is needed no longer. */
export const RECORD_LIFETIME_MS = 6 * 3600_000;
/** The clean-up of old records runs at most this often per container. */
const SWEEP_EVERY_MS = 10 * 60_000;
const lastSweep = new Map<string, number>();

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

/** The Lease's name for a request: stable for its every delivery, distinct across stacks and resources. */
export const recordName = (event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId' | 'RequestId'>) =>
  `kubecfn-request-${shortHash(`${event.StackId}|${event.LogicalResourceId}|${event.RequestId}`, 20)}`;

/** The value of {@link RESOURCE_LABEL} for `event`'s resource: the same for every request of it. */
export const resourceKey = (event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>) =>
  shortHash(`${event.StackId}|${event.LogicalResourceId}`, 20);

/** Lease times are MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

function leaseOf(name: string, resource: string, record: LedgerRecord, version?: string): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: NAMESPACE,
      ...(version ? { resourceVersion: version } : {}),
      labels: { [LEDGER_LABEL]: 'true', [RESOURCE_LABEL]: resource, 'app.kubernetes.io/managed-by': 'kubecfn' },
      annotations: { [RECORD_ANNOTATION]: JSON.stringify(record) },
    },
    spec: {
      holderIdentity: record.deleted
        ? 'deleted'
        : record.answer
          ? `answered ${record.answer.Status}`
          : record.holder || `awaiting attempt ${record.attempt}`,
      leaseDurationSeconds: Math.max(1, Math.round((record.until - Date.now()) / 1000)),
      renewTime: microTime(Date.now()),
    },
  };
}

const isStatus = (error: unknown, status: number) => error instanceof KubeApiError && error.status === status;

/**
 * The ledger of `event`'s request on the cluster `clusterName`.
 *
 * @example
 * ledger: (props, event) => clusterLedger(props.ClusterName, event),
 */
export function clusterLedger(clusterName: string, event: CloudFormationEvent): LedgerStore {
  const name = recordName(event);
  const resource = resourceKey(event);
  const path = `${LEASES}/${name}`;
  const client = () => clientForCluster(clusterName);
  const resourceRecords = async (c: KubeClient, signal: AbortSignal) =>
    (
      await c.request<{ items?: Lease[] }>('GET', LEASES, {
        query: { labelSelector: `${LEDGER_LABEL}=true,${RESOURCE_LABEL}=${resource}` },
        signal,
      })
    ).items ?? [];
  return {
    async deletedAt(signal) {
      let latest: number | undefined;
      for (const lease of await resourceRecords(await client(), signal)) {
        const text = lease.metadata.annotations?.[RECORD_ANNOTATION];
        const deleted = text ? (JSON.parse(text) as LedgerRecord).deleted : undefined;
        if (deleted !== undefined && (latest === undefined || deleted > latest)) latest = deleted;
      }
      return latest;
    },
    async removeOthers(signal) {
      const c = await client();
      for (const lease of await resourceRecords(c, signal)) {
        if (lease.metadata.name === name) continue;
        await removeLease(c, lease, signal);
      }
    },
    async read(signal) {
      const lease = await (await client()).getOrUndefined<Lease>(path, signal);
      const text = lease?.metadata.annotations?.[RECORD_ANNOTATION];
      if (!lease || !text) return undefined;
      return { record: JSON.parse(text) as LedgerRecord, version: lease.metadata.resourceVersion ?? '' };
    },
    async create(record, signal) {
      const c = await client();
      try {
        await c.request('POST', LEASES, { body: leaseOf(name, resource, record), signal, retryErrorStatus: false });
      } catch (error) {
        if (isStatus(error, 409)) return false;
        throw error;
      }
      void sweep(c, clusterName);
      return true;
    },
    async replace(record, version, signal) {
      try {
        await (
          await client()
        ).request('PUT', path, { body: leaseOf(name, resource, record, version), signal, retryErrorStatus: false });
      } catch (error) {
        if (isStatus(error, 409) || isStatus(error, 404)) return false;
        throw error;
      }
      return true;
    },
  };
}

/** Removes records no delivery can need any more; best effort, at most every few minutes. */
async function sweep(client: KubeClient, clusterName: string): Promise<void> {
  const now = Date.now();
  if (now - (lastSweep.get(clusterName) ?? 0) < SWEEP_EVERY_MS) return;
  lastSweep.set(clusterName, now);
  try {
    const list = await client.request<{ items?: Lease[] }>('GET', LEASES, {
      query: { labelSelector: `${LEDGER_LABEL}=true` },
      signal: AbortSignal.timeout(5_000),
    });
    for (const lease of list.items ?? []) {
      const renewed = Date.parse(lease.spec.renewTime ?? '');
      if (!(now - renewed > RECORD_LIFETIME_MS)) continue;
      await removeLease(client, lease, AbortSignal.timeout(5_000)).catch(() => undefined);
    }
  } catch {
    // Next time.
  }
}

/** Deletes one record, if it is still the version read; gone already or rewritten since is fine. */
async function removeLease(client: KubeClient, lease: Lease, signal: AbortSignal): Promise<void> {
  try {
    await client.request('DELETE', `${LEASES}/${lease.metadata.name}`, {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { resourceVersion: lease.metadata.resourceVersion },
      },
      signal,
      retryErrorStatus: false,
    });
  } catch (error) {
    if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
  }
}
