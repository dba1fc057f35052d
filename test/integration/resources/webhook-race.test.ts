/**
 * The admission-webhook race, as in EKS right after the AWS Load Balancer Controller's chart is
 * installed: a mutating webhook with `failurePolicy: Fail` whose Service has no endpoints yet makes
 * the API server refuse the objects it intercepts (`failed calling webhook "…": … no endpoints
 * available for service "…"`). Custom::KubeManifest and Custom::HelmRelease (the bundled providers,
 * each invocation its own Node process) apply through it within their time budget: the apply
 * succeeds once the webhook answers (a real HTTPS webhook server started half-way) or its
 * configuration goes; one that never answers fails naming the webhook; a webhook that answers with a
 * denial is not retried.
 *
 * The API server runs with `--enable-aggregator-routing=true`, as EKS calls webhooks at their
 * Service's endpoints: that is what makes "no endpoints available" the error here, as there.
 */
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  KubeConfig,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ensureHelm } from '../../../scripts/dev/binaries';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness, type Exchange } from '../../helpers/provider-harness';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = useLocalCluster({ nodes: false, apiserverArgs: ['--enable-aggregator-routing=true'] });
let h: ProviderHarness;
let kc: KubeConfig;
let work: string;
let tls: { cert: string; key: string };

/** A loopback port nothing listens on (yet). */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kubecfn-webhook-race-'));
  // The webhook server's certificate: self-signed for 127.0.0.1, given to the API server as caBundle.
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    join(work, 'tls.key'),
    '-out',
    join(work, 'tls.crt'),
  ]);
  tls = { cert: readFileSync(join(work, 'tls.crt'), 'utf8'), key: readFileSync(join(work, 'tls.key'), 'utf8') };
  // A chart of one ConfigMap, packaged with the function (file://race).
  const chart = join(work, 'charts', 'race');
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: race\nversion: 0.1.0\n');
  writeFileSync(
    join(chart, 'templates', 'config.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  from: chart\n',
  );
  const environment = {
    ...clusterAccessEnv(cluster()),
    HELM_BINARY: await ensureHelm(),
    KUBECFN_CHART_PATH: join(work, 'charts'),
  };
  h = await ProviderHarness.start([
    { name: 'KubeProvider', zipFile: packageZip('KubeProvider'), timeoutSeconds: 60, environment },
    { name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 60, environment },
    // A short Lambda timeout: the wait for the webhook goes on in the next invocation.
    { name: 'ShortKubeProvider', zipFile: packageZip('KubeProvider'), timeoutSeconds: 10, environment },
  ]);
  kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  rmSync(work, { recursive: true, force: true });
});

const core = () => kc.makeApiClient(CoreV1Api);
const admission = () => kc.makeApiClient(AdmissionregistrationV1Api);
const notFound = (e: unknown) => e instanceof ApiException && e.code === 404;
/** The Reason without the log-stream pointer the runtime appends. */
const reason = (answer: { Reason?: string }) => answer.Reason?.replace(/ \(log: [^)]*\)$/, '');
const logsOf = (x: Exchange) => x.invocations.map((i) => i.logs).join('\n');

/** A namespace whose ConfigMaps and Services the test's webhook intercepts, and a Service without endpoints. */
async function raceNamespace(name: string): Promise<void> {
  await core().createNamespace({ body: { metadata: { name, labels: { 'kubecfn-test/webhook': name } } } });
  await core().createNamespacedService({
    namespace: name,
    body: { metadata: { name: 'webhook-service' }, spec: { ports: [{ port: 443, targetPort: 9443 }] } },
  });
}

