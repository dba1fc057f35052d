// One code bucket for every Region: Lambda loads code only from a bucket in the function's own Region,
// so when QSS3BucketRegion names another Region the functions stack copies the packages into a
// bucket it creates in its own (CopyCodeFunction, inline), and the functions and layer load from
// there. The template checks resolve the functions stack for both cases; the inline function runs
// against moto's S3 with a real HTTP endpoint standing in for CloudFormation's response URL.
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startMoto, type MotoServer } from '../../scripts/local';
import { ResponseServer } from '../helpers/response-server';
import { dependsTransitively, entrypointPaths, loadTemplate, repoRoot, type Template } from './cfn-template';
import { evaluateCondition } from './rule-functions';
import { resolveValue } from './resolve';

const path = 'templates/kubecfn-functions.template.yaml';
const t: Template = loadTemplate(path);
const code = ['KubeProvider', 'HelmProvider', 'CleanupProvider', 'HelmLayer'] as const;
const stackValues = {
  'AWS::Region': 'eu-west-1',
  'AWS::Partition': 'aws',
  'AWS::AccountId': '111122223333',
  'AWS::StackId':
    'arn:aws:cloudformation:eu-west-1:111122223333:stack/kubecfn-FunctionsStack-0A1B2C3D4E5F/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  ClusterName: 'c',
  QSS3BucketName: 'my-kubecfn-bucket',
};
/** Code (function) or Content (layer) of a package's resource, resolved for these values. */
const codeOf = (id: string, values: Record<string, string>) => {
  const r = t.Resources[id]!;
  return resolveValue(t, r.Properties![r.Type === 'AWS::Lambda::LayerVersion' ? 'Content' : 'Code'], {
    ...stackValues,
    ...values,
  }) as { S3Bucket: string; S3Key: string };
};
const copyResources = Object.entries(t.Resources)
  .filter(([, r]) => r.Condition === 'CopyCode')
  .map(([id]) => id)
  .sort();

describe('the functions stack reads its code from its own Region', () => {
  test.each([
    ['no Region given', {}],
    ['the stack’s Region given', { QSS3BucketRegion: 'eu-west-1' }],
    [
      'the aws-quickstart buckets (a copy per Region)',
      { QSS3BucketName: 'aws-quickstart', QSS3BucketRegion: 'us-east-1' },
    ],
  ])('%s: no copy, the packages load from the bucket', (_what, values: Record<string, string>) => {
    expect(evaluateCondition(t, 'CopyCode', { ...stackValues, ...values })).toBe(false);
    const bucket = values.QSS3BucketName === 'aws-quickstart' ? 'aws-quickstart-eu-west-1' : 'my-kubecfn-bucket';
    for (const id of code) expect([id, codeOf(id, values).S3Bucket]).toEqual([id, bucket]);
  });

  describe('a bucket in another Region', () => {
    const values = { QSS3BucketRegion: 'us-east-1' };

    test('the packages are copied into a bucket of the stack’s Region, and load from it', () => {
      expect(evaluateCondition(t, 'CopyCode', { ...stackValues, ...values })).toBe(true);
      for (const id of code) expect([id, codeOf(id, values).S3Bucket]).toEqual([id, '<RegionalCodeBucket>']);
      expect(copyResources).toEqual([
        'CopiedCode',
        'CopyCodeFunction',
        'CopyCodeLogGroup',
        'CopyCodeRole',
        'RegionalCodeBucket',
        'RegionalCodeBucketPolicy',
      ]);
    });

    test('the copy holds exactly the keys the functions and the layer load', () => {
      const keys = resolveValue(t, t.Resources.CopiedCode!.Properties!.Keys, { ...stackValues, ...values });
      expect([...(keys as string[])].sort()).toEqual(code.map((id) => codeOf(id, values).S3Key).sort());
      expect(resolveValue(t, t.Resources.CopiedCode!.Properties!.SourceBucket, stackValues)).toBe('my-kubecfn-bucket');
    });

    test.each(code)('%s is created after the copy (and deleted before the copies go)', (id) => {
      expect(dependsTransitively(t, id, 'CopiedCode')).toBe(true);
    });

    test('the copy’s role reads those packages and writes and removes their copies, nothing else', () => {
      const statements = (
        t.Resources.CopyCodeRole!.Properties!.Policies as { PolicyDocument: { Statement: unknown[] } }[]
      ).flatMap((p) => resolveValue(t, p.PolicyDocument.Statement, { ...stackValues, ...values }) as object[]);
      const keys = code.map((id) => codeOf(id, values).S3Key);
      expect(statements).toEqual([
        {
          Sid: 'ReadThePackages',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: keys.map((k) => `arn:aws:s3:::my-kubecfn-bucket/${k}`),
        },
        {
          Sid: 'WriteAndRemoveTheCopies',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:DeleteObject'],
          Resource: keys.map((k) => `<RegionalCodeBucket.Arn>/${k}`),
        },
        expect.objectContaining({ Sid: 'OwnLogGroup' }),
      ]);
    });

    test('the bucket is encrypted, private, named kubecfn-code-… within S3’s 63 characters', () => {
      const props = t.Resources.RegionalCodeBucket!.Properties!;
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(JSON.stringify(props.BucketEncryption)).toContain('AES256');
      const name = String(resolveValue(t, props.BucketName, { ...stackValues, 'AWS::Region': 'ap-southeast-2' }));
      expect(name).toBe('kubecfn-code-111122223333-ap-southeast-2-0f1e2d3c');
      expect(name.length).toBeLessThanOrEqual(63);
    });

    test('the inline code fits ZipFile’s 4,096 characters', () => {
      const zip = (t.Resources.CopyCodeFunction!.Properties!.Code as { ZipFile: string }).ZipFile;
      expect(zip.length).toBeLessThanOrEqual(4096);
    });
  });
});

