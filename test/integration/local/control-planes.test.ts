// The control-plane service the engine calls at CreateCluster and DeleteCluster: one real control
// plane per EKS cluster name, started once however many times it is asked for, stopped on delete
// (after the hook that takes its last inventory), refused without the service's token.
import {
  startControlPlaneService,
  startLocalCluster,
  type ControlPlane,
  type ControlPlaneService,
} from '../../../scripts/local';

let service: ControlPlaneService<ControlPlane>;
const starts: string[] = [];
const hooked: string[] = [];

beforeAll(async () => {
  service = await startControlPlaneService<ControlPlane>({
    start: async (key) => {
      starts.push(key.name);
      if (key.name === 'broken') throw new Error('kube-apiserver exited with code 1');
      const cluster = await startLocalCluster({ nodes: false, name: key.name });
      return { key, cluster, stop: () => cluster.stop() };
    },
    beforeStop: async (plane) => {
      hooked.push(`${plane.key.name} at ${plane.cluster.server}`);
    },
  });
}, 120_000);

afterAll(async () => {
  await service?.close();
});

const call = (method: string, path: string, token: string | undefined = service.token) =>
  fetch(`${service.endpoint}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('without its token the service refuses every call', async () => {
  const res = await call('PUT', '/clusters/123456789012/us-east-1/anyone', 'wrong');

  expect(res.status).toBe(401);
  expect(starts).toEqual([]);
});

test('two requests for one cluster start one control plane; another name gets its own', async () => {
  const [a1, a2] = await Promise.all([
    call('PUT', '/clusters/123456789012/us-east-1/a'),
    call('PUT', '/clusters/123456789012/us-east-1/a'),
  ]);
  const b = await call('PUT', '/clusters/123456789012/us-east-1/b');

  const [first, again, other] = (await Promise.all([a1.json(), a2.json(), b.json()])) as Array<{
    server: string;
    caData: string;
    version: string;
  }>;
  expect([a1.status, a2.status, b.status]).toEqual([200, 200, 200]);
  expect(again).toEqual(first);
  expect(other!.server).not.toBe(first!.server);
  expect(other!.caData).not.toBe(first!.caData);
  expect(first!.version).toMatch(/^v1\.\d+\.\d+$/);
  expect(starts).toEqual(['a', 'b']);
  expect((await (await call('GET', '/clusters')).json()) as unknown[]).toHaveLength(2);
}, 120_000);

test('a delete runs the hook, stops that control plane only, and a second delete is 404', async () => {
  const a = service.running().find((p) => p.key.name === 'a')!;

  const deleted = await call('DELETE', '/clusters/123456789012/us-east-1/a');

  expect(deleted.status).toBe(200);
  expect(hooked).toEqual([`a at ${a.cluster.server}`]);
  expect(a.cluster.processes.filter((p) => isAlive(p.pid))).toEqual([]);
  expect(service.running().map((p) => p.key.name)).toEqual(['b']);
  expect((await call('DELETE', '/clusters/123456789012/us-east-1/a')).status).toBe(404);
}, 60_000);

test('a control plane that fails to start answers 500 with the reason, and is tried again on the next request', async () => {
  const first = await call('PUT', '/clusters/123456789012/us-east-1/broken');
  const second = await call('PUT', '/clusters/123456789012/us-east-1/broken');

  expect(first.status).toBe(500);
  expect(((await first.json()) as { message: string }).message).toBe('kube-apiserver exited with code 1');
  expect(second.status).toBe(500);
  expect(starts.filter((n) => n === 'broken')).toHaveLength(2);
});

test('close() stops every control plane still running', async () => {
  const b = service.running().find((p) => p.key.name === 'b')!;

  await service.close();

  expect(b.cluster.processes.filter((p) => isAlive(p.pid))).toEqual([]);
  expect(service.running()).toEqual([]);
}, 60_000);
