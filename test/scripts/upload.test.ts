// `npm run upload` (formerly `npm run publish`, still an alias) against moto server's S3: the Quick Start key layout, content and Content-Type
// of every object, what is left out, the printed launch URLs, and the clear failures.
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../../scripts/local';
import { fixtureTree, repoRoot, runScript } from './helpers';

let moto: MotoServer;
let s3: S3Client;
let tree: string;

const s3In = (region: string) =>
  new S3Client({
    endpoint: moto.endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });

beforeAll(async () => {
  moto = await startMoto();
  s3 = s3In('us-east-1');
  tree = await fixtureTree();
});

afterAll(async () => {
  await moto?.stop();
  if (tree) rmSync(tree, { recursive: true, force: true });
});

async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function objectOf(bucket: string, key: string): Promise<{ body: Buffer; contentType?: string }> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: Buffer.from(await res.Body!.transformToByteArray()), contentType: res.ContentType };
}

/** Every regular file under `dir`, relative to `root`, dot files included (to compare against). */
function filesUnder(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    return statSync(join(root, rel)).isDirectory() ? filesUnder(root, rel) : [rel];
  });
}

describe('upload', () => {
  const fixtureKeys = [
    'functions/packages/HelmLayer/layer.zip',
    'functions/packages/HelmProvider/lambda.zip',
    'functions/packages/KubeProvider/lambda.zip',
    'submodules/bastion/templates/bastion.template.yaml',
    'submodules/vpc/templates/vpc.template.yaml',
    'templates/fixture-cluster.template.yaml',
    'templates/fixture-nodes.template.yaml',
    'templates/kubecfn-entrypoint-existing-cluster.template.yaml',
    'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
    'templates/kubecfn-entrypoint-new-vpc.template.yaml',
    'templates/workloads/ci.yaml',
  ];

  test('uploads templates, submodule templates and packages under the prefix, byte for byte, with their Content-Type', async () => {
    // given a bucket
    await s3.send(new CreateBucketCommand({ Bucket: 'qs-layout' }));

    // when
    const run = await runScript(
      'upload',
      ['--bucket', 'qs-layout', '--prefix', 'team/kubecfn/', '--region', 'us-east-1', '--root', tree],
      moto.endpoint,
    );

    // then
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(await keysUnder('qs-layout', '')).toEqual(fixtureKeys.map((k) => `team/kubecfn/${k}`));
    for (const key of fixtureKeys) {
      const { body, contentType } = await objectOf('qs-layout', `team/kubecfn/${key}`);
      expect(body.equals(readFileSync(join(tree, key)))).toBe(true);
      expect(contentType).toBe(key.endsWith('.zip') ? 'application/zip' : 'application/yaml');
    }
    expect(run.stdout).toContain('11 uploaded');
  });

  test('prints the launch-stack URLs of every entrypoint, for every Region, and the equivalent commands', async () => {
    await s3In('eu-west-1').send(
      new CreateBucketCommand({ Bucket: 'qs-urls', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );

    const run = await runScript(
      'upload',
      ['--bucket', 'qs-urls', '--region', 'eu-west-1', '--root', tree],
      moto.endpoint,
    );

    expect(run.code).toBe(0);
    const templateUrl = (entry: string) =>
      encodeURIComponent(
        `https://qs-urls.s3.eu-west-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-${entry}.template.yaml`,
      );
    // One bucket for every Region: the console opens in each, the template and the bucket stay in eu-west-1.
    for (const entry of ['new-vpc', 'existing-vpc', 'existing-cluster'])
      for (const region of ['eu-west-1', 'us-east-1', 'us-east-2', 'us-west-2', 'eu-central-1']) {
        expect(run.stdout).toContain(
          `  ${region}: https://console.aws.amazon.com/cloudformation/home?region=${region}#/stacks/create/review?templateURL=${templateUrl(entry)}` +
            '&stackName=kubecfn&param_QSS3BucketName=qs-urls&param_QSS3KeyPrefix=kubecfn%2F&param_QSS3BucketRegion=eu-west-1',
        );
      }
    expect(run.stdout).toMatch(/aws cloudformation deploy --region eu-west-1 --stack-name kubecfn/);
    expect(run.stdout).toContain('--template-file templates/kubecfn-entrypoint-new-vpc.template.yaml');
    expect(run.stdout).toContain('--capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND');
    expect(run.stdout).toContain(
      '--parameter-overrides AvailabilityZones=eu-west-1a,eu-west-1b,eu-west-1c QSS3BucketName=qs-urls QSS3KeyPrefix=kubecfn/ QSS3BucketRegion=eu-west-1',
    );
    // the printed commands carry the parameters without a default, so they can succeed
    expect(run.stdout).toContain(
      'npm run deploy -- --stack-name kubecfn --template new-vpc --bucket qs-urls --prefix kubecfn/ --region eu-west-1 \\\n' +
        '    --param AvailabilityZones=eu-west-1a,eu-west-1b,eu-west-1c',
    );
    expect(run.stdout).toMatch(
      /npm run deploy -- --stack-name kubecfn --template existing-vpc [^\n]*\\\n\s+--param VPCID=vpc-\w+ --param VPCCIDR=[\d./]+ --param PrivateSubnet1ID=subnet-\w+ --param PrivateSubnet2ID=subnet-\w+/,
    );
    expect(run.stdout).toMatch(
      /npm run deploy -- --stack-name kubecfn --template existing-cluster [^\n]*\\\n\s+--param ClusterName=\S+ --param ClusterSecurityGroupId=sg-\w+ --param VPCID=vpc-\w+/,
    );
    // the default prefix was used
    expect(await keysUnder('qs-urls', '')).toEqual(fixtureKeys.map((k) => `kubecfn/${k}`));
  });

  test('a second publish uploads only what changed', async () => {
    // given a published tree, then one template edited
    await s3.send(new CreateBucketCommand({ Bucket: 'qs-again' }));
    const first = await runScript('upload', ['--bucket', 'qs-again', '--root', tree], moto.endpoint);
    expect(first.code).toBe(0);
    const edited = await fixtureTree();
    const file = join(edited, 'templates', 'workloads', 'ci.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}# edited\n`);

    // when
    const second = await runScript('upload', ['--bucket', 'qs-again', '--root', edited], moto.endpoint);
    rmSync(edited, { recursive: true, force: true });

    // then
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('1 uploaded');
    expect(second.stdout).toContain('10 unchanged');
    expect(second.stdout).toMatch(/uploaded\s+s3:\/\/qs-again\/kubecfn\/templates\/workloads\/ci\.yaml/);
    expect((await objectOf('qs-again', 'kubecfn/templates/workloads/ci.yaml')).body.toString()).toMatch(/# edited\n$/);
  });

  test('--create-bucket creates a missing bucket; without it the missing bucket is named', async () => {
    const without = await runScript('upload', ['--bucket', 'qs-missing', '--root', tree], moto.endpoint);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('bucket qs-missing does not exist');
    expect(without.stderr).toContain('--create-bucket');

    const created = await runScript(
      'upload',
      ['--bucket', 'qs-missing', '--create-bucket', '--root', tree],
      moto.endpoint,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created bucket qs-missing');
    expect(await keysUnder('qs-missing', 'kubecfn/templates/')).toContain(
      'kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml',
    );
  });

  test('a bucket in another region than --region is refused, naming the right one', async () => {
    await s3In('eu-west-1').send(
      new CreateBucketCommand({ Bucket: 'qs-in-eu', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );

    const run = await runScript(
      'upload',
      ['--bucket', 'qs-in-eu', '--region', 'us-east-1', '--root', tree],
      moto.endpoint,
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('bucket qs-in-eu is in eu-west-1, not us-east-1: pass --region eu-west-1');
    expect(await keysUnder('qs-in-eu', '')).toEqual([]);
  });

  test('fails clearly when functions/packages is missing', async () => {
    const unbuilt = await fixtureTree({ packages: false });
    await s3.send(new CreateBucketCommand({ Bucket: 'qs-unbuilt' }));

    const run = await runScript('upload', ['--bucket', 'qs-unbuilt', '--root', unbuilt], moto.endpoint);
    rmSync(unbuilt, { recursive: true, force: true });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('functions/packages is missing');
    expect(run.stderr).toContain('run npm run build first');
    expect(await keysUnder('qs-unbuilt', '')).toEqual([]);
  });

  test('fails clearly when an entrypoint template is missing', async () => {
    const partial = await fixtureTree();
    rmSync(join(partial, 'templates', 'kubecfn-entrypoint-existing-vpc.template.yaml'));

    const run = await runScript('upload', ['--bucket', 'qs-layout', '--root', partial], moto.endpoint);
    rmSync(partial, { recursive: true, force: true });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('templates/kubecfn-entrypoint-existing-vpc.template.yaml is missing');
  });

  test.each([
    [['--bucket', 'qs-layout', '--prefix', 'kubecfn'], '--prefix must end with "/"'],
    [['--bucket', 'qs-layout', '--prefix', '/kubecfn/'], '--prefix must not start with "/"'],
    [['--bucket', 'Bad.Bucket'], '--bucket must be 3-63 lowercase letters'],
    [['--prefix', 'kubecfn/'], '--bucket is required'],
    [['--bucket', 'qs-layout', '--bogus'], "Unknown option '--bogus'"],
  ])('refuses %j with exit 2 and a message naming the flag', async (args, message) => {
    const run = await runScript('upload', [...args, '--root', tree], moto.endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('See npm run upload -- --help for every option.');
  });

  // The real templates and packages are other work in progress: publish them once they exist.
  const realTree = [
    'templates/kubecfn-entrypoint-new-vpc.template.yaml',
    'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
    'functions/packages',
  ].every((p) => existsSync(join(repoRoot, p)));
  (realTree ? test : test.skip)(
    'publishes the repository itself: every template, submodule template and package',
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'qs-real' }));

      const run = await runScript('upload', ['--bucket', 'qs-real', '--region', 'us-east-1'], moto.endpoint);

      expect(run.stderr).not.toMatch(/error/i);
      expect(run.code).toBe(0);
      const submodules = readdirSync(join(repoRoot, 'submodules')).map((s) => `submodules/${s}/templates`);
      const expected = [
        ...filesUnder(repoRoot, 'templates').filter((f) => /\.(ya?ml|json)$/.test(f)),
        ...submodules.flatMap((d) => filesUnder(repoRoot, d)).filter((f) => /\.(ya?ml|json)$/.test(f)),
        ...filesUnder(repoRoot, 'functions/packages'),
      ]
        .filter((f) => !f.split('/').some((part) => part.startsWith('.')))
        .map((f) => `kubecfn/${f}`)
        .sort();
      const keys = await keysUnder('qs-real', '');
      expect(keys).toEqual(expected);
      expect(keys).toContain('kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml');
      expect(keys.some((k) => k.startsWith('kubecfn/functions/packages/') && k.endsWith('.zip'))).toBe(true);
      const entry = await objectOf('qs-real', 'kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml');
      expect(
        entry.body.equals(readFileSync(join(repoRoot, 'templates', 'kubecfn-entrypoint-new-vpc.template.yaml'))),
      ).toBe(true);
    },
  );
});
