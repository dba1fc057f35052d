/**
 * Custom::AwsAuth through the bundled KubeProvider (each invocation its own Node process, as in
 * Lambda) against a real kube-apiserver: concurrent owners, a hand-written aws-auth that must keep
 * its bytes, failures that name the property and the other owner, deletes after the ConfigMap or
 * the cluster is gone.
 */
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../../functions/src/kube';
import type { CloudFormationEvent } from '../../../functions/src/runtime';
import { apiServerStore, updateAwsAuth, type AwsAuthStore } from '../../../functions/src/resources/aws-auth/config-map';
import type { Mappings, RoleMapping, UserMapping } from '../../../functions/src/resources/aws-auth/mappings';
import { OWNERS_ANNOTATION } from '../../../functions/src/resources/aws-auth/merge';
import type { Invocation } from '../../../scripts/local';
import { startMoto, type MotoServer } from '../../../scripts/local';
import { useLocalCluster } from '../../helpers/cluster';
import { packageZip, ProviderHarness, type Exchange } from '../../helpers/provider-harness';
import {
  ALICE,
  HAND_WRITTEN_MAP_ROLES,
  HAND_WRITTEN_MAP_USERS,
  handWrittenData,
  NODE_ROLE,
  role,
  user,
} from '../../unit/resources/aws-auth/fixtures';

const TYPE = 'Custom::AwsAuth';
const FN = 'KubeProvider';
const OWNERS = 20;

const cluster = useLocalCluster({ nodes: false });
let h: ProviderHarness;
let moto: MotoServer;
let core: CoreV1Api;

