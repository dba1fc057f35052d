/**
 * Apply throughput: 200 objects — 5 namespaces, one CRD and 50 of its objects, and 144 built-in
 * objects of mixed kinds (ConfigMaps, Secrets, ServiceAccounts, Services, Deployments, Roles,
 * RoleBindings, NetworkPolicies in each namespace; ClusterRoles and ClusterRoleBindings) — applied,
 * then deleted and waited for until gone, on one local control plane, in one run:
 *
 * - `kubectl`: kubectl 1.33 on the same files. `kubectl apply --server-side -f` cannot map custom
 *   objects before their CRD exists, so it runs as a person must run it: the namespaces and CRD
 *   file, `kubectl wait --for=condition=Established`, then the rest. Delete is one
 *   `kubectl delete --wait -f` of both files.
 * - `handler (warm)`: the bundled KubeProvider's handler called in this process, as a warm Lambda
 *   container runs it (a CloudFormation event in, the response PUT out; its client, connections
 *   and discovery cache kept from the previous request, as a warm container keeps them).
 * - `handler (cold)`: the same package run by the local Lambda stand-in, a fresh Node process per
 *   request, as a cold Lambda container runs it.
 *
 * The handler applies with `Wait: none` (kubectl apply does not wait for rollouts either; both
 * wait for the CRD). A last row applies with `Wait: ready` (Deployments Available) for reference.
 * The ratio is handler ÷ kubectl; the target is ≤ 0.5 for apply and for delete.
 *
 * What the figures are made of (seen with `-v=6`): kubectl apply spends most of its time loading
 * the OpenAPI v3 documents of every group before its first PATCH, then applies one object after
 * the other; `kubectl delete --wait` polls each object for its disappearance through its client-side
 * rate limiter (about 5 requests/s). The handler applies each dependency level concurrently (16
 * requests in flight) and polls only what is left. Neither can beat the namespace controller,
 * which starts removing a namespace 5 s after its deletion (its grace period for HA API servers).
 *
 *   npx tsx bench/kube-apply.ts            (BENCH_RUNS=9 for more runs; default 5)
 */
process.env.TZ = 'UTC';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { bundleProvider } from '../scripts/dev/build/bundle';
import { readZip } from '../scripts/dev/build/zip';
import { ensureKubectl } from '../scripts/dev/binaries';
import { startLocalCluster } from '../scripts/local';
import type { CloudFormationEvent, LambdaContext } from '../functions/src/runtime';
import { cfnEvent, lambdaContext } from '../test/helpers/events';
import { clusterAccessEnv, ProviderHarness } from '../test/helpers/provider-harness';
import { ResponseServer } from '../test/helpers/response-server';
import { ratioRows, runs, table } from './lib';

const execFileAsync = promisify(execFile);
const root = resolve(__dirname, '..');
const TYPE = 'Custom::KubeManifest';
type Step = 'apply' | 'delete';

type Obj = Record<string, unknown>;

/** The 200 objects, split as kubectl needs them: foundation (namespaces + CRD) and the rest. */
export function objects(prefix: string): { foundation: Obj[]; rest: Obj[] } {
  const group = 'bench.kubecfn.io';
  const foundation: Obj[] = [];
  const rest: Obj[] = [];
  const namespaces = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
  for (const ns of namespaces) foundation.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  foundation.push({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer' }, colour: { type: 'string' } } },
              },
            },
          },
        },
      ],
    },
  });
  for (const ns of namespaces) {
    const meta = (name: string) => ({ name, namespace: ns, labels: { app: name } });
    for (let i = 0; i < 10; i++)
      rest.push({
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: meta(`widget-${i}`),
        spec: { size: i, colour: 'blue' },
      });
    for (let i = 0; i < 10; i++)
      rest.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta(`config-${i}`),
        data: { 'app.properties': `index=${i}\nname=config-${i}\n` },
      });
    for (let i = 0; i < 5; i++)
      rest.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: meta(`secret-${i}`),
        type: 'Opaque',
        stringData: { password: `pw-${i}` },
      });
    for (let i = 0; i < 3; i++) rest.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(`sa-${i}`) });
    for (let i = 0; i < 3; i++)
      rest.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(`svc-${i}`),
        spec: { selector: { app: `web-${i % 2}` }, ports: [{ port: 80, targetPort: 8080 }] },
      });
    for (let i = 0; i < 2; i++) {
      rest.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta(`web-${i}`),
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: `web-${i}` } },
          template: {
            metadata: { labels: { app: `web-${i}` } },
            spec: { serviceAccountName: 'sa-0', containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      });
    }
    for (let i = 0; i < 2; i++) {
      rest.push({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(`role-${i}`),
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      });
      rest.push({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(`binding-${i}`),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `role-${i}` },
        subjects: [{ kind: 'ServiceAccount', name: `sa-${i}`, namespace: ns }],
      });
    }
    rest.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('deny-ingress'),
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
  }
  for (let i = 0; i < 2; i++) {
    rest.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${prefix}-reader-${i}` },
      rules: [{ apiGroups: [group], resources: ['widgets'], verbs: ['get'] }],
    });
    rest.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${prefix}-reader-${i}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${prefix}-reader-${i}` },
      subjects: [{ kind: 'ServiceAccount', name: 'sa-0', namespace: namespaces[0] }],
    });
  }
  return { foundation, rest };
}

export const toYaml = (docs: Obj[]) => docs.map((d) => stringify(d)).join('---\n');

