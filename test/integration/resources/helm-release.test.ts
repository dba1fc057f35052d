// Custom::HelmRelease end to end: the bundled HelmProvider, run by the local Lambda stand-in with
// the real helm binary (the one the layer carries), installs real charts into the local control
// plane. No network: charts are test data (test/fixtures/charts), built, packaged and served here.
import { ApiException, ApiextensionsV1Api, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureHelm } from '../../../scripts/dev/binaries';
import { startMoto, type MotoServer } from '../../../scripts/local';
import { useLocalCluster } from '../../helpers/cluster';
import { ownerLabelOf } from '../../../functions/src/resources/helm-release/ownership';
import { cfnEvent } from '../../helpers/events';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const execFileAsync = promisify(execFile);
const fixtures = resolve(__dirname, '../../fixtures/charts');
const TYPE = 'Custom::HelmRelease';

describe('Custom::HelmRelease', () => {
  const cluster = useLocalCluster();
  let h: ProviderHarness;
  let moto: MotoServer;
  let helmBin: string;
  let work: string;
  let repo: Server;
  let repoUrl: string;
  let kc: KubeConfig;
  let registry: Server;
  let registryHost: string;
  let caFile: string;
  let ecr: Awaited<ReturnType<typeof startOciRegistry>>;
  let proxy: Server;
  let proxied: string[];
  let environment: Record<string, string>;
  /** An ECR registry name; an HTTPS proxy in the test leads helm to the local registry standing in for it. */
  const ecrHost = '210987654321.dkr.ecr.us-east-1.amazonaws.com';
  /** The password moto's GetAuthorizationToken gives for that account. */
  const ecrPassword = '210987654321-auth-token';

  /** helm as a person would run it against the same cluster. */
  const helm = async (...args: string[]) =>
    (
      await execFileAsync(helmBin, args, {
        env: {
          PATH: process.env.PATH,
          HOME: join(work, 'home'),
          KUBECONFIG: cluster().kubeconfigPath,
          ...(caFile ? { SSL_CERT_FILE: caFile } : {}),
        },
      })
    ).stdout;
  const history = async (name: string, namespace: string) =>
    JSON.parse(await helm('history', name, '-n', namespace, '-o', 'json')) as Array<{
      revision: number;
      status: string;
      description: string;
    }>;
  const releases = async (namespace: string) =>
    (
      JSON.parse(await helm('list', '-n', namespace, '--all', '-o', 'json')) as Array<{ name: string; status: string }>
    ).map((r) => `${r.name}:${r.status}`);

  const core = () => kc.makeApiClient(CoreV1Api);
  const apps = () => kc.makeApiClient(AppsV1Api);
  const notFound = (e: unknown) => e instanceof ApiException && e.code === 404;
  const configMessage = async (namespace: string, name: string) =>
    (await core().readNamespacedConfigMap({ name, namespace })).data?.message;
  /** Names of what a release left in a namespace: ConfigMaps, Deployments, Services and helm's release Secrets. */
  const leftovers = async (namespace: string, release: string) => {
    const [cms, deps, svcs, secrets] = await Promise.all([
      core().listNamespacedConfigMap({ namespace }),
      apps().listNamespacedDeployment({ namespace }),
      core().listNamespacedService({ namespace }),
      core().listNamespacedSecret({ namespace }),
    ]);
    const ours = (o: { metadata?: { name?: string; annotations?: Record<string, string> } }) =>
      o.metadata?.annotations?.['meta.helm.sh/release-name'] === release ||
      o.metadata?.name?.startsWith(`sh.helm.release.v1.${release}.`);
    return [...cms.items, ...deps.items, ...svcs.items, ...secrets.items].filter(ours).map((o) => o.metadata!.name!);
  };

  /** The Reason without the log-stream pointer the runtime appends. */
  const reason = (answer: { Reason?: string }) => answer.Reason?.replace(/ \(log: [^)]*\)$/, '');

  const send = (
    type: 'Create' | 'Update' | 'Delete',
    props: Record<string, unknown>,
    extra: Record<string, unknown> = {},
    fn = 'HelmProvider',
  ) => h.send(fn, type, TYPE, { ClusterName: 'local', ...props }, extra);

  beforeAll(async () => {
    helmBin = await ensureHelm();
    work = mkdtempSync(join(tmpdir(), 'kubecfn-helm-it-'));
    mkdirSync(join(work, 'home'));
    kc = new KubeConfig();
    kc.loadFromFile(cluster().kubeconfigPath);

    // The chart with a dependency: a copy, its file:// dependency built offline into charts/.
    const charts = join(work, 'charts');
    cpSync(fixtures, charts, { recursive: true });
    await helm('dependency', 'build', join(charts, 'parent'));

    // An HTTP chart repository: packaged charts and an index, served from loopback.
    const repoDir = join(work, 'repo');
    mkdirSync(repoDir);
    await helm('package', join(fixtures, 'web'), '--destination', repoDir);
    await helm('package', join(fixtures, 'with-crds'), '--destination', repoDir);
    repo = createServer((req, res) => {
      try {
        const body = readFileSync(
          join(
            repoDir,
            decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
              .replace(/^\/+/, '')
              .replace(/\.\./g, ''),
          ),
        );
        res.writeHead(200).end(body);
      } catch {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((ok) => repo.listen(0, '127.0.0.1', ok));
    repoUrl = `http://127.0.0.1:${(repo.address() as AddressInfo).port}`;
    await helm('repo', 'index', repoDir, '--url', repoUrl);

    // OCI registries over TLS (one CA of the test's own), holding the web chart pushed by helm:
    // an open one, and one standing in for ECR that wants the ECR password, reached through a proxy.
    ({ server: registry, caFile } = await startOciRegistry(work, { hosts: [ecrHost] }));
    registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
    await helm('push', join(repoDir, 'web-0.1.0.tgz'), `oci://${registryHost}/charts`);
    ecr = await startOciRegistry(work, { hosts: [ecrHost], auth: { username: 'AWS', password: ecrPassword }, caFile });
    const ecrLocal = `127.0.0.1:${(ecr.server.address() as AddressInfo).port}`;
    await helm('registry', 'login', ecrLocal, '--username', 'AWS', '--password', ecrPassword);
    await helm('push', join(repoDir, 'web-0.1.0.tgz'), `oci://${ecrLocal}/charts`);
    proxied = [];
    proxy = createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: IncomingMessage, socket: import('node:net').Socket) => {
      proxied.push(req.url ?? '');
      if (req.url !== `${ecrHost}:443`) return socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      const upstream = connect((ecr.server.address() as AddressInfo).port, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(socket).pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));

    // S3 (moto) with a packaged chart and a values file.
    moto = await startMoto();
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'charts' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'charts',
        Key: 'web-0.1.0.tgz',
        Body: readFileSync(join(repoDir, 'web-0.1.0.tgz')),
      }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: 'charts', Key: 'values/web.yaml', Body: 'message: from-s3\nreplicas: 2\n' }),
    );

    environment = {
      ...clusterAccessEnv(cluster()),
      HELM_BINARY: helmBin,
      KUBECFN_CHART_PATH: charts,
      AWS_ENDPOINT_URL: moto.endpoint,
      SSL_CERT_FILE: caFile,
    };
    h = await ProviderHarness.start([
      { name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 120, environment },
      // helm reaches "ECR" through the test's proxy; everything on loopback goes direct.
      {
        name: 'ProxiedHelmProvider',
        zipFile: packageZip('HelmProvider'),
        timeoutSeconds: 120,
        environment: {
          ...environment,
          HTTPS_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
          NO_PROXY: '127.0.0.1,localhost',
        },
      },
      // A short Lambda timeout: a TimeoutSeconds beyond it has to wait across invocations.
      { name: 'ShortHelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 20, environment },
    ]);
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
    await moto?.stop();
    await new Promise((ok) => (repo ? repo.close(ok) : ok(undefined)));
    for (const server of [registry, ecr?.server, proxy])
      await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    rmSync(work, { recursive: true, force: true });
  });

  describe('create', () => {
    test('installs a chart packaged with the function and answers the release data', async () => {
      // given a chart referenced by a file:// path and values as a YAML string
      const props = {
        Chart: 'file://web',
        Namespace: 'create-local',
        ReleaseName: 'web',
        Values: 'message: hi there\n',
      };

      // when
      const { answer } = await send('Create', props);

      // then
      expect(answer.Status).toBe('SUCCESS');
      expect(answer.PhysicalResourceId).toBe('helm:local:create-local/web');
      expect(answer.Data).toEqual({
        ReleaseName: 'web',
        Namespace: 'create-local',
        Revision: '1',
        Status: 'deployed',
        Chart: 'web',
        ChartVersion: '0.1.0',
        AppVersion: '1.0.0',
      });
      expect(await configMessage('create-local', 'web-config')).toBe('hi there');
      const deployment = await apps().readNamespacedDeployment({ name: 'web', namespace: 'create-local' });
      expect(deployment.status?.readyReplicas).toBe(1);
    });

    test('derives the release name from the logical id and defaults the namespace', async () => {
      const { answer } = await send('Create', { Chart: 'web' }, { LogicalResourceId: 'DefaultNamed' });

      expect(answer.Status).toBe('SUCCESS');
      expect(answer.PhysicalResourceId).toBe('helm:local:default/defaultnamed');
      expect(await releases('default')).toContain('defaultnamed:deployed');
      expect(
        (
          await send(
            'Delete',
            { Chart: 'web' },
            { LogicalResourceId: 'DefaultNamed', PhysicalResourceId: answer.PhysicalResourceId },
          )
        ).answer.Status,
      ).toBe('SUCCESS');
      expect(await leftovers('default', 'defaultnamed')).toEqual([]);
    });

    test('installs a chart with a dependency', async () => {
      const { answer } = await send('Create', { Chart: 'parent', Namespace: 'create-dep', ReleaseName: 'deps' });

      expect(answer.Status).toBe('SUCCESS');
      expect(answer.Data).toMatchObject({ Chart: 'parent', ChartVersion: '1.0.0' });
      const child = await core().readNamespacedConfigMap({ name: 'deps-child', namespace: 'create-dep' });
      expect(child.data?.greeting).toBe('from-parent');
    });

    test('installs the CRDs of crds/ unless SkipCrds', async () => {
      const crds = kc.makeApiClient(ApiextensionsV1Api);
      const name = 'widgets.test.kubecfn.io';

      // given SkipCrds: the CRD stays out, the templates go in
      const skipped = await send('Create', {
        Chart: 'with-crds',
        Namespace: 'create-crds',
        ReleaseName: 'skipped',
        SkipCrds: 'true',
      });
      expect(skipped.answer.Status).toBe('SUCCESS');
      expect(
        await crds.readCustomResourceDefinition({ name }).then(
          () => 'present',
          (e) => (notFound(e) ? 'absent' : e),
        ),
      ).toBe('absent');
      expect(
        (await core().readNamespacedConfigMap({ name: 'skipped-config', namespace: 'create-crds' })).data?.crds,
      ).toBe('in crds/');

      // when SkipCrds is false (the default)
      const installed = await send('Create', {
        Chart: 'with-crds',
        Namespace: 'create-crds',
        ReleaseName: 'with-crds',
      });

      // then
      expect(installed.answer.Status).toBe('SUCCESS');
      const crd = await crds.readCustomResourceDefinition({ name });
      expect(crd.spec.names.kind).toBe('Widget');
    });

    test('installs Repository + Chart + Version from an HTTP chart repository', async () => {
      const { answer } = await send('Create', {
        Repository: repoUrl,
        Chart: 'web',
        Version: '0.1.0',
        Namespace: 'create-repo',
        ReleaseName: 'from-repo',
      });

      expect(answer.Status).toBe('SUCCESS');
      expect(answer.Data).toMatchObject({ Chart: 'web', ChartVersion: '0.1.0', Revision: '1' });
      expect(await configMessage('create-repo', 'from-repo-config')).toBe('hello');
    });

    test("fails naming Chart, with helm's message, for a chart the repository lacks", async () => {
      const { answer } = await send('Create', {
        Repository: repoUrl,
        Chart: 'nosuch',
        Namespace: 'create-repo',
        ReleaseName: 'nosuch',
      });

      expect(answer.Status).toBe('FAILED');
      expect(reason(answer)).toBe(
        `Chart: helm could not find chart 'nosuch' in repository ${repoUrl}: Error: chart "nosuch" not found in ${repoUrl} repository`,
      );
      expect(await releases('create-repo')).toEqual(['from-repo:deployed']);
    });

    test('fails naming Version for a version the repository lacks', async () => {
      const { answer } = await send('Create', {
        Repository: repoUrl,
        Chart: 'web',
        Version: '9.9.9',
        Namespace: 'create-repo',
        ReleaseName: 'noversion',
      });

      expect(answer.Status).toBe('FAILED');
      expect(reason(answer)).toBe(
        `Version: helm found no version '9.9.9' of chart 'web' version 9.9.9 in repository ${repoUrl}: Error: chart "web" version "9.9.9" not found in ${repoUrl} repository`,
      );
    });

    test('installs an OCI chart, given as a reference or as Repository + Chart', async () => {
      const byReference = await send('Create', {
        Chart: `oci://${registryHost}/charts/web`,
        Version: '0.1.0',
        Namespace: 'create-oci',
        ReleaseName: 'oci-ref',
      });
      const byRepository = await send('Create', {
        Repository: `oci://${registryHost}/charts`,
        Chart: 'web',
        Namespace: 'create-oci',
        ReleaseName: 'oci-repo',
      });

      expect(byReference.answer.Status).toBe('SUCCESS');
      expect(byReference.answer.Data).toMatchObject({ Chart: 'web', ChartVersion: '0.1.0' });
      expect(byRepository.answer.Status).toBe('SUCCESS');
      expect(await releases('create-oci')).toEqual(['oci-ref:deployed', 'oci-repo:deployed']);
    });

    test('fails naming Chart for an OCI chart the registry lacks', async () => {
      const { answer } = await send('Create', {
        Chart: `oci://${registryHost}/charts/nosuch`,
        Version: '1.0.0',
        Namespace: 'create-oci',
        ReleaseName: 'nosuch',
      });

      expect(answer.Status).toBe('FAILED');
      expect(reason(answer)).toBe(
        `Chart: helm could not find chart oci://${registryHost}/charts/nosuch version 1.0.0: Error: failed to resolve ${registryHost}/charts/nosuch:1.0.0: ${registryHost}/charts/nosuch:1.0.0: not found`,
      );
    });

    test('logs in to an ECR registry with GetAuthorizationToken, and installs its chart; the password stays out of the logs', async () => {
      const { answer, invocations } = await send(
        'Create',
        { Chart: `oci://${ecrHost}/charts/web`, Version: '0.1.0', Namespace: 'create-ecr', ReleaseName: 'from-ecr' },
        {},
        'ProxiedHelmProvider',
      );

      expect(answer.Status).toBe('SUCCESS');
      expect(answer.Data).toMatchObject({ Chart: 'web', ChartVersion: '0.1.0' });
      expect(proxied).toContain(`${ecrHost}:443`);
      expect(ecr.authorized).toBeGreaterThan(0);
      expect(invocations.map((i) => i.logs).join('\n')).not.toContain(ecrPassword);
    });

    test('installs a packaged chart from S3 with values from S3, Values winning', async () => {
      const { answer } = await send('Create', {
        Chart: 's3://charts/web-0.1.0.tgz',
        ValuesUrl: 's3://charts/values/web.yaml',
        Values: { message: 'from-template' },
        Namespace: 'create-s3',
        ReleaseName: 'from-s3',
      });

      expect(answer.Status).toBe('SUCCESS');
      expect(await configMessage('create-s3', 'from-s3-config')).toBe('from-template');
      const deployment = await apps().readNamespacedDeployment({ name: 'from-s3', namespace: 'create-s3' });
      expect(deployment.spec?.replicas).toBe(2); // from ValuesUrl
    });

    test('fails naming Chart when the S3 object is missing', async () => {
      const { answer } = await send('Create', {
        Chart: 's3://charts/nosuch-1.0.0.tgz',
        Namespace: 'create-s3',
        ReleaseName: 'nosuch',
      });

      expect(answer.Status).toBe('FAILED');
      expect(reason(answer)).toBe(
        'Chart: could not read s3://charts/nosuch-1.0.0.tgz: NoSuchKey: The specified key does not exist.',
      );
    });

    test("a chart whose pods never become ready fails with helm's message and leaves nothing behind", async () => {
      // given a node selector no node satisfies: the pods stay Pending
      const props = {
        Chart: 'web',
        Namespace: 'create-never',
        ReleaseName: 'never',
        // a Values map's "true" would reach the chart as a boolean, as in a values file: a word
        Values: { nodeSelector: { 'kubecfn.io/nowhere': 'nowhere' } },
        TimeoutSeconds: '5',
      };

      // when
      const { answer } = await send('Create', props);

      // then
      expect(answer.Status).toBe('FAILED');
      // helm says only "context deadline exceeded": the Reason adds what is pending, and what holds it
      expect(reason(answer)).toMatch(
        /^Wait: release never in namespace create-never did not become ready within TimeoutSeconds \(5 s\): Error: context deadline exceeded; still waiting for Deployment create-never\/never: 0 of 1 replicas ready \(.*PodScheduled=False/,
      );
      expect(answer.PhysicalResourceId).toMatch(/^kubecfn:create-failed:/);
      expect(await releases('create-never')).toEqual([]);
      expect(await leftovers('create-never', 'never')).toEqual([]);
      // the namespace the failed install created goes too
      const ns = await core()
        .readNamespace({ name: 'create-never' })
        .then(
          (n) => n.status?.phase,
          (e) => (notFound(e) ? 'gone' : e),
        );
      expect(['gone', 'Terminating']).toContain(ns);
    });

    test('waits across invocations when TimeoutSeconds exceeds one invocation, and is done once ready', async () => {
      // given pods that wait for a node label, and a Lambda that times out after 20 s
      const props = {
        Chart: 'web',
        Namespace: 'create-long',
        ReleaseName: 'long',
        Values: { nodeSelector: { 'kubecfn.io/long-wait': 'ready' } },
        TimeoutSeconds: '120',
      };
      const node = 'kwok-system-0';

      // when the label arrives once the first invocation has handed over to the next
      const before = h.lambda.invocations.length;
      const sent = send('Create', props, {}, 'ShortHelmProvider');
      while (h.lambda.invocations.length === before) await new Promise((r) => setTimeout(r, 200));
      await core().patchNode({
        name: node,
        body: [{ op: 'add', path: '/metadata/labels/kubecfn.io~1long-wait', value: 'ready' }],
      });
      const { answer, invocations } = await sent;
      await core().patchNode({ name: node, body: [{ op: 'remove', path: '/metadata/labels/kubecfn.io~1long-wait' }] });

      // then
      expect(answer.Status).toBe('SUCCESS');
      expect(invocations.length).toBeGreaterThanOrEqual(2);
      expect(answer.Data).toMatchObject({ Revision: '1', Status: 'deployed' });
      const deployment = await apps().readNamespacedDeployment({ name: 'long', namespace: 'create-long' });
      expect(deployment.status?.readyReplicas).toBe(1);
    });

    test('a wait across invocations that runs out fails naming what was not ready, and uninstalls', async () => {
      const props = {
        Chart: 'web',
        Namespace: 'create-long',
        ReleaseName: 'long-never',
        // a Values map's "true" would reach the chart as a boolean, as in a values file: a word
        Values: { nodeSelector: { 'kubecfn.io/nowhere': 'nowhere' } },
        TimeoutSeconds: '30',
      };

      const { answer, invocations } = await send('Create', props, {}, 'ShortHelmProvider');

      expect(answer.Status).toBe('FAILED');
      expect(invocations.length).toBeGreaterThanOrEqual(2);
      expect(reason(answer)).toMatch(
        /^Wait: release long-never in namespace create-long did not become ready within TimeoutSeconds \(30 s\): Deployment create-long\/long-never: 0 of 1 replicas ready \(.*PodScheduled=False/,
      );
      expect(await leftovers('create-long', 'long-never')).toEqual([]);
    });

    test('recovers a release left pending-install by a killed helm', async () => {
      // given this resource's helm (its owner label) killed while it waited for an install
      await killedHelm('install', 'pending', 'create-pending', ['--create-namespace', '--labels', ownLabel]);
      expect((await history('pending', 'create-pending')).map((r) => r.status)).toEqual(['pending-install']);

      // when
      const { answer } = await send('Create', { Chart: 'web', Namespace: 'create-pending', ReleaseName: 'pending' });

      // then the pending release was uninstalled and installed afresh
      expect(answer.Status).toBe('SUCCESS');
      expect(answer.Data).toMatchObject({ Revision: '1', Status: 'deployed' });
    });

    test('rejects a ReleaseName helm would reject, naming the property', async () => {
      const { answer } = await send('Create', { Chart: 'web', ReleaseName: 'Not_Valid' });

      expect(answer.Status).toBe('FAILED');
      expect(reason(answer)).toBe(
        'Invalid properties for Custom::HelmRelease: ReleaseName: expected a DNS-1123 name (lower-case letters, digits, "-" and ".", starting and ending with a letter or digit)',
      );
    });
  });

  describe('ownership', () => {
    test('a Create never touches a release of the same name it did not install, however early it fails', async () => {
      // given a release someone installed by hand
      await helm('install', 'monitoring', join(fixtures, 'web'), '-n', 'owned-elsewhere', '--create-namespace');

      // when a Create names it with a version that does not exist, and one with a good chart
      const early = await send('Create', {
        Repository: repoUrl,
        Chart: 'web',
        Version: '9.9.9',
        Namespace: 'owned-elsewhere',
        ReleaseName: 'monitoring',
      });
      const good = await send('Create', { Chart: 'web', Namespace: 'owned-elsewhere', ReleaseName: 'monitoring' });

      // then both fail before helm runs, naming why, and the release is exactly as it was
      for (const { answer } of [early, good]) {
        expect(answer).toMatchObject({
          Status: 'FAILED',
          PhysicalResourceId: expect.stringMatching(/^kubecfn:create-failed:/),
        });
        expect(reason(answer)).toBe(
          'ReleaseName: release monitoring in namespace owned-elsewhere exists and it was installed outside this resource (no kubecfn owner label): it is left as it is; set Adopt to true to take it over (it is then upgraded, and uninstalled on Delete)',
        );
      }
      expect((await history('monitoring', 'owned-elsewhere')).map((r) => `${r.revision}:${r.status}`)).toEqual([
        '1:deployed',
      ]);
    });

    test('Adopt takes an existing release over: a failed adoption leaves it, a good one upgrades it, Delete uninstalls it', async () => {
      await helm('install', 'adoptee', join(fixtures, 'web'), '-n', 'adopt', '--create-namespace');
      const props = { Chart: 'web', Namespace: 'adopt', ReleaseName: 'adoptee', Adopt: 'true' };

      // a failed Create with Adopt: the release it did not install stays
      const failed = await send('Create', { ...props, Repository: repoUrl, Version: '9.9.9' });
      expect(failed.answer.Status).toBe('FAILED');
      expect(await releases('adopt')).toEqual(['adoptee:deployed']);

      // a good one upgrades it, and records the adoption in the release's labels
      const adopted = await send('Create', { ...props, Values: { message: 'adopted' } });
      expect(adopted.answer).toMatchObject({ Status: 'SUCCESS', Data: { Revision: '2' } });
      expect(await configMessage('adopt', 'adoptee-config')).toBe('adopted');
      const secret = await core().readNamespacedSecret({ name: 'sh.helm.release.v1.adoptee.v2', namespace: 'adopt' });
      expect(secret.metadata?.labels).toMatchObject({
        'kubecfn.io/owner': ownerLabelOf(adopted.event),
        'kubecfn.io/adopted': 'true',
      });

      // and Delete uninstalls it: it is the resource's now
      await send('Delete', props, { PhysicalResourceId: adopted.answer.PhysicalResourceId });
      expect(await releases('adopt')).toEqual([]);
    });

    test('a Create delivered twice: one invocation installs; the duplicate stays silent or sends the same answer again; the release is never uninstalled', async () => {
      const dup = await ProviderHarness.start(
        [{ name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 120, environment }],
        { duplicateAsync: true },
      );
      try {
        const props = { ClusterName: 'local', Chart: 'web', Namespace: 'duplicated', ReleaseName: 'twice' };
        const x = await dup.send('HelmProvider', 'Create', TYPE, props, {}, { async: true });

        expect(x.invocations.filter((i) => i.duplicate)).toHaveLength(1);
        expect(x.invocations.some((i) => i.logs.includes('duplicate delivery'))).toBe(true);
        // The duplicate arrives while the first works (silent) or after its answer (the recorded
        // answer again, byte for byte): either way CloudFormation reads one answer.
        expect(x.bodies.length).toBeGreaterThanOrEqual(1);
        expect(new Set(x.bodies.map((b) => JSON.stringify(b))).size).toBe(1);
        expect(x.bodies[0]).toMatchObject({ Status: 'SUCCESS', Data: { Revision: '1', Status: 'deployed' } });
        expect((await history('twice', 'duplicated')).map((r) => `${r.revision}:${r.status}`)).toEqual(['1:deployed']);
      } finally {
        await dup.stop();
      }
    });
  });

  describe('update', () => {
    test('upgrades with changed values: Revision 2, the value in the cluster', async () => {
      const props = { Chart: 'web', Namespace: 'update', ReleaseName: 'up', Values: { message: 'one' } };
      const created = await send('Create', props);
      expect(created.answer.Status).toBe('SUCCESS');

      const { answer } = await send(
        'Update',
        { ...props, Values: { message: 'two' } },
        {
          PhysicalResourceId: created.answer.PhysicalResourceId,
          OldResourceProperties: { ClusterName: 'local', ...props },
        },
      );

      expect(answer.Status).toBe('SUCCESS');
      expect(answer.PhysicalResourceId).toBe(created.answer.PhysicalResourceId);
      expect(answer.Data).toMatchObject({ Revision: '2', Status: 'deployed' });
      expect(await configMessage('update', 'up-config')).toBe('two');
    });

    test('a new ReleaseName replaces the release; the Delete of the old id removes the old one', async () => {
      const old = { Chart: 'web', Namespace: 'update', ReleaseName: 'first' };
      const created = await send('Create', old);
      const renamed = { ...old, ReleaseName: 'second', Namespace: 'update-moved' };

      // when the release is renamed and moved
      const { answer } = await send('Update', renamed, {
        PhysicalResourceId: created.answer.PhysicalResourceId,
        OldResourceProperties: { ClusterName: 'local', ...old },
      });

      // then the new one is installed beside the old one
      expect(answer.Status).toBe('SUCCESS');
      expect(answer.PhysicalResourceId).toBe('helm:local:update-moved/second');
      expect(await releases('update-moved')).toEqual(['second:deployed']);
      expect(await releases('update')).toContain('first:deployed');

      // and CloudFormation's Delete of the old id (with the old properties) removes the old one
      const deleted = await send('Delete', old, { PhysicalResourceId: created.answer.PhysicalResourceId });
      expect(deleted.answer.Status).toBe('SUCCESS');
      expect(await releases('update')).not.toContain('first:deployed');
      expect(await leftovers('update', 'first')).toEqual([]);
      expect(await releases('update-moved')).toEqual(['second:deployed']);
    });

    test("a Create and a replacement retried after their first invocation was killed mid-step (Lambda's retry) each make one revision", async () => {
      // given a Lambda that kills the first invocation of each request 300 ms after its step starts
      // (helm, a child process, goes on and installs) and retries it once the killed invocation's
      // hold on the request has lapsed (it holds it until its own timeout, here 10 s, at most 30 s)
      const killing = await ProviderHarness.start(
        [{ name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 10, environment }],
        { chaos: { killMidStep: true }, asyncRetryDelaysMs: [11_000, 11_000] },
      );
      try {
        const props = { ClusterName: 'local', Chart: 'web', Namespace: 'killed', ReleaseName: 'once' };
        // when a Create, then an Update that renames the release (a replacement), are each killed once
        const created = await killing.send('HelmProvider', 'Create', TYPE, props, {}, { async: true });
        const renamed = { ...props, ReleaseName: 'renamed' };
        const replaced = await killing.send(
          'HelmProvider',
          'Update',
          TYPE,
          renamed,
          { PhysicalResourceId: created.answer.PhysicalResourceId, OldResourceProperties: props },
          { async: true },
        );

        // then each was killed and retried, and each release has the one revision its request made
        for (const x of [created, replaced])
          expect(x.invocations.map((i) => i.injected ?? 'ran')).toEqual(['killed-mid-step', 'ran']);
        expect(created.answer).toMatchObject({ Status: 'SUCCESS', Data: { Revision: '1', Status: 'deployed' } });
        expect(replaced.answer).toMatchObject({
          Status: 'SUCCESS',
          PhysicalResourceId: 'helm:local:killed/renamed',
          Data: { Revision: '1', Status: 'deployed' },
        });
        expect((await history('once', 'killed')).map((r) => `${r.revision}:${r.status}`)).toEqual(['1:deployed']);
        expect((await history('renamed', 'killed')).map((r) => `${r.revision}:${r.status}`)).toEqual(['1:deployed']);
      } finally {
        await killing.stop();
      }
    });

    test('recovers a release left pending-upgrade by rolling back, then upgrades', async () => {
      const props = { Chart: 'web', Namespace: 'update-pending', ReleaseName: 'stuck' };
      const created = await send('Create', props);
      await killedHelm('upgrade', 'stuck', 'update-pending');
      expect((await history('stuck', 'update-pending')).map((r) => r.status)).toEqual(['deployed', 'pending-upgrade']);

      const { answer } = await send(
        'Update',
        { ...props, Values: { message: 'after' } },
        {
          PhysicalResourceId: created.answer.PhysicalResourceId,
          OldResourceProperties: { ClusterName: 'local', ...props },
        },
      );

      expect(answer.Status).toBe('SUCCESS');
      expect(
        (await history('stuck', 'update-pending')).map((r) => `${r.revision}:${r.status}:${r.description}`),
      ).toEqual([
        '1:superseded:Install complete',
        '2:pending-upgrade:Preparing upgrade',
        '3:superseded:Rollback to 1',
        '4:deployed:Upgrade complete',
      ]);
      expect(answer.Data).toMatchObject({ Revision: '4' });
      expect(await configMessage('update-pending', 'stuck-config')).toBe('after');
    });
  });

  describe('delete', () => {
    test('uninstalls and waits until the objects are gone', async () => {
      const props = { Chart: 'web', Namespace: 'delete', ReleaseName: 'gone' };
      const created = await send('Create', props);
      expect(await leftovers('delete', 'gone')).not.toEqual([]);

      const { answer } = await send('Delete', props, { PhysicalResourceId: created.answer.PhysicalResourceId });

      expect(answer.Status).toBe('SUCCESS');
      expect(await releases('delete')).toEqual([]);
      expect(await leftovers('delete', 'gone')).toEqual([]);
    });

    test('succeeds when the release, its namespace or the cluster is already gone', async () => {
      const gone = await send(
        'Delete',
        { Chart: 'web', Namespace: 'delete', ReleaseName: 'never-was' },
        { PhysicalResourceId: 'helm:local:delete/never-was' },
      );
      const noNamespace = await send(
        'Delete',
        { Chart: 'web', Namespace: 'no-such-ns', ReleaseName: 'x' },
        { PhysicalResourceId: 'helm:local:no-such-ns/x' },
      );
      // no explicit access for this name: DescribeCluster (moto's EKS) answers not found
      const noCluster = await send(
        'Delete',
        { ClusterName: 'deleted-cluster', Chart: 'web', ReleaseName: 'x' },
        { PhysicalResourceId: 'helm:deleted-cluster:default/x' },
      );

      expect([gone.answer.Status, noNamespace.answer.Status, noCluster.answer.Status]).toEqual([
        'SUCCESS',
        'SUCCESS',
        'SUCCESS',
      ]);
    });

    test('uninstalls a release stuck in pending-install', async () => {
      await killedHelm('install', 'half', 'delete-pending', ['--create-namespace']);

      const { answer } = await send(
        'Delete',
        { Chart: 'web', Namespace: 'delete-pending', ReleaseName: 'half' },
        { PhysicalResourceId: 'helm:local:delete-pending/half' },
      );

      expect(answer.Status).toBe('SUCCESS');
      expect(await releases('delete-pending')).toEqual([]);
      expect(await leftovers('delete-pending', 'half')).toEqual([]);
    });
  });

  /** The owner label this resource's releases carry (helm `--labels`), for a release made by hand "as" it. */
  const ownLabel = `kubecfn.io/owner=${ownerLabelOf(cfnEvent('Create', TYPE, {}, { ResponseURL: 'x' }))}`;

  /**
   * Leaves a release pending the way a Lambda timeout does: helm is waiting for pods that never
   * become ready when it is killed (SIGKILL), after it has recorded the pending revision.
   */
  async function killedHelm(verb: 'install' | 'upgrade', name: string, namespace: string, extra: string[] = []) {
    const child = spawn(
      helmBin,
      [
        verb,
        name,
        join(fixtures, 'web'),
        '-n',
        namespace,
        ...extra,
        '--set-string',
        'nodeSelector.kubecfn\\.io/nowhere=true',
        '--wait',
        '--timeout',
        '5m',
      ],
      {
        env: { PATH: process.env.PATH, HOME: join(work, 'home'), KUBECONFIG: cluster().kubeconfigPath },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((ok) => child.on('exit', ok));
    try {
      for (;;) {
        const statuses = await history(name, namespace).then(
          (hs) => hs.map((r) => r.status),
          (): string[] => [],
        );
        if (statuses.includes(`pending-${verb}`)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }

  test('the discovery cache kept between invocations holds no credential', () => {
    // The sessions above ran in processes whose /tmp is this machine's: the cache is per API server.
    const dir = join(
      tmpdir(),
      'kubecfn-kube-cache',
      createHash('sha256').update(cluster().server).digest('hex').slice(0, 16),
    );
    const files = filesUnder(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(readFileSync(file, 'utf8')).not.toContain(cluster().token);
  });
});

/**
 * Just enough of the OCI distribution API for helm to push and pull charts: blobs by digest,
 * monolithic uploads, manifests by tag or digest, in memory, over TLS with a CA of its own (helm
 * talks https to registries; SSL_CERT_FILE makes it trust this one).
 */
async function startOciRegistry(
  dir: string,
  options: { hosts?: string[]; auth?: { username: string; password: string }; caFile?: string } = {},
): Promise<{ server: Server; caFile: string; authorized: number }> {
  const key = join(dir, 'registry.key');
  const caFile = options.caFile ?? join(dir, 'registry.crt');
  if (!options.caFile) {
    const names = ['IP:127.0.0.1', ...(options.hosts ?? []).map((h) => `DNS:${h}`)].join(',');
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
      `subjectAltName=${names}`,
      '-keyout',
      key,
      '-out',
      caFile,
    ]);
  }
  const state = { authorized: 0 };
  const expected =
    options.auth && `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; type: string }>();
  const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    if (expected) {
      if (req.headers.authorization !== expected) {
        return res
          .writeHead(401, { 'www-authenticate': 'Basic realm="test-registry"', 'content-type': 'application/json' })
          .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      }
      state.authorized++;
    }
    const url = new URL(req.url ?? '/', 'https://registry');
    const path = url.pathname;
    let m: RegExpExecArray | null;
    if (path === '/v2/' || path === '/v2') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if ((m = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(path))) {
      if (req.method === 'POST')
        return res
          .writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${randomUUID()}`, 'content-length': '0' })
          .end();
      const digest = url.searchParams.get('digest');
      if (req.method === 'PUT' && digest && digestOf(body) === digest) {
        blobs.set(digest, body);
        return res
          .writeHead(201, {
            location: `/v2/${m[1]}/blobs/${digest}`,
            'docker-content-digest': digest,
            'content-length': '0',
          })
          .end();
      }
      return res.writeHead(400).end();
    }
    if ((m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path))) {
      const blob = blobs.get(m[2]!);
      if (!blob)
        return res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': blob.length,
        'docker-content-digest': m[2]!,
      });
      return res.end(req.method === 'HEAD' ? undefined : blob);
    }
    if ((m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(path))) {
      const ref = `${m[1]}:${m[2]}`;
      if (req.method === 'PUT') {
        const manifest = { body, type: String(req.headers['content-type']) };
        const digest = digestOf(body);
        manifests.set(ref, manifest);
        manifests.set(`${m[1]}:${digest}`, manifest);
        return res
          .writeHead(201, {
            'docker-content-digest': digest,
            location: `/v2/${m[1]}/manifests/${digest}`,
            'content-length': '0',
          })
          .end();
      }
      const manifest = manifests.get(ref);
      if (!manifest)
        return res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      res.writeHead(200, {
        'content-type': manifest.type,
        'content-length': manifest.body.length,
        'docker-content-digest': digestOf(manifest.body),
      });
      return res.end(req.method === 'HEAD' ? undefined : manifest.body);
    }
    if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(path))) {
      const tags = [...manifests.keys()]
        .filter((k) => k.startsWith(`${m![1]}:`) && !k.includes(':sha256:'))
        .map((k) => k.slice(m![1]!.length + 1));
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: m[1], tags }));
    }
    return res.writeHead(404).end();
  };
  const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(caFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    server,
    caFile,
    get authorized() {
      return state.authorized;
    },
  };
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}