/** A mutating webhook with failurePolicy Fail on ConfigMaps and Services of `namespace`. */
async function registerWebhook(
  namespace: string,
  clientConfig: NonNullable<V1MutatingWebhookConfiguration['webhooks']>[number]['clientConfig'],
): Promise<string> {
  const webhook = `mconfigmap.${namespace}.kubecfn.io`;
  await admission().createMutatingWebhookConfiguration({
    body: {
      metadata: { name: namespace },
      webhooks: [
        {
          name: webhook,
          clientConfig,
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 5,
          namespaceSelector: { matchLabels: { 'kubecfn-test/webhook': namespace } },
          rules: [
            {
              operations: ['CREATE', 'UPDATE'],
              apiGroups: [''],
              apiVersions: ['v1'],
              resources: ['configmaps', 'services'],
            },
          ],
        },
      ],
    },
  });
  // The API server takes up a new webhook configuration a moment later: probe until it refuses.
  for (;;) {
    try {
      await core().createNamespacedConfigMap({ namespace, body: { metadata: { name: 'probe' } } });
      await core().deleteNamespacedConfigMap({ namespace, name: 'probe' });
    } catch (error) {
      if (error instanceof ApiException && /failed calling webhook/.test(String(error.body))) {
        // The API server counts the probe's refusal a moment after answering it: the count starts from it.
        await calledAndFailed(webhook, 0);
        return webhook;
      }
      throw error;
    }
    await sleep(200);
  }
}

/**
 * How many times the API server has failed to call `webhook` (its `calling_webhook_error` rejections,
 * from its own metrics): a test removes or starts the webhook only once the provider has met it.
 */
