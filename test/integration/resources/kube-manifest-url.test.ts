/**
 * Custom::KubeManifest with `ManifestUrl`: the manifest in a file in S3 (moto), read by the bundled
 * KubeProvider with its own credentials, against the real kube-apiserver. The file's text is typed
 * as a Manifest string is; bad content, a missing object and Manifest together with ManifestUrl
 * fail with a Reason naming ManifestUrl; an update to a new key prunes what the old file had; a
 * Delete whose file is gone answers SUCCESS and says in the log what it left.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startMoto, type MotoServer } from '../../../scripts/local';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const TYPE = 'Custom::KubeManifest';
const cluster = useLocalCluster();
let h: ProviderHarness;
let moto: MotoServer;
let s3: S3Client;
let core: CoreV1Api;
const ns = `mu-${Date.now().toString(36)}`;

const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: 'manifests', Key: key, Body: body }));
const send = (
  type: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => h.send('KubeProvider', type, TYPE, { ClusterName: 'local', Namespace: ns, ...props }, extra);
const reason = (answer: { Reason?: string }) => answer.Reason?.replace(/ \(log: [^)]*\)$/, '');
const configMap = async (name: string) => {
  try {
    return await core.readNamespacedConfigMap({ name, namespace: ns });
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  }
};
const manifest = (...names: string[]) =>
  names.map((n) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\ndata:\n  mode: "yes"\n`).join('---\n');

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'manifests' }));
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  h = await ProviderHarness.start([
    {
      name: 'KubeProvider',
      zipFile: packageZip('KubeProvider'),
      timeoutSeconds: 60,
      environment: { ...clusterAccessEnv(cluster()), AWS_ENDPOINT_URL: moto.endpoint },
    },
  ]);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await moto?.stop();
  await core?.deleteNamespace({ name: ns }).catch(() => undefined);
});

test('create from s3://, update to a new key (the old objects pruned), delete', async () => {
  // given a manifest file in S3 whose text has a quoted "yes" (YAML 1.1: unquoted it is a boolean)
  await put('app/v1.yaml', manifest('url-a', 'url-b'));
  // when a KubeManifest names it
  const created = await send('Create', { ManifestUrl: 's3://manifests/app/v1.yaml' });
  // then both objects are there, typed as the text says
  expect(reason(created.answer)).toBeUndefined();
  expect(created.answer.Status).toBe('SUCCESS');
  expect(created.answer.Data).toMatchObject({ ObjectCount: '2' });
  expect((await configMap('url-a'))?.data).toEqual({ mode: 'yes' });
  const physicalId = created.answer.PhysicalResourceId;

  // when an update names another file (the https form of its URL) without url-a
  await put('app/v2 file.yaml', manifest('url-b', 'url-c'));
  const updated = await send(
    'Update',
    { ManifestUrl: 'https://manifests.s3.us-east-1.amazonaws.com/app/v2%20file.yaml' },
    {
      PhysicalResourceId: physicalId,
      OldResourceProperties: { ClusterName: 'local', Namespace: ns, ManifestUrl: 's3://manifests/app/v1.yaml' },
    },
  );
  // then url-c is applied and url-a, dropped, is pruned
  expect(reason(updated.answer)).toBeUndefined();
  expect(await configMap('url-c')).toBeDefined();
  expect(await configMap('url-a')).toBeUndefined();

  // when the stack is deleted
  const deleted = await send(
    'Delete',
    { ManifestUrl: 'https://s3.us-east-1.amazonaws.com/manifests/app/v2%20file.yaml' },
    { PhysicalResourceId: physicalId },
  );
  // then the objects are gone
  expect(deleted.answer.Status).toBe('SUCCESS');
  expect(await configMap('url-b')).toBeUndefined();
  expect(await configMap('url-c')).toBeUndefined();
}, 120_000);

test('a file with an object without a name fails naming ManifestUrl and the path; nothing is applied', async () => {
  await put('bad.yaml', `${manifest('url-bad-first')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n`);
  const r = await send('Create', { ManifestUrl: 's3://manifests/bad.yaml' });
  expect(r.answer.Status).toBe('FAILED');
  expect(reason(r.answer)).toMatch(/^ManifestUrl\[1\]\.metadata\.name: expected the object name/);
  expect(await configMap('url-bad-first')).toBeUndefined();
}, 60_000);

test('a missing object fails naming ManifestUrl and S3 error; its Delete then succeeds', async () => {
  const r = await send('Create', { ManifestUrl: 's3://manifests/none.yaml' });
  expect(r.answer.Status).toBe('FAILED');
  expect(reason(r.answer)).toMatch(/^ManifestUrl: could not read s3:\/\/manifests\/none\.yaml: NoSuchKey/);
  const d = await send(
    'Delete',
    { ManifestUrl: 's3://manifests/none.yaml' },
    { PhysicalResourceId: r.answer.PhysicalResourceId },
  );
  expect(d.answer.Status).toBe('SUCCESS');
}, 60_000);

test('a Delete whose file is gone succeeds, leaves the objects and says so in the log', async () => {
  await put('gone.yaml', manifest('url-left'));
  const created = await send('Create', { ManifestUrl: 's3://manifests/gone.yaml' });
  expect(created.answer.Status).toBe('SUCCESS');
  await s3.send(new DeleteObjectCommand({ Bucket: 'manifests', Key: 'gone.yaml' }));
  const d = await send(
    'Delete',
    { ManifestUrl: 's3://manifests/gone.yaml' },
    { PhysicalResourceId: created.answer.PhysicalResourceId },
  );
  expect(d.answer.Status).toBe('SUCCESS');
  expect(await configMap('url-left')).toBeDefined();
  expect(d.invocations.map((i) => i.logs).join('\n')).toMatch(
    /ManifestUrl cannot be read: the objects it named \(if any\) are left/,
  );
}, 60_000);

test.each([
  [
    'both',
    { Manifest: manifest('x'), ManifestUrl: 's3://manifests/app/v1.yaml' },
    /^Invalid properties for Custom::KubeManifest: ManifestUrl: expected either Manifest or ManifestUrl, not both$/,
  ],
  [
    'neither',
    {},
    /^Invalid properties for Custom::KubeManifest: Manifest: expected the objects in Manifest, or the S3 URL of a manifest file in ManifestUrl/,
  ],
  [
    'not S3',
    { ManifestUrl: 'https://example.com/app.yaml' },
    /^Invalid properties for Custom::KubeManifest: ManifestUrl: expected s3:\/\/<bucket>\/<key> or https:\/\/<bucket>\.s3\.<region>\.amazonaws\.com\/<key> of a manifest file/,
  ],
])(
  '%s: FAILED naming the property',
  async (_name, props, expected) => {
    const r = await send('Create', props);
    expect(r.answer.Status).toBe('FAILED');
    expect(reason(r.answer)).toMatch(expected);
  },
  60_000,
);