beforeAll(async () => {
  moto = await startMoto();
  const c = cluster();
  const access = { server: c.server, caData: c.caData, token: c.token };
  h = await ProviderHarness.start([
    {
      name: FN,
      zipFile: packageZip('KubeProvider'),
      // Generous: 20 cold Node processes at once on a small, busy machine take a while to start.
      timeoutSeconds: 120,
      environment: {
        // Two names for the one local cluster (to move a resource between "clusters"); any other
        // name is looked up with DescribeCluster in moto, which knows no cluster at all.
        KUBECFN_CLUSTER_ACCESS: JSON.stringify({ local: access, 'local-too': access }),
        AWS_ENDPOINT_URL_EKS: moto.endpoint,
      },
    },
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  // One invocation first, alone: the local Lambda unpacks the package on a function's first
  // invocation, and 20 first invocations at once would unpack it over each other.
  const warmUp = await send(
    'Delete',
    { ClusterName: 'local' },
    { PhysicalResourceId: 'teststack-WarmUp-000000000000' },
  );
  expect(answerOf(warmUp).Status).toBe('SUCCESS');
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await moto?.stop();
});

// --- helpers ---------------------------------------------------------------------------------

const target = { name: 'aws-auth', namespace: 'kube-system' };

async function readAwsAuth(): Promise<V1ConfigMap | undefined> {
  try {
    return await core.readNamespacedConfigMap(target);
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

async function deleteAwsAuth(): Promise<void> {
  await core.deleteNamespacedConfigMap(target).catch((error: { code?: number }) => {
    if (error.code !== 404) throw error;
  });
}

/** The hand-written aws-auth, as a cluster admin would have applied it. */
async function writeHandWritten(): Promise<void> {
  await deleteAwsAuth();
  await core.createNamespacedConfigMap({
    namespace: 'kube-system',
    body: { metadata: target, data: handWrittenData() },
  });
}

/** What CloudFormation sends: lists as JSON arrays of strings; some owners give YAML text instead. */
function properties(
  mappings: Mappings,
  opts: { asYaml?: boolean; clusterName?: string } = {},
): Record<string, unknown> {
  const toYaml = (list: unknown[]) => (list.length === 0 ? '' : stringify(list));
  return {
    ClusterName: opts.clusterName ?? 'local',
    MapRoles: opts.asYaml ? toYaml(mappings.mapRoles) : mappings.mapRoles,
    MapUsers: mappings.mapUsers,
    MapAccounts: mappings.mapAccounts,
  };
}

const send = (
  requestType: CloudFormationEvent['RequestType'],
  props: Record<string, unknown>,
  extra: Partial<CloudFormationEvent> = {},
) => h.send(FN, requestType, TYPE, props, extra);

/** The one answer, or an error that says what the invocation did instead (timed out, failed to load). */
function answerOf(x: Exchange) {
  if (x.bodies.length === 1) return x.bodies[0]!;
  const f = x.first;
  throw new Error(
    `${x.event.LogicalResourceId} ${x.event.RequestType}: ${x.bodies.length} answers; first invocation timedOut=${f.timedOut} ` +
      `durationMs=${f.durationMs} error=${f.errorType ?? ''}: ${f.errorMessage ?? ''}; logs: ${f.logs.slice(0, 3000)}`,
  );
}

const logPointer = (inv: Invocation) => ` (log: /aws/lambda/${inv.functionName} local/${inv.requestId})`;

const byArn = (a: { rolearn?: string; userarn?: string }, b: { rolearn?: string; userarn?: string }) =>
  (a.rolearn ?? a.userarn ?? '').localeCompare(b.rolearn ?? b.userarn ?? '');

/** The map EKS would read from aws-auth: the hand-written entries plus every owner's, each identity once. */
function expectedMap(all: Mappings[]) {
  const roles = new Map<string, RoleMapping>();
  const users = new Map<string, UserMapping>();
  const accounts = new Set<string>();
  for (const m of all) {
    for (const r of m.mapRoles) roles.set(r.rolearn, r);
    for (const u of m.mapUsers) users.set(u.userarn, u);
    for (const a of m.mapAccounts) accounts.add(a);
  }
  return {
    mapRoles: [...parse(HAND_WRITTEN_MAP_ROLES), ...roles.values()].sort(byArn),
    mapUsers: [...parse(HAND_WRITTEN_MAP_USERS), ...users.values()].sort(byArn),
    mapAccounts: [...accounts].sort(),
  };
}

function actualMap(cm: V1ConfigMap | undefined) {
  const list = (key: string) => (parse(cm?.data?.[key] ?? '') ?? []) as Array<{ rolearn?: string; userarn?: string }>;
  return {
    mapRoles: list('mapRoles').sort(byArn),
    mapUsers: list('mapUsers').sort(byArn),
    mapAccounts: (list('mapAccounts') as unknown as string[]).sort(),
  };
}

const owners = (cm: V1ConfigMap | undefined) =>
  JSON.parse(cm?.metadata?.annotations?.[OWNERS_ANNOTATION] ?? '{}') as Record<string, Record<string, string[]>>;

// --- the concurrent owners -------------------------------------------------------------------

const SHARED: RoleMapping = { rolearn: role('shared'), username: 'ci-deployer', groups: ['deployers'] };
const account = (i: number) => `3000000000${String(i).padStart(2, '0')}`;

/** Owner i at Create: its own role; every other one also the shared role; some a user or an account. */
function createMappings(i: number): Mappings {
  return {
    mapRoles: [
      { rolearn: role(i), username: `team-${i}`, groups: [`team-${i}`, 'developers'] },
      ...(i % 2 === 0 ? [SHARED] : []),
    ],
    mapUsers: i % 4 === 0 ? [{ userarn: user(i), username: `dev-${i}`, groups: ['developers'] }] : [],
    mapAccounts: i % 5 === 0 ? [account(i)] : [],
  };
}

/** Owner i at Update: a changed mapping, or a different role; sharing, users and accounts moved around. */
function updateMappings(i: number): Mappings {
  return {
    mapRoles: [
      i % 3 === 0
        ? { rolearn: role(`${i}b`), username: `team-${i}b`, groups: ['developers'] }
        : { rolearn: role(i), username: `team-${i}-v2`, groups: [`team-${i}`] },
      ...(i % 4 === 0 ? [SHARED] : []),
    ],
    mapUsers: i % 4 === 1 ? [{ userarn: user(i), username: `dev-${i}`, groups: ['developers'] }] : [],
    mapAccounts: i % 5 <= 1 ? [account(i)] : [],
  };
}

/** Claims as the annotation records them, for owner i's mappings. */
const claimsOf = (m: Mappings) => {
  const out: Record<string, string[]> = {};
  if (m.mapRoles.length) out.mapRoles = m.mapRoles.map((r) => r.rolearn);
  if (m.mapUsers.length) out.mapUsers = m.mapUsers.map((u) => u.userarn);
  if (m.mapAccounts.length) out.mapAccounts = m.mapAccounts;
  return out;
};

describe('20 owners at once, beside a hand-written aws-auth', () => {
  test('create, update and delete concurrently: no entry lost, exactly the expected map, the hand-written lines untouched', async () => {
    // given the hand-written aws-auth
    await writeHandWritten();
    const ids = Array.from({ length: OWNERS }, (_, i) => i);

    // when 20 owners are created at once
    const started = Date.now();
    const created = await Promise.all(
      ids.map((i) =>
        send('Create', properties(createMappings(i), { asYaml: i % 3 === 1 }), { LogicalResourceId: `Auth${i}` }),
      ),
    );

    // then each succeeded, and aws-auth holds exactly the hand-written entries plus theirs
    for (const [i, x] of created.entries()) {
      expect(answerOf(x)).toMatchObject({
        Status: 'SUCCESS',
        Data: {
          RoleCount: String(createMappings(i).mapRoles.length),
          UserCount: i % 4 === 0 ? '1' : '0',
          AccountCount: i % 5 === 0 ? '1' : '0',
        },
      });
    }
    const physicalIds = created.map((x) => x.answer.PhysicalResourceId);
    expect(new Set(physicalIds).size).toBe(OWNERS);
    let cm = await readAwsAuth();
    expect(cm!.data!.mapRoles!.startsWith(HAND_WRITTEN_MAP_ROLES)).toBe(true);
    expect(cm!.data!.mapUsers!.startsWith(HAND_WRITTEN_MAP_USERS)).toBe(true);
    expect(actualMap(cm)).toEqual(expectedMap(ids.map(createMappings)));
    expect(owners(cm)).toEqual(Object.fromEntries(ids.map((i) => [physicalIds[i], claimsOf(createMappings(i))])));

    const createdMs = Date.now() - started;

    // when all 20 are updated at once
    const updateStarted = Date.now();
    const updated = await Promise.all(
      ids.map((i) =>
        send('Update', properties(updateMappings(i)), {
          LogicalResourceId: `Auth${i}`,
          PhysicalResourceId: physicalIds[i],
          OldResourceProperties: properties(createMappings(i)),
        }),
      ),
    );

    const updatedMs = Date.now() - updateStarted;

    // then each kept its id, and the map is exactly the new one
    for (const [i, x] of updated.entries())
      expect(answerOf(x)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalIds[i] });
    cm = await readAwsAuth();
    expect(cm!.data!.mapRoles!.startsWith(HAND_WRITTEN_MAP_ROLES)).toBe(true);
    expect(cm!.data!.mapUsers!.startsWith(HAND_WRITTEN_MAP_USERS)).toBe(true);
    expect(actualMap(cm)).toEqual(expectedMap(ids.map(updateMappings)));
    expect(owners(cm)).toEqual(Object.fromEntries(ids.map((i) => [physicalIds[i], claimsOf(updateMappings(i))])));

    // when half are deleted at once, then exactly the other half's entries remain
    const half = ids.filter((i) => i % 2 === 1);
    const rest = ids.filter((i) => i % 2 === 0);
    const deleteOwner = (i: number) =>
      send('Delete', properties(updateMappings(i)), {
        LogicalResourceId: `Auth${i}`,
        PhysicalResourceId: physicalIds[i],
      });
    for (const x of await Promise.all(half.map(deleteOwner))) expect(answerOf(x).Status).toBe('SUCCESS');
    cm = await readAwsAuth();
    expect(actualMap(cm)).toEqual(expectedMap(rest.map(updateMappings)));
    expect(Object.keys(owners(cm)).sort()).toEqual(rest.map((i) => physicalIds[i]).sort());

    // when the rest are deleted at once, then aws-auth is the hand-written one, byte for byte
    for (const x of await Promise.all(rest.map(deleteOwner))) expect(answerOf(x).Status).toBe('SUCCESS');
    cm = await readAwsAuth();
    expect(cm!.data).toEqual(handWrittenData());
    expect(cm!.metadata!.annotations?.[OWNERS_ANNOTATION]).toBeUndefined();

    // Not an assertion (a race cannot be forced through 20 processes); the deterministic conflict test is below.
    const races = [...created, ...updated].filter((x) => x.first.logs.includes('lost a race')).length;
    console.log(
      `aws-auth concurrency: ${races} of ${2 * OWNERS} create/update invocations lost at least one write race and retried; ` +
        `20 creates answered in ${createdMs} ms, 20 updates in ${updatedMs} ms (each invocation its own Node process)`,
    );
  }, 300_000);

  test('a write that races another writer gets a real 409 Conflict from the API server, re-reads and keeps both changes', async () => {
    // given the hand-written aws-auth, and a store that lets another writer in between read and write
    await writeHandWritten();
    const c = cluster();
    const client = new KubeClient({ clusterName: 'local', server: c.server, caData: c.caData, token: c.token });
    const real = apiServerStore(client);
    let interloped = false;
    const racing: AwsAuthStore = {
      ...real,
      async replace(cm) {
        if (!interloped) {
          interloped = true;
          const now = (await readAwsAuth())!;
          await core.replaceNamespacedConfigMap({
            ...target,
            body: { ...now, data: { ...now.data, mapAccounts: '- "444455556666"\n' } },
          });
        }
        return real.replace(cm);
      },
    };
    const infos: string[] = [];

    // when an owner writes through it
    const outcome = await updateAwsAuth(
      racing,
      'stack-Racer-1',
      { mapRoles: [{ rolearn: role('racer'), username: 'racer', groups: ['g'] }], mapUsers: [], mapAccounts: [] },
      {
        remainingMs: () => 30_000,
        logger: { info: (m) => infos.push(String(m)), warn: (m) => infos.push(String(m)) },
      },
    ).finally(() => client.close());

    // then the first write lost (409), the second went through, and neither change is lost
    expect(outcome).toMatchObject({ done: true, attempts: 2 });
    expect(infos).toContain('aws-auth write lost a race or failed transiently; retrying');
    const cm = await readAwsAuth();
    expect(cm!.data).toEqual({
      mapRoles: `${HAND_WRITTEN_MAP_ROLES}- rolearn: ${role('racer')}\n  username: racer\n  groups:\n    - g\n`,
      mapUsers: HAND_WRITTEN_MAP_USERS,
      mapAccounts: '- "444455556666"\n',
    });
  });
});

describe('after the deadline guard has answered', () => {
  test('a write whose step signal aborts between its read and its write never reaches the API server', async () => {
    // given the hand-written aws-auth, and the step's signal, aborted (the guard answering FAILED)
    // while the store reads the ConfigMap
    await writeHandWritten();
    const before = (await readAwsAuth())!;
    const c = cluster();
    const client = new KubeClient({ clusterName: 'local', server: c.server, caData: c.caData, token: c.token });
    const guard = new AbortController();
    const real = apiServerStore(client, { signal: guard.signal });
    const store: AwsAuthStore = {
      ...real,
      async read() {
        const cm = await real.read();
        guard.abort(new Error('the deadline guard answered'));
        return cm;
      },
    };

    // when an owner would map system:masters
    const outcome = await updateAwsAuth(
      store,
      'stack-Late-1',
      {
        mapRoles: [{ rolearn: role('late'), username: 'late', groups: ['system:masters'] }],
        mapUsers: [],
        mapAccounts: [],
      },
      { remainingMs: () => 30_000, logger: { info: () => undefined, warn: () => undefined }, signal: guard.signal },
    )
      .catch((e: unknown) => e)
      .finally(() => client.close());

    // then the step stops with the guard's reason, and aws-auth is exactly as it was
    expect(outcome).toEqual(new Error('the deadline guard answered'));
    const after = (await readAwsAuth())!;
    expect(after.metadata!.resourceVersion).toBe(before.metadata!.resourceVersion);
    expect(after.data).toEqual(before.data);
  });
});

// --- failures ----------------------------------------------------------------------------------

describe('failures name the property and the other owner, and change nothing', () => {
  let before: V1ConfigMap;
  let ownerA: string;

  beforeAll(async () => {
    await writeHandWritten();
    const a = await send(
      'Create',
      properties({
        mapRoles: [{ rolearn: role('a'), username: 'team-a', groups: ['team-a'] }],
        mapUsers: [],
        mapAccounts: [],
      }),
      { LogicalResourceId: 'TeamA' },
    );
    expect(a.answer.Status).toBe('SUCCESS');
    ownerA = a.answer.PhysicalResourceId;
    before = (await readAwsAuth())!;
  });

  afterEach(async () => {
    const after = (await readAwsAuth())!;
    expect(after.data).toEqual(before.data);
    expect(after.metadata!.annotations).toEqual(before.metadata!.annotations);
  });

  test('a malformed role ARN, a user ARN under MapRoles, missing groups', async () => {
    const { answer, first } = await send('Create', {
      ClusterName: 'local',
      MapRoles: [
        { rolearn: 'arn:aws:iam::1234:role/short-account', username: 'x', groups: ['x'] },
        { rolearn: ALICE, username: 'x', groups: ['x'] },
      ],
      MapUsers: [{ userarn: user(1), username: 'dev-1' }],
    });
    expect(answer).toMatchObject({
      Status: 'FAILED',
      Reason:
        'Invalid properties for Custom::AwsAuth: ' +
        'MapRoles[0].rolearn: expected an IAM role ARN like arn:aws:iam::111122223333:role/NAME, got "arn:aws:iam::1234:role/short-account"; ' +
        `MapRoles[1].rolearn: expected an IAM role ARN, got a user ARN ("${ALICE}"); map IAM users under MapUsers; ` +
        `MapUsers[0].groups: required property is missing${logPointer(first)}`,
    });
  });

  test('another owner maps the role differently: FAILED names it and its mapping', async () => {
    const { answer, first } = await send(
      'Create',
      properties({
        mapRoles: [
          { rolearn: role('b'), username: 'b', groups: ['b'] },
          { rolearn: role('a'), username: 'admin', groups: ['system:masters'] },
        ],
        mapUsers: [],
        mapAccounts: [],
      }),
      { LogicalResourceId: 'TeamB' },
    );
    expect(answer).toMatchObject({
      Status: 'FAILED',
      Reason: `MapRoles[1]: ${role('a')} is already mapped by ${ownerA} as username team-a groups [team-a], not as username admin groups [system:masters]${logPointer(first)}`,
      PhysicalResourceId: expect.stringMatching(/^kubecfn:create-failed:TeamB:/),
    });
  });

  test('the hand-written node role mapped differently: FAILED says no Custom::AwsAuth manages it', async () => {
    const { answer, first } = await send(
      'Create',
      properties({
        mapRoles: [{ rolearn: NODE_ROLE, username: 'node', groups: ['system:masters'] }],
        mapUsers: [],
        mapAccounts: [],
      }),
    );
    expect(answer.Reason).toBe(
      `MapRoles[0]: ${NODE_ROLE} is already mapped by an entry no Custom::AwsAuth manages (written by hand, by EKS or by another tool) as username system:node:{{EC2PrivateDNSName}} groups [system:bootstrappers, system:nodes], not as username node groups [system:masters]${logPointer(first)}`,
    );
  });

  test('an update that would take over another owner’s role fails, and the owner keeps its old entries', async () => {
    const { answer, first } = await send(
      'Update',
      properties({
        mapRoles: [
          { rolearn: role('a'), username: 'team-a', groups: ['team-a'] },
          { rolearn: ALICE.replace(':user/ops/', ':role/'), username: 'alice', groups: ['x'] },
        ],
        mapUsers: [{ userarn: ALICE, username: 'mallory', groups: ['ops-readers'] }],
        mapAccounts: [],
      }),
      {
        PhysicalResourceId: ownerA,
        LogicalResourceId: 'TeamA',
        OldResourceProperties: properties({
          mapRoles: [{ rolearn: role('a'), username: 'team-a', groups: ['team-a'] }],
          mapUsers: [],
          mapAccounts: [],
        }),
      },
    );
    expect(answer).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: ownerA,
      Reason: `MapUsers[0]: ${ALICE} is already mapped by an entry no Custom::AwsAuth manages (written by hand, by EKS or by another tool) as username alice groups [ops-readers], not as username mallory groups [ops-readers]${logPointer(first)}`,
    });
  });

  test('a provider identity RBAC does not let write aws-auth: FAILED with the API server’s own message', async () => {
    // given a provider whose token belongs to a service account that may read aws-auth but not write it
    const kc = new KubeConfig();
    kc.loadFromFile(cluster().kubeconfigPath);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const name = 'aws-auth-reader';
    await core.createNamespacedServiceAccount({ namespace: 'kube-system', body: { metadata: { name } } });
    await rbac.createNamespacedRole({
      namespace: 'kube-system',
      body: {
        metadata: { name },
        rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['aws-auth'], verbs: ['get'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'kube-system',
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: 'kube-system' }],
      },
    });
    const { status } = await core.createNamespacedServiceAccountToken({
      name,
      namespace: 'kube-system',
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const c = cluster();
    const readOnly = await ProviderHarness.start([
      {
        name: FN,
        zipFile: packageZip('KubeProvider'),
        timeoutSeconds: 120,
        environment: {
          KUBECFN_CLUSTER_ACCESS: JSON.stringify({
            local: { server: c.server, caData: c.caData, token: status!.token },
          }),
        },
      },
    ]);
    try {
      // when it maps a role
      const { answer, first } = await readOnly.send(
        FN,
        'Create',
        TYPE,
        properties({
          mapRoles: [{ rolearn: role('ro'), username: 'ro', groups: ['ro'] }],
          mapUsers: [],
          mapAccounts: [],
        }),
      );

      // then the API server's refusal is the Reason
      expect(answer.Reason).toBe(
        `updating ConfigMap kube-system/aws-auth: configmaps "aws-auth" is forbidden: User "system:serviceaccount:kube-system:${name}" cannot update resource "configmaps" in API group "" in the namespace "kube-system"${logPointer(first)}`,
      );
    } finally {
      await readOnly.stop();
      await rbac.deleteNamespacedRoleBinding({ name, namespace: 'kube-system' });
      await rbac.deleteNamespacedRole({ name, namespace: 'kube-system' });
      await core.deleteNamespacedServiceAccount({ name, namespace: 'kube-system' });
    }
  });

  test('a cluster that does not exist fails Create with EKS’s answer', async () => {
    const { answer, first } = await send(
      'Create',
      properties(
        { mapRoles: [{ rolearn: role('x'), username: 'x', groups: ['x'] }], mapUsers: [], mapAccounts: [] },
        { clusterName: 'no-such-cluster' },
      ),
    );
    expect(answer.Reason).toBe(
      `ClusterName 'no-such-cluster': cluster not found in region us-east-1${logPointer(first)}`,
    );
  });
});

// --- delete when things are gone, replacement ------------------------------------------------

describe('delete', () => {
  const mappings: Mappings = {
    mapRoles: [{ rolearn: role('gone'), username: 'gone', groups: ['g'] }],
    mapUsers: [],
    mapAccounts: [],
  };

  test('creates aws-auth when there is none; Delete after the ConfigMap was deleted by hand succeeds and recreates nothing', async () => {
    await deleteAwsAuth();
    const created = await send('Create', properties(mappings));
    expect(created.answer).toMatchObject({
      Status: 'SUCCESS',
      Data: { RoleCount: '1', UserCount: '0', AccountCount: '0' },
    });
    expect((await readAwsAuth())!.data).toEqual({
      mapRoles: `- rolearn: ${role('gone')}\n  username: gone\n  groups:\n    - g\n`,
    });

    await deleteAwsAuth();
    const deleted = await send('Delete', properties(mappings), {
      PhysicalResourceId: created.answer.PhysicalResourceId,
    });
    expect(deleted.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.answer.PhysicalResourceId });
    expect(await readAwsAuth()).toBeUndefined();
  });

  test('the aws-auth a Custom::AwsAuth created goes with its last owner, and stays while anything else is in it', async () => {
    // given no aws-auth, two owners: the first creates it, the second adds to it
    await deleteAwsAuth();
    const other: Mappings = {
      mapRoles: [{ rolearn: role('other'), username: 'other', groups: ['g'] }],
      mapUsers: [],
      mapAccounts: [],
    };
    const first = await send('Create', properties(mappings), { LogicalResourceId: 'Creator' });
    const second = await send('Create', properties(other), { LogicalResourceId: 'Joiner' });
    expect([first.answer.Status, second.answer.Status]).toEqual(['SUCCESS', 'SUCCESS']);

    // when the creator is deleted, the ConfigMap stays with the other owner's entry
    const creatorGone = await send('Delete', properties(mappings), {
      LogicalResourceId: 'Creator',
      PhysicalResourceId: first.answer.PhysicalResourceId,
    });
    expect(creatorGone.answer.Status).toBe('SUCCESS');
    expect(actualMap(await readAwsAuth()).mapRoles).toEqual(other.mapRoles);

    // when the last owner is deleted, the ConfigMap a Custom::AwsAuth created goes too
    const lastGone = await send('Delete', properties(other), {
      LogicalResourceId: 'Joiner',
      PhysicalResourceId: second.answer.PhysicalResourceId,
    });
    expect(lastGone.answer.Status).toBe('SUCCESS');
    expect(await readAwsAuth()).toBeUndefined();

    // given one it created, to which someone added an entry by hand: Delete leaves that entry and the ConfigMap
    const again = await send('Create', properties(mappings), { LogicalResourceId: 'Creator' });
    const cm = (await readAwsAuth())!;
    await core.replaceNamespacedConfigMap({
      ...target,
      body: {
        ...cm,
        data: { ...cm.data, mapUsers: `- userarn: ${user('by-hand')}\n  username: by-hand\n  groups: [g]\n` },
      },
    });
    const kept = await send('Delete', properties(mappings), {
      LogicalResourceId: 'Creator',
      PhysicalResourceId: again.answer.PhysicalResourceId,
    });
    expect(kept.answer.Status).toBe('SUCCESS');
    const left = await readAwsAuth();
    expect(left!.data).toEqual({ mapUsers: `- userarn: ${user('by-hand')}\n  username: by-hand\n  groups: [g]\n` });
    expect(left!.metadata!.annotations?.[OWNERS_ANNOTATION]).toBeUndefined();
    await deleteAwsAuth();
  });

  test('Delete succeeds when the cluster is gone (DescribeCluster: not found)', async () => {
    const deleted = await send('Delete', properties(mappings, { clusterName: 'deleted-cluster' }), {
      PhysicalResourceId: 'teststack-Auth-0123456789ab',
    });
    expect(deleted.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'teststack-Auth-0123456789ab' });
  });

  test('a new ClusterName is a replacement: new id maps in the new cluster; the old id’s Delete cleans only its own', async () => {
    // given an owner in "local" (the same API server answers to "local-too")
    await writeHandWritten();
    const created = await send('Create', properties(mappings), { LogicalResourceId: 'Moving' });
    const oldId = created.answer.PhysicalResourceId;

    // when its ClusterName changes
    const updated = await send('Update', properties(mappings, { clusterName: 'local-too' }), {
      LogicalResourceId: 'Moving',
      PhysicalResourceId: oldId,
      OldResourceProperties: properties(mappings),
    });

    // then it answers a new id, and both ids claim the (shared, identical) entry until the old one is deleted
    const newId = updated.answer.PhysicalResourceId;
    expect(updated.answer.Status).toBe('SUCCESS');
    expect(newId).not.toBe(oldId);
    expect(Object.keys(owners(await readAwsAuth()))).toEqual([oldId, newId]);
    const deleted = await send('Delete', properties(mappings), {
      LogicalResourceId: 'Moving',
      PhysicalResourceId: oldId,
    });
    expect(deleted.answer.Status).toBe('SUCCESS');
    const cm = await readAwsAuth();
    expect(owners(cm)).toEqual({ [newId]: { mapRoles: [role('gone')] } });
    expect(cm!.data!.mapRoles).toBe(
      `${HAND_WRITTEN_MAP_ROLES}- rolearn: ${role('gone')}\n  username: gone\n  groups:\n    - g\n`,
    );

    // and deleting the new id restores the hand-written aws-auth
    await send('Delete', properties(mappings, { clusterName: 'local-too' }), {
      LogicalResourceId: 'Moving',
      PhysicalResourceId: newId,
    });
    expect((await readAwsAuth())!.data).toEqual(handWrittenData());
  });
});