describe('the taskcat tests launch from one bucket in several Regions', () => {
  const taskcat = parse(readFileSync(join(repoRoot, '.taskcat.yml'), 'utf8')) as {
    project: { regions: string[]; template: string; parameters: Record<string, string>; s3_regional_buckets?: boolean };
    tests: Record<string, { regions?: string[]; template?: string; parameters?: Record<string, string> }>;
  };
  const tests = Object.entries(taskcat.tests).map(([name, x]) => ({
    name,
    regions: x.regions ?? taskcat.project.regions,
    template: x.template ?? taskcat.project.template,
    parameters: { ...taskcat.project.parameters, ...x.parameters },
  }));

  test('the automatic bucket is one, in us-east-1, and the templates are told so', () => {
    // taskcat creates its automatic bucket in us-east-1 in the commercial partition unless
    // s3_regional_buckets asks for one per Region.
    expect(taskcat.project.s3_regional_buckets ?? false).toBe(false);
    for (const x of tests) expect([x.name, x.parameters.QSS3BucketRegion]).toEqual([x.name, 'us-east-1']);
  });

  test('they run in at least four Regions, and every entrypoint is tested', () => {
    expect(new Set(tests.flatMap((x) => x.regions)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(tests.map((x) => x.template))).toEqual(new Set(entrypointPaths));
  });

  test('outside us-east-1 the functions stack copies the packages into the test Region', () => {
    const elsewhere = tests.flatMap((x) => x.regions.filter((r) => r !== 'us-east-1').map((r) => ({ ...x, r })));
    expect(elsewhere.length).toBeGreaterThanOrEqual(3);
    for (const x of elsewhere)
      expect([x.name, x.r, evaluateCondition(t, 'CopyCode', { 'AWS::Region': x.r, ...x.parameters })]).toEqual([
        x.name,
        x.r,
        true,
      ]);
  });
});

describe('CopyCodeFunction (inline) against S3', () => {
  let moto: MotoServer;
  let responses: ResponseServer;
  let handler: (event: Record<string, unknown>) => Promise<void>;
  const saved = { ...process.env };
  const s3In = (region: string) =>
    new S3Client({
      endpoint: moto.endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  const source = 'code-us-east-1';
  const keys = code.map((id) => `kubecfn/functions/packages/${id}/${id === 'HelmLayer' ? 'layer' : 'lambda'}.zip`);
  let n = 0;

  /** Runs one CloudFormation request through the handler; returns what reached the response URL. */
  async function request(
    RequestType: 'Create' | 'Update' | 'Delete',
    props: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) {
    const id = `r${++n}`;
    await handler({
      RequestType,
      ResponseURL: responses.url(id),
      StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/s/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      RequestId: `req-${id}`,
      LogicalResourceId: 'CopiedCode',
      ResourceType: 'AWS::CloudFormation::CustomResource',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:kubecfn-copy-x', ...props },
      ...extra,
    });
    const [body] = responses.bodiesFor(id);
    return body!;
  }
  const keysIn = async (bucket: string) =>
    ((await s3In('eu-west-1').send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [])
      .map((o) => o.Key!)
      .sort();

  beforeAll(async () => {
    moto = await startMoto();
    responses = await ResponseServer.start();
    const east = s3In('us-east-1');
    await east.send(new CreateBucketCommand({ Bucket: source }));
    for (const Key of keys) await east.send(new PutObjectCommand({ Bucket: source, Key, Body: `zip of ${Key}` }));
    // The function's environment in Lambda: its Region and credentials; here the endpoint is moto's.
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    const zip = (t.Resources.CopyCodeFunction!.Properties!.Code as { ZipFile: string }).ZipFile;
    const exports: { handler?: typeof handler } = {};
    // Node's CommonJS wrapper, as the nodejs runtime loads index.js; @aws-sdk/client-s3 ships with it.
    new Function('require', 'exports', zip)(createRequire(join(repoRoot, 'package.json')), exports);
    handler = exports.handler!;
  });

  afterAll(async () => {
    process.env = saved;
    await responses?.stop();
    await moto?.stop();
  });

  test('Create copies every key from the other Region’s bucket; Delete removes the copies', async () => {
    const east = s3In('eu-west-1');
    await east.send(
      new CreateBucketCommand({ Bucket: 'copy-a', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );
    const props = { SourceBucket: source, DestinationBucket: 'copy-a', Keys: keys };

    const created = await request('Create', props);
    expect(created).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `copy-a/${[...keys].sort().join(',')}` });
    expect(await keysIn('copy-a')).toEqual([...keys].sort());
    for (const Key of keys) {
      const body = await (await east.send(new GetObjectCommand({ Bucket: 'copy-a', Key }))).Body!.transformToString();
      expect(body).toBe(`zip of ${Key}`);
    }

    const deleted = await request('Delete', props, { PhysicalResourceId: created.PhysicalResourceId });
    expect(deleted).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    expect(await keysIn('copy-a')).toEqual([]);

    // Already gone: the copies, then the bucket too.
    expect(await request('Delete', props, { PhysicalResourceId: created.PhysicalResourceId })).toMatchObject({
      Status: 'SUCCESS',
    });
    await east.send(new DeleteBucketCommand({ Bucket: 'copy-a' }));
    expect(await request('Delete', props, { PhysicalResourceId: created.PhysicalResourceId })).toMatchObject({
      Status: 'SUCCESS',
    });
  });

  test('another key prefix is another physical ID, so CloudFormation deletes the old copies', async () => {
    await s3In('eu-west-1').send(
      new CreateBucketCommand({ Bucket: 'copy-b', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );
    const first = await request('Create', { SourceBucket: source, DestinationBucket: 'copy-b', Keys: keys });
    const updated = await request(
      'Update',
      { SourceBucket: source, DestinationBucket: 'copy-b', Keys: keys.slice(0, 2) },
      { PhysicalResourceId: first.PhysicalResourceId },
    );
    expect(updated.Status).toBe('SUCCESS');
    expect(updated.PhysicalResourceId).not.toBe(first.PhysicalResourceId);
  });

  test('a package missing from the code bucket fails, naming the key and the error', async () => {
    await s3In('eu-west-1').send(
      new CreateBucketCommand({ Bucket: 'copy-c', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );
    const missing = 'kubecfn/functions/packages/Nope/lambda.zip';
    const failed = await request('Create', { SourceBucket: source, DestinationBucket: 'copy-c', Keys: [missing] });
    expect(failed.Status).toBe('FAILED');
    expect(failed.Reason).toMatch(new RegExp(`^copying ${missing} from the code bucket: NoSuchKey`));
  });

  test.each([
    ['no Keys', { SourceBucket: source, DestinationBucket: 'copy-c' }],
    ['Keys not a list', { SourceBucket: source, DestinationBucket: 'copy-c', Keys: 'a.zip' }],
    ['an empty key', { SourceBucket: source, DestinationBucket: 'copy-c', Keys: ['a.zip', ''] }],
    ['no SourceBucket', { DestinationBucket: 'copy-c', Keys: keys }],
  ])('%s: FAILED, naming the properties expected, nothing copied', async (_what, props) => {
    const before = await keysIn('copy-c');
    const failed = await request('Create', props);
    expect(failed.Status).toBe('FAILED');
    expect(failed.Reason).toBe(
      'reading the properties: Error: SourceBucket, DestinationBucket and Keys (a list of object keys) are required',
    );
    expect(await keysIn('copy-c')).toEqual(before);
  });
});
