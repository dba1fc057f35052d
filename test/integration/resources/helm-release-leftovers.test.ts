/**
 * What a Custom::HelmRelease leaves behind, through the bundled HelmProvider (each invocation its
 * own Node process) with the real helm binary against a real kube-apiserver:
 * - the CRDs of a chart's crds/ (helm installs them and never deletes them) go with the release
 *   that created them — and only those: one that existed before stays; a replacement's new release
 *   keeps them until it goes too; a failed Create's cleanup removes them; RetainCrds keeps them;
 * - CloudFormation's rollback Update after an update that failed before helm made a revision leaves
 *   the release at the revision it had (no new revision with the same chart and values), while an
 *   Update to the same properties after a change by hand upgrades as before.
 */
import { ApiextensionsV1Api, ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureHelm } from '../../../scripts/dev/binaries';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const execFileAsync = promisify(execFile);
const TYPE = 'Custom::HelmRelease';

const cluster = useLocalCluster({ nodes: false });
let h: ProviderHarness;
let kc: KubeConfig;
let work: string;
let helmBin: string;

/** A chart in `<work>/charts/<name>`, packaged with the function (file://<name>). */
function chart(name: string, files: Record<string, string>): void {
  const dir = join(work, 'charts', name);
  for (const [path, text] of Object.entries({
    'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`,
    ...files,
  })) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const crd = (plural: string, group: string, kind: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
spec:
  group: ${group}
  names: {kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;

const configMapTemplate =
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  message: {{ .Values.message | default "hello" | quote }}\n';

beforeAll(async () => {
  helmBin = await ensureHelm();
  work = mkdtempSync(join(tmpdir(), 'kubecfn-helm-leftovers-'));
  mkdirSync(join(work, 'home'));
  chart('gadgets', {
    'crds/gadgets.yaml': crd('gadgets', 'leftovers.kubecfn.io', 'Gadget'),
    'templates/config.yaml': configMapTemplate,
  });
  // Two CRDs, one of which the test creates first; a Deployment that never becomes ready (no nodes).
  chart('sprockets', {
    'crds/sprockets.yaml': `${crd('sprockets', 'leftovers.kubecfn.io', 'Sprocket')}---\n${crd('cogs', 'leftovers.kubecfn.io', 'Cog')}`,
    'templates/config.yaml': configMapTemplate,
    'templates/deployment.yaml':
      '{{- if .Values.deployment }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {matchLabels: {app: never}}\n  template:\n    metadata: {labels: {app: never}}\n    spec: {containers: [{name: c, image: never}]}\n{{- end }}\n',
  });
  // A chart that refuses bad values before helm makes any revision.
  chart('strict', {
    'templates/config.yaml': `{{- if .Values.bad }}{{ fail "values: bad must not be set" }}{{ end }}\n${configMapTemplate}`,
  });
  const environment = {
    ...clusterAccessEnv(cluster()),
    HELM_BINARY: helmBin,
    KUBECFN_CHART_PATH: join(work, 'charts'),
  };
  h = await ProviderHarness.start([
    { name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 60, environment },
  ]);
  kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  rmSync(work, { recursive: true, force: true });
});

const send = (
  type: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => h.send('HelmProvider', type, TYPE, { ClusterName: 'local', ...props }, extra);
/** The Reason without the log-stream pointer the runtime appends. */
const reason = (answer: { Reason?: string }) => answer.Reason?.replace(/ \(log: [^)]*\)$/, '');
const crds = () => kc.makeApiClient(ApiextensionsV1Api);
const core = () => kc.makeApiClient(CoreV1Api);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the CRD exists (and is not being deleted), polling briefly while a deletion completes. */
async function crdState(name: string): Promise<'present' | 'absent'> {
  for (let i = 0; ; i++) {
    try {
      const c = await crds().readCustomResourceDefinition({ name });
      if (!c.metadata?.deletionTimestamp || i >= 50) return 'present';
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return 'absent';
      throw error;
    }
    await sleep(200);
  }
}

const helm = async (...args: string[]) =>
  (
    await execFileAsync(helmBin, args, {
      env: { PATH: process.env.PATH, HOME: join(work, 'home'), KUBECONFIG: cluster().kubeconfigPath },
    })
  ).stdout;
const history = async (name: string, namespace: string) =>
  (
    JSON.parse(await helm('history', name, '-n', namespace, '-o', 'json')) as Array<{
      revision: number;
      status: string;
    }>
  ).map((r) => `${r.revision} ${r.status}`);

describe("the CRDs of a chart's crds/", () => {
  test('the CRD the install created goes with the release on Delete, its custom objects with it', async () => {
    // given a release whose chart's crds/ creates a CRD, and a custom object of it
    const created = await send('Create', { Chart: 'file://gadgets', Namespace: 'crd-a', ReleaseName: 'gadgets' });
    expect(reason(created.answer)).toBeUndefined();
    expect(await crdState('gadgets.leftovers.kubecfn.io')).toBe('present');
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'leftovers.kubecfn.io',
      version: 'v1',
      namespace: 'crd-a',
      plural: 'gadgets',
      body: { apiVersion: 'leftovers.kubecfn.io/v1', kind: 'Gadget', metadata: { name: 'g1' } },
    });

    // when the stack deletes it
    const deleted = await send(
      'Delete',
      { Chart: 'file://gadgets', Namespace: 'crd-a', ReleaseName: 'gadgets' },
      { PhysicalResourceId: created.answer.PhysicalResourceId },
    );

    // then the release and the CRD are gone
    expect(deleted.answer.Status).toBe('SUCCESS');
    expect(await crdState('gadgets.leftovers.kubecfn.io')).toBe('absent');
    expect((await core().listNamespacedSecret({ namespace: 'crd-a', labelSelector: 'owner=helm' })).items).toEqual([]);
  });

  test('a CRD that existed before the install stays; the one it created goes; a failed Create removes it too', async () => {
    // given cogs exists already (someone else's); sprockets does not
    await crds().createCustomResourceDefinition({
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'cogs.leftovers.kubecfn.io' },
        spec: {
          group: 'leftovers.kubecfn.io',
          names: { kind: 'Cog', plural: 'cogs', singular: 'cog' },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });

    // when a Create installs the chart and fails (its Deployment never becomes ready)
    const failed = await send('Create', {
      Chart: 'file://sprockets',
      Namespace: 'crd-b',
      ReleaseName: 'sprockets',
      Values: 'deployment: true\n',
      TimeoutSeconds: 3,
    });

    // then the failed Create's cleanup removed the CRD it created, not the one that existed
    expect(failed.answer.Status).toBe('FAILED');
    expect(reason(failed.answer)).toMatch(/^Wait: release sprockets in namespace crd-b did not become ready/);
    expect(await crdState('sprockets.leftovers.kubecfn.io')).toBe('absent');
    expect(await crdState('cogs.leftovers.kubecfn.io')).toBe('present');

    // when it is installed again (elsewhere: the failed Create's namespace is still going), and deleted
    const created = await send('Create', { Chart: 'file://sprockets', Namespace: 'crd-b2', ReleaseName: 'sprockets' });
    expect(reason(created.answer)).toBeUndefined();
    expect(await crdState('sprockets.leftovers.kubecfn.io')).toBe('present');
    const deleted = await send(
      'Delete',
      { Chart: 'file://sprockets', Namespace: 'crd-b2', ReleaseName: 'sprockets' },
      { PhysicalResourceId: created.answer.PhysicalResourceId },
    );

    // then only the CRD the release created is gone
    expect(deleted.answer.Status).toBe('SUCCESS');
    expect(await crdState('sprockets.leftovers.kubecfn.io')).toBe('absent');
    expect(await crdState('cogs.leftovers.kubecfn.io')).toBe('present');
    await crds().deleteCustomResourceDefinition({ name: 'cogs.leftovers.kubecfn.io' });
  });

  test("a replacement's new release keeps the CRD until it goes too; RetainCrds keeps it", async () => {
    const props = { Chart: 'file://gadgets', Namespace: 'crd-c', ReleaseName: 'first' };
    const created = await send('Create', props, { LogicalResourceId: 'Moving' });
    expect(reason(created.answer)).toBeUndefined();

    // when ReleaseName changes (a replacement), and CloudFormation deletes the old release
    const moved = { ...props, ReleaseName: 'second' };
    const replaced = await send('Update', moved, {
      LogicalResourceId: 'Moving',
      PhysicalResourceId: created.answer.PhysicalResourceId,
      OldResourceProperties: props,
    });
    expect(replaced.answer.PhysicalResourceId).toBe('helm:local:crd-c/second');
    const oldGone = await send('Delete', props, {
      LogicalResourceId: 'Moving',
      PhysicalResourceId: created.answer.PhysicalResourceId,
    });

    // then the CRD stays for the new release
    expect(oldGone.answer.Status).toBe('SUCCESS');
    expect(await crdState('gadgets.leftovers.kubecfn.io')).toBe('present');

    // when the new release is deleted with RetainCrds, the CRD stays; it was the resource's, so a
    // later Delete (a Delete is retried by CloudFormation with the same properties) without it removes it
    const retained = await send(
      'Delete',
      { ...moved, RetainCrds: 'true' },
      { LogicalResourceId: 'Moving', PhysicalResourceId: replaced.answer.PhysicalResourceId },
    );
    expect(retained.answer.Status).toBe('SUCCESS');
    expect(await crdState('gadgets.leftovers.kubecfn.io')).toBe('present');
    const deleted = await send('Delete', moved, {
      LogicalResourceId: 'Moving',
      PhysicalResourceId: replaced.answer.PhysicalResourceId,
    });
    expect(deleted.answer.Status).toBe('SUCCESS');
    expect(await crdState('gadgets.leftovers.kubecfn.io')).toBe('absent');
  });
});

describe("CloudFormation's rollback Update", () => {
  test('after an update that failed before helm made a revision, the release stays at the revision it had', async () => {
    // given a release at revision 2
    const v1 = { Chart: 'file://strict', Namespace: 'rollback', ReleaseName: 'strict', Values: 'message: one\n' };
    const v2 = { ...v1, Values: 'message: two\n' };
    const created = await send('Create', v1, { LogicalResourceId: 'Strict' });
    const id = created.answer.PhysicalResourceId;
    const updated = await send('Update', v2, {
      LogicalResourceId: 'Strict',
      PhysicalResourceId: id,
      OldResourceProperties: v1,
    });
    expect(updated.answer).toMatchObject({ Status: 'SUCCESS', Data: { Revision: '2' } });

    // when an update fails on the chart's own check of the values, and CloudFormation rolls back
    const bad = { ...v1, Values: 'message: three\nbad: true\n' };
    const failed = await send('Update', bad, {
      LogicalResourceId: 'Strict',
      PhysicalResourceId: id,
      OldResourceProperties: v2,
    });
    expect(failed.answer.Status).toBe('FAILED');
    const rollback = await send('Update', v2, {
      LogicalResourceId: 'Strict',
      PhysicalResourceId: id,
      OldResourceProperties: bad,
    });

    // then the rollback answers the revision the release had, and helm's history is as it was
    expect(rollback.answer).toMatchObject({ Status: 'SUCCESS', Data: { Revision: '2', Status: 'deployed' } });
    expect(await history('strict', 'rollback')).toEqual(['1 superseded', '2 deployed']);
    expect((await core().readNamespacedConfigMap({ namespace: 'rollback', name: 'strict-config' })).data).toEqual({
      message: 'two',
    });

    // and after a change by hand, an Update to the same properties upgrades again (revision 4)
    await helm(
      'upgrade',
      'strict',
      join(work, 'charts', 'strict'),
      '-n',
      'rollback',
      '--reuse-values',
      '--set',
      'message=by-hand',
    );
    const again = await send('Update', v2, {
      LogicalResourceId: 'Strict',
      PhysicalResourceId: id,
      OldResourceProperties: v2,
    });
    expect(again.answer).toMatchObject({ Status: 'SUCCESS', Data: { Revision: '4' } });
    expect((await core().readNamespacedConfigMap({ namespace: 'rollback', name: 'strict-config' })).data).toEqual({
      message: 'two',
    });
    await send('Delete', v2, { LogicalResourceId: 'Strict', PhysicalResourceId: id });
  });
});