async function callFailures(webhook: string): Promise<number> {
  const c = cluster();
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      `${c.server}/metrics`,
      { ca: c.caData, headers: { authorization: `Bearer ${c.token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('apiserver_admission_webhook_rejection_count{') &&
        l.includes('error_type="calling_webhook_error"') &&
        l.includes(`name="${webhook}"`),
    )
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Resolves once the API server has failed to call `webhook` more often than `before` times. */
async function calledAndFailed(webhook: string, before: number): Promise<void> {
  while ((await callFailures(webhook)) <= before) await sleep(250);
}

const removeWebhook = (name: string) =>
  admission()
    .deleteMutatingWebhookConfiguration({ name })
    .catch((e: unknown) => {
      if (!notFound(e)) throw e;
    });

/** An HTTPS admission webhook on `port`: allows (adding a label) or denies every request. */
function startWebhookServer(port: number, verdict: 'allow' | 'deny'): Promise<Server & { reviews: number }> {
  const server = Object.assign(
    createHttpsServer(tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        server.reviews++;
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string } };
        const patch = [{ op: 'add', path: '/metadata/labels', value: { 'mutated-by': 'race-webhook' } }];
        const response =
          verdict === 'allow'
            ? {
                uid: review.request.uid,
                allowed: true,
                patchType: 'JSONPatch',
                patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
              }
            : { uid: review.request.uid, allowed: false, status: { code: 403, message: 'no ConfigMaps here' } };
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      });
    }),
    { reviews: 0 },
  );
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

const manifest = (namespace: string) =>
  [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace }, data: { a: '1' } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'frontend', namespace },
      spec: { selector: { app: 'frontend' }, ports: [{ port: 80 }] },
    },
  ]
    .map((d) => stringify(d))
    .join('---\n');

const readConfigMap = (namespace: string, name: string) =>
  core()
    .readNamespacedConfigMap({ namespace, name })
    .catch((e: unknown) => {
      if (notFound(e)) return undefined;
      throw e;
    });

describe('Custom::KubeManifest through a webhook that cannot be called yet', () => {
  test('the webhook configuration goes half-way: the apply, retried, succeeds', async () => {
    // given a webhook with failurePolicy Fail whose Service has no endpoints
    await raceNamespace('race-gone');
    const webhook = await registerWebhook('race-gone', {
      service: { namespace: 'race-gone', name: 'webhook-service', path: '/mutate', port: 443 },
    });

    // when the manifest is applied, and the webhook configuration is removed once the apply has met
    // it twice (the client retries a 500 once by itself; the second refusal reaches the provider)
    const failures = await callFailures(webhook);
    const removed = calledAndFailed(webhook, failures + 1).then(() => removeWebhook('race-gone'));
    const x = await h.send('KubeProvider', 'Create', 'Custom::KubeManifest', {
      ClusterName: 'local',
      Manifest: manifest('race-gone'),
      TimeoutSeconds: 60,
    });
    await removed;

    // then it succeeded after retrying the webhook's "no endpoints available"
    expect(reason(x.answer)).toBeUndefined();
    expect(x.answer.Status).toBe('SUCCESS');
    expect(logsOf(x)).toContain('an admission webhook cannot be called yet');
    expect(logsOf(x)).toContain(webhook);
    expect((await readConfigMap('race-gone', 'settings'))?.data).toEqual({ a: '1' });
  }, 120_000);

  test('the webhook starts answering half-way, across invocations: its mutation is in the applied objects', async () => {
    // given a webhook at an address where nothing listens yet (connection refused)
    await raceNamespace('race-late');
    const port = await unusedPort();
    const webhook = await registerWebhook('race-late', {
      url: `https://127.0.0.1:${port}/mutate`,
      caBundle: Buffer.from(tls.cert).toString('base64'),
    });

    // when the manifest is applied by a provider with a 10 s Lambda timeout, and the webhook server
    // starts once the apply has met it, after more than one invocation's time
    let server: (Server & { reviews: number }) | undefined;
    const failures = await callFailures(webhook);
    const started = calledAndFailed(webhook, failures)
      .then(() => sleep(12_000))
      .then(async () => (server = await startWebhookServer(port, 'allow')));
    try {
      const x = await h.send('ShortKubeProvider', 'Create', 'Custom::KubeManifest', {
        ClusterName: 'local',
        Manifest: manifest('race-late'),
        TimeoutSeconds: 90,
      });
      await started;

      // then the apply went on in a later invocation and succeeded; the webhook mutated both objects
      expect(reason(x.answer)).toBeUndefined();
      expect(x.answer.Status).toBe('SUCCESS');
      expect(x.invocations.length).toBeGreaterThan(1);
      expect(logsOf(x)).toContain('connection refused');
      expect(logsOf(x)).toContain(webhook);
      expect(server!.reviews).toBeGreaterThanOrEqual(2);
      expect((await readConfigMap('race-late', 'settings'))?.metadata?.labels).toEqual({
        'mutated-by': 'race-webhook',
      });
      const svc = await core().readNamespacedService({ namespace: 'race-late', name: 'frontend' });
      expect(svc.metadata?.labels).toEqual({ 'mutated-by': 'race-webhook' });
    } finally {
      await started;
      await new Promise((ok) => server?.close(ok));
      await removeWebhook('race-late');
    }
  }, 180_000);

  test('a webhook that never gets endpoints: FAILED naming it, after TimeoutSeconds, nothing left behind', async () => {
    await raceNamespace('race-never');
    const webhook = await registerWebhook('race-never', {
      service: { namespace: 'race-never', name: 'webhook-service', path: '/mutate', port: 443 },
    });
    try {
      const x = await h.send('KubeProvider', 'Create', 'Custom::KubeManifest', {
        ClusterName: 'local',
        Manifest: manifest('race-never'),
        TimeoutSeconds: 8,
      });

      expect(x.answer.Status).toBe('FAILED');
      expect(reason(x.answer)).toMatch(
        new RegExp(
          `^Manifest\\[0\\] \\(v1 ConfigMap race-never/settings\\): the API server could not call the admission webhook "${webhook.replace(/\./g, '\\.')}" \\(no endpoints available for service "webhook-service"\\): the webhook's Service had no ready endpoints \\(the pods serving it were not running or not ready\\); retried for \\d+ s, until 8 s \\(TimeoutSeconds\\) ran out$`,
        ),
      );
      expect(await readConfigMap('race-never', 'settings')).toBeUndefined();
    } finally {
      await removeWebhook('race-never');
    }
  }, 120_000);

  test('a webhook that answers with a denial is not retried', async () => {
    await raceNamespace('race-deny');
    const port = await unusedPort();
    const server = await startWebhookServer(port, 'deny');
    try {
      const webhook = `mconfigmap.race-deny.kubecfn.io`;
      await admission().createMutatingWebhookConfiguration({
        body: {
          metadata: { name: 'race-deny' },
          webhooks: [
            {
              name: webhook,
              clientConfig: {
                url: `https://127.0.0.1:${port}/mutate`,
                caBundle: Buffer.from(tls.cert).toString('base64'),
              },
              failurePolicy: 'Fail',
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              namespaceSelector: { matchLabels: { 'kubecfn-test/webhook': 'race-deny' } },
              rules: [
                { operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] },
              ],
            },
          ],
        },
      });
      // Until the API server has taken the configuration up, a ConfigMap goes through unseen.
      while (server.reviews === 0) {
        await core()
          .createNamespacedConfigMap({ namespace: 'race-deny', body: { metadata: { name: 'probe' } } })
          .then(() => core().deleteNamespacedConfigMap({ namespace: 'race-deny', name: 'probe' }))
          .catch(() => undefined);
        await sleep(200);
      }

      const x = await h.send('KubeProvider', 'Create', 'Custom::KubeManifest', {
        ClusterName: 'local',
        Manifest: manifest('race-deny'),
        TimeoutSeconds: 60,
      });

      expect(x.answer.Status).toBe('FAILED');
      expect(reason(x.answer)).toContain(`admission webhook "${webhook}" denied the request: no ConfigMaps here`);
      expect(logsOf(x)).not.toContain('cannot be called yet');
    } finally {
      await new Promise((ok) => server.close(ok));
      await removeWebhook('race-deny');
    }
  }, 120_000);
});