async function main() {
  const n = runs(5);
  const work = mkdtempSync(join(tmpdir(), 'kubecfn-bench-apply-'));
  const pkg = await bundleProvider(
    join(root, 'functions', 'src', 'providers', 'kube-provider.ts'),
    join(work, 'packages'),
  );
  const kubectl = await ensureKubectl();
  const cluster = await startLocalCluster();
  const responses = await ResponseServer.start();
  const environment = { ...clusterAccessEnv(cluster), KUBECFN_LOG_LEVEL: 'WARN' };
  const harness = await ProviderHarness.start([
    { name: 'KubeProvider', zipFile: pkg.zipFile, timeoutSeconds: 900, environment },
  ]);
  try {
    // The warm handler: the package's own index.js, loaded once into this process.
    const codeDir = join(work, 'code');
    for (const [name, file] of await readZip(pkg.zipFile)) {
      mkdirSync(join(codeDir, name, '..'), { recursive: true });
      writeFileSync(join(codeDir, name), file.data);
    }
    Object.assign(process.env, environment);
    type Handler = (e: CloudFormationEvent, c: LambdaContext) => Promise<void>;
    const loaded = (await import(join(codeDir, 'index.js'))) as { handler?: Handler; default?: { handler: Handler } };
    const handler = (loaded.handler ?? loaded.default?.handler)!;
    let seq = 0;
    const physicalId = (logicalId: string) => `local/teststack/${logicalId}`;
    const warm = async (type: CloudFormationEvent['RequestType'], props: Obj, logicalId: string) => {
      const id = `warm${++seq}`;
      const event = cfnEvent(type, TYPE, props, {
        ResponseURL: responses.url(id),
        LogicalResourceId: logicalId,
        ...(type === 'Create' ? {} : { PhysicalResourceId: physicalId(logicalId) }),
      });
      await handler(event, lambdaContext('KubeProvider', id));
      const body = responses.bodiesFor(id)[0];
      if (body?.Status !== 'SUCCESS') throw new Error(`warm handler ${type} failed: ${body?.Reason}`);
    };
    const cold = async (type: CloudFormationEvent['RequestType'], props: Obj, logicalId: string) => {
      const r = await harness.send('KubeProvider', type, TYPE, props, {
        LogicalResourceId: logicalId,
        ...(type === 'Create' ? {} : { PhysicalResourceId: physicalId(logicalId) }),
      });
      if (r.answer.Status !== 'SUCCESS') throw new Error(`cold handler ${type} failed: ${r.answer.Reason}`);
    };
    const home = join(work, 'home');
    mkdirSync(home);
    const cli = (...args: string[]) =>
      execFileAsync(kubectl, args, {
        env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: cluster.kubeconfigPath },
        maxBuffer: 16 * 1024 * 1024,
      });

    type Way = (step: Step) => Promise<void>;
    const viaHandler = (send: typeof warm, prefix: string, wait: 'none' | 'ready'): Way => {
      const { foundation, rest } = objects(prefix);
      const props = {
        ClusterName: 'local',
        Manifest: toYaml([...foundation, ...rest]),
        Wait: wait,
        TimeoutSeconds: 600,
      };
      return (step) => send(step === 'apply' ? 'Create' : 'Delete', props, prefix.replace(/-/g, ''));
    };
    const viaKubectl = (prefix: string): Way => {
      const { foundation, rest } = objects(prefix);
      const dir = join(work, prefix);
      mkdirSync(dir);
      writeFileSync(join(dir, 'foundation.yaml'), toYaml(foundation));
      writeFileSync(join(dir, 'objects.yaml'), toYaml(rest));
      return async (step) => {
        if (step === 'apply') {
          await cli('apply', '--server-side', '-f', join(dir, 'foundation.yaml'));
          await cli('wait', '--for=condition=Established', '--timeout=600s', 'crd/widgets.bench.kubecfn.io');
          await cli('apply', '--server-side', '-f', join(dir, 'objects.yaml'));
        } else {
          await cli(
            'delete',
            '--wait=true',
            '--timeout=600s',
            '-f',
            join(dir, 'objects.yaml'),
            '-f',
            join(dir, 'foundation.yaml'),
          );
        }
      };
    };
    // Each way has its own names (the CRD is shared: the same widgets.bench.kubecfn.io each time).
    const ways: Record<string, Way> = {
      kubectl: viaKubectl('cli'),
      'handler (warm)': viaHandler(warm, 'warm', 'none'),
      'handler (cold)': viaHandler(cold, 'cold', 'none'),
      'handler (warm), Wait: ready': viaHandler(warm, 'ready', 'ready'),
    };
    const times: Record<string, Record<Step, number[]>> = {};
    for (const w of Object.keys(ways)) times[w] = { apply: [], delete: [] };

    // One untimed round each (caches, first connections), then the rounds, the ways interleaved.
    for (const way of Object.values(ways)) for (const step of ['apply', 'delete'] as Step[]) await way(step);
    for (let i = 1; i <= n; i++) {
      for (const [name, way] of Object.entries(ways)) {
        for (const step of ['apply', 'delete'] as Step[]) {
          const t = performance.now();
          await way(step);
          times[name]![step].push(performance.now() - t);
        }
      }
    }

    const rows = ratioRows(times, ['apply', 'delete'] as Step[], 'kubectl');
    const { foundation, rest } = objects('x');
    console.log(
      `${foundation.length + rest.length} objects, kubectl ${(await cli('version', '--client', '-o', 'json')).stdout.match(/"gitVersion":\s*"([^"]+)"/)?.[1]}, ${n} runs each (medians), local control plane ${cluster.version} with kwok nodes\n`,
    );
    console.log(table(rows));
    console.log(`\ntarget: handler ≤ 0.5× kubectl for apply and for delete`);
  } finally {
    await harness.stop();
    await responses.stop();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
