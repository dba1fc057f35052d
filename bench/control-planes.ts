/**
 * What one more EKS cluster costs the local cloud. Each AWS::EKS::Cluster gets a control plane of its
 * own (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, with its EKS
 * authenticator, pod network and cloud emulation), started when the engine creates the cluster. This
 * starts the local cloud (LocalDeployment, as npm start does), then asks its control-plane service
 * for a first cluster, then a second one beside it (two stacks side by side), as the engine's
 * CreateCluster does, and prints for each: the time until the service answered (the control plane
 * serving, its controllers' start-up work done, its baseline inventory taken), and the memory of its
 * processes once idle (proportional set size from /proc/<pid>/smaps_rollup, so the binaries' shared
 * pages count once between the two), by component; then the time of DeleteCluster's stop (its last
 * inventory and helm list included).
 *
 *   npx tsx bench/control-planes.ts            (BENCH_RUNS=3 for more rounds; default 1)
 */
process.env.TZ = 'UTC';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { LocalDeployment, type LocalCluster } from '../scripts/local';
import { median, runs, table } from './lib';

/** Proportional set size of a process in MiB (0 once it is gone). */
function pssMiB(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** By component: setpriv execs the binary in place, so a component's pid is its own. */
const memory = (c: LocalCluster) => Object.fromEntries(c.processes.map((p) => [p.name, pssMiB(p.pid)]));
const total = (m: Record<string, number>) => Object.values(m).reduce((s, v) => s + v, 0);

async function main() {
  const n = runs(1);
  let t = Date.now();
  const local = await LocalDeployment.start(() => undefined);
  const cloudMs = Date.now() - t;
  const { endpoint, token } = local.controlPlanes;
  const call = async (method: string, name: string) => {
    const started = Date.now();
    const res = await fetch(`${endpoint}/clusters/123456789012/us-east-1/${name}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`${method} ${name}: ${res.status} ${await res.text()}`);
    return Date.now() - started;
  };
  const rows: Array<Record<string, string | number>> = [];
  const times = { first: [] as number[], second: [] as number[], stop: [] as number[] };
  let byComponent: Record<string, number> = {};
  try {
    for (let i = 0; i < n; i++) {
      const first = await call('PUT', `bench-a-${i}`);
      const second = await call('PUT', `bench-b-${i}`);
      times.first.push(first);
      times.second.push(second);
      // Idle a moment: start-up allocations settle (Go's heap, etcd's first snapshot).
      await new Promise((r) => setTimeout(r, 5_000));
      const memA = memory(local.controlPlane(`bench-a-${i}`).cluster);
      const memB = memory(local.controlPlane(`bench-b-${i}`).cluster);
      byComponent = memB;
      rows.push(
        { round: i + 1, cluster: 'first', 'ready ms': first, 'PSS MiB': Math.round(total(memA)) },
        { round: i + 1, cluster: 'second (beside the first)', 'ready ms': second, 'PSS MiB': Math.round(total(memB)) },
      );
      t = Date.now();
      await call('DELETE', `bench-a-${i}`);
      times.stop.push(Date.now() - t);
      await call('DELETE', `bench-b-${i}`);
    }
  } finally {
    await local.stop();
  }
  console.log(`${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(2)} at the end; local cloud up in ${cloudMs} ms`);
  console.log(table(rows));
  console.log(
    `\nmedian: first cluster ready in ${Math.round(median(times.first))} ms, second ${Math.round(median(times.second))} ms; DeleteCluster's stop ${Math.round(median(times.stop))} ms`,
  );
  console.log('\nsecond control plane by component (PSS MiB, idle):');
  console.log(
    table(Object.entries(byComponent).map(([component, mib]) => ({ component, 'PSS MiB': Math.round(mib) }))),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