describe('Custom::HelmRelease through a webhook that cannot be called yet', () => {
  test('the webhook configuration goes half-way: the install, retried, succeeds', async () => {
    await raceNamespace('race-helm');
    const webhook = await registerWebhook('race-helm', {
      service: { namespace: 'race-helm', name: 'webhook-service', path: '/mutate', port: 443 },
    });

    const failures = await callFailures(webhook);
    const removed = calledAndFailed(webhook, failures).then(() => removeWebhook('race-helm'));
    const x = await h.send('HelmProvider', 'Create', 'Custom::HelmRelease', {
      ClusterName: 'local',
      Chart: 'file://race',
      Namespace: 'race-helm',
      ReleaseName: 'race',
      Wait: false,
      TimeoutSeconds: 60,
    });
    await removed;

    expect(reason(x.answer)).toBeUndefined();
    expect(x.answer.Status).toBe('SUCCESS');
    expect(x.answer.Data).toMatchObject({ Status: 'deployed' });
    expect(logsOf(x)).toContain('an admission webhook cannot be called yet');
    expect(logsOf(x)).toContain(webhook);
    expect((await readConfigMap('race-helm', 'race-config'))?.data).toEqual({ from: 'chart' });
  }, 120_000);

  test('a webhook that never gets endpoints: FAILED naming it, and the failed install is removed', async () => {
    await raceNamespace('race-helm-never');
    const webhook = await registerWebhook('race-helm-never', {
      service: { namespace: 'race-helm-never', name: 'webhook-service', path: '/mutate', port: 443 },
    });
    try {
      const x = await h.send('HelmProvider', 'Create', 'Custom::HelmRelease', {
        ClusterName: 'local',
        Chart: 'file://race',
        Namespace: 'race-helm-never',
        ReleaseName: 'race',
        Wait: false,
        TimeoutSeconds: 10,
      });

      expect(x.answer.Status).toBe('FAILED');
      expect(reason(x.answer)).toMatch(
        new RegExp(
          `^helm upgrade --install of release race in namespace race-helm-never: the API server could not call the admission webhook "${webhook.replace(/\./g, '\\.')}" \\(no endpoints available for service "webhook-service"\\): the webhook's Service had no ready endpoints \\(the pods serving it were not running or not ready\\); retried for \\d+ s, until 10 s \\(TimeoutSeconds\\) ran out: `,
        ),
      );
      const secrets = await core().listNamespacedSecret({ namespace: 'race-helm-never', labelSelector: 'owner=helm' });
      expect(secrets.items.map((s) => s.metadata?.name)).toEqual([]);
    } finally {
      await removeWebhook('race-helm-never');
    }
  }, 120_000);
});
