/**
 * The request ledger of the Kubernetes resources (functions/src/resources/request-ledger.ts) on a
 * real kube-apiserver: one Lease per request while the resource lives; once its Delete has
 * succeeded, only that Delete's record stays (the tombstone), and a late delivery of a request
 * issued before that Delete is told so (stale) instead of working again.
 */
import { KubeConfig, CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import {
  createLogger,
  LedgerSession,
  type CloudFormationEvent,
  type ResponseBody,
} from '../../../functions/src/runtime';
import {
  clusterLedger,
  LEDGER_LABEL,
  RESOURCE_LABEL,
  resourceKey,
} from '../../../functions/src/resources/request-ledger';
import { useLocalCluster } from '../../helpers/cluster';

const cluster = useLocalCluster({ nodes: false });
const logger = createLogger('LedgerTest');
const savedEnv = { ...process.env };
let leases: CoordinationV1Api;

beforeAll(() => {
  const c = cluster();
  process.env.KUBECFN_CLUSTER_ACCESS = JSON.stringify({
    ledger: { server: c.server, caData: c.caData, token: c.token },
  });
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfigPath);
  leases = kc.makeApiClient(CoordinationV1Api);
});
afterAll(() => {
  process.env = savedEnv;
});

const stackId = `arn:aws:cloudformation:us-east-1:000000000000:stack/ledger-${Date.now()}/0f4c7e60-0000-11ef-0000-000000000000`;
let requestNumber = 0;

function event(type: CloudFormationEvent['RequestType'], logicalId = 'Manifest'): CloudFormationEvent {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:KubeProvider',
    ResponseURL: 'http://127.0.0.1:9/unused',
    StackId: stackId,
    RequestId: `request-${++requestNumber}`,
    LogicalResourceId: logicalId,
    ResourceType: 'Custom::KubeManifest',
    ResourceProperties: { ServiceToken: 'x', ClusterName: 'ledger' },
  };
}

const answer = (status: ResponseBody['Status'] = 'SUCCESS'): ResponseBody => ({
  Status: status,
  PhysicalResourceId: 'phys',
  StackId: stackId,
  RequestId: 'r',
  LogicalResourceId: 'Manifest',
});

/** Runs one delivery of `e` through the ledger: claim, answer, finish. Returns the claim. */
async function deliver(e: CloudFormationEvent, issuedAt: number) {
  const store = clusterLedger('ledger', e);
  const { claim, session } = await LedgerSession.claim(
    store,
    { holder: `holder-${e.RequestId}`, attempt: 0, invocationEnd: Date.now() + 60_000, issuedAt },
    logger,
    AbortSignal.timeout(10_000),
  );
  if (session) {
    await session.settle(answer(), 10_000, e.RequestType === 'Delete');
    await session.finish(10_000);
  }
  return claim;
}

async function recordsOf(e: CloudFormationEvent): Promise<V1Lease[]> {
  const list = await leases.listNamespacedLease({
    namespace: 'kube-system',
    labelSelector: `${LEDGER_LABEL}=true,${RESOURCE_LABEL}=${resourceKey(e)}`,
  });
  return list.items;
}

describe('request ledger on a real API server', () => {
  test('after the Delete only its tombstone stays; a late delivery of an earlier request is stale', async () => {
    const create = event('Create');
    const update = event('Update');
    const del = event('Delete');
    const t0 = Date.now() - 1_000;
    expect((await deliver(create, t0)).kind).toBe('mine');
    expect((await deliver(update, t0 + 10)).kind).toBe('mine');
    expect(await recordsOf(create)).toHaveLength(2);

    expect((await deliver(del, t0 + 20)).kind).toBe('mine');
    const left = await recordsOf(create);
    expect(left.map((l) => l.spec?.holderIdentity)).toEqual(['deleted']);

    // Lambda delivers the Create again, late: its record is gone, the tombstone says it is stale.
    const late = await deliver({ ...create }, t0);
    expect(late.kind).toBe('stale');
    expect(await recordsOf(create)).toHaveLength(1);

    // A duplicate of the Delete itself finds its answer.
    expect((await deliver({ ...del }, t0 + 20)).kind).toBe('answered');
  });

  test('a request issued after the Delete (the logical id added back) works, and its own Delete replaces the tombstone', async () => {
    const del = event('Delete', 'AddedBack');
    expect((await deliver(del, Date.now() - 1_000)).kind).toBe('mine');
    const again = event('Create', 'AddedBack');
    expect((await deliver(again, Date.now() + 1_000)).kind).toBe('mine');
    const delAgain = event('Delete', 'AddedBack');
    expect((await deliver(delAgain, Date.now() + 2_000)).kind).toBe('mine');
    const left = await recordsOf(del);
    expect(left).toHaveLength(1);
    expect(left[0]!.metadata?.annotations?.['kubecfn.io/request-record']).toContain('"deleted"');
  });

  test('without a signing time in the ResponseURL the tombstone is not consulted', async () => {
    const del = event('Delete', 'NoTime');
    expect((await deliver(del, Date.now() - 1_000)).kind).toBe('mine');
    const create = event('Create', 'NoTime');
    const store = clusterLedger('ledger', create);
    const { claim, session } = await LedgerSession.claim(
      store,
      { holder: 'h', attempt: 0, invocationEnd: Date.now() + 60_000 },
      logger,
      AbortSignal.timeout(10_000),
    );
    session?.stop();
    expect(claim.kind).toBe('mine');
  });
});
