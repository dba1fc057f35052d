// The Quick Start key layout, URLs and flag checks, and K=V parsing.
import { parseKeyValues, parseMinutes, UsageError } from '../../scripts/lib/args';
import { join } from 'node:path';
import { readDeclaredParameters } from '../../scripts/lib/parameters';
import {
  awsCliDeployCommand,
  entrypoints,
  npmDeployCommand,
  contentTypeFor,
  entrypointUrl,
  launchRegions,
  launchStackUrl,
  launchStackUrls,
  objectUrl,
  validateBucket,
  validatePrefix,
  validateRegion,
} from '../../scripts/lib/s3-layout';
import { repoRoot } from './helpers';

const location = { bucket: 'my-qs-bucket', prefix: 'kubecfn/', region: 'eu-central-1' };

describe('URLs', () => {
  test('objects keep their repository path under the prefix, virtual-hosted and regional', () => {
    expect(objectUrl(location, 'submodules/vpc/templates/vpc.template.yaml')).toBe(
      'https://my-qs-bucket.s3.eu-central-1.amazonaws.com/kubecfn/submodules/vpc/templates/vpc.template.yaml',
    );
    expect(entrypointUrl({ ...location, region: 'cn-north-1' }, 'existing-vpc')).toBe(
      'https://my-qs-bucket.s3.cn-north-1.amazonaws.com.cn/kubecfn/templates/kubecfn-entrypoint-existing-vpc.template.yaml',
    );
  });

  test('the launch-stack URL opens the console quick-create page with the QSS3 parameters filled in', () => {
    const url = launchStackUrl(location, 'new-vpc', 'ci-cluster');
    expect(url).toBe(
      'https://console.aws.amazon.com/cloudformation/home?region=eu-central-1#/stacks/create/review' +
        '?templateURL=https%3A%2F%2Fmy-qs-bucket.s3.eu-central-1.amazonaws.com%2Fkubecfn%2Ftemplates%2Fkubecfn-entrypoint-new-vpc.template.yaml' +
        '&stackName=ci-cluster&param_QSS3BucketName=my-qs-bucket&param_QSS3KeyPrefix=kubecfn%2F&param_QSS3BucketRegion=eu-central-1',
    );
    // what the console reads back out of the fragment
    const query = new URLSearchParams(new URL(url).hash.split('?')[1]);
    expect(query.get('templateURL')).toBe(entrypointUrl(location, 'new-vpc'));
    expect(query.get('param_QSS3KeyPrefix')).toBe('kubecfn/');
  });

  test('a stack in another Region opens that Region’s console; the template and QSS3BucketRegion stay the bucket’s', () => {
    const url = new URL(launchStackUrl(location, 'existing-cluster', 'kubecfn', 'us-west-2'));
    expect(url.searchParams.get('region')).toBe('us-west-2');
    const query = new URLSearchParams(url.hash.split('?')[1]);
    expect(query.get('templateURL')).toBe(
      'https://my-qs-bucket.s3.eu-central-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-existing-cluster.template.yaml',
    );
    expect(query.get('param_QSS3BucketRegion')).toBe('eu-central-1');
  });

  test('one bucket, a launch link for every Region: the bucket’s first, then the others of its partition', () => {
    const links = launchStackUrls(location, 'new-vpc');
    expect(links.map((l) => l.region)).toEqual(['eu-central-1', ...launchRegions.filter((r) => r !== 'eu-central-1')]);
    for (const { region, url } of links) expect(url).toBe(launchStackUrl(location, 'new-vpc', 'kubecfn', region));
    expect(launchStackUrls({ ...location, region: 'cn-north-1' }, 'new-vpc').map((l) => l.region)).toEqual([
      'cn-north-1',
    ]);
    expect(launchStackUrls({ ...location, region: 'ap-southeast-2' }, 'new-vpc').map((l) => l.region)).toEqual([
      'ap-southeast-2',
      ...launchRegions,
    ]);
  });

  test('China and GovCloud regions use their own console', () => {
    expect(launchStackUrl({ ...location, region: 'cn-northwest-1' }, 'new-vpc')).toMatch(
      /^https:\/\/console\.amazonaws\.cn\/cloudformation\/home\?region=cn-northwest-1#/,
    );
    expect(launchStackUrl({ ...location, region: 'us-gov-west-1' }, 'new-vpc')).toMatch(
      /^https:\/\/console\.amazonaws-us-gov\.com\//,
    );
  });
});

describe('checks', () => {
  test.each(['kubecfn/', 'team-a/kubecfn/', 'v1.2/'])('prefix %s is accepted', (p) =>
    expect(validatePrefix(p)).toBeUndefined(),
  );
  test.each([
    ['kubecfn', 'must end with "/"'],
    ['/kubecfn/', 'must not start with "/"'],
    ['a//b/', 'single "/"'],
    ['kube cfn/', 'may hold only'],
  ])('prefix %s is refused: %s', (p, message) => expect(validatePrefix(p)).toContain(message));

  test.each(['abc', 'my-qs-bucket', 'a'.repeat(63)])('bucket %s is accepted', (b) =>
    expect(validateBucket(b)).toBeUndefined(),
  );
  test.each(['ab', 'My-Bucket', 'my.bucket', '-bucket', 'bucket-', 'a'.repeat(64)])('bucket %s is refused', (b) =>
    expect(validateBucket(b)).toMatch(/^--bucket must be/),
  );

  test('regions', () => {
    expect(validateRegion('us-gov-west-1')).toBeUndefined();
    expect(validateRegion('eu-central-1')).toBeUndefined();
    expect(validateRegion('europe')).toMatch(/^--region must be a region name/);
  });

  test('content types', () => {
    expect(contentTypeFor('templates/x.template.yaml')).toBe('application/yaml');
    expect(contentTypeFor('a.yml')).toBe('application/yaml');
    expect(contentTypeFor('a.json')).toBe('application/json');
    expect(contentTypeFor('functions/packages/HelmLayer/layer.zip')).toBe('application/zip');
    expect(contentTypeFor('bin/thing')).toBe('application/octet-stream');
  });
});

describe('parseKeyValues', () => {
  test('splits on the first "=" only', () => {
    expect(parseKeyValues('--param', ['Cidr=10.0.0.0/16', 'Values=a=b', 'Empty='])).toEqual({
      Cidr: '10.0.0.0/16',
      Values: 'a=b',
      Empty: '',
    });
  });

  test.each([
    [['NoEquals'], '--param expects KEY=VALUE with an alphanumeric KEY (got "NoEquals")'],
    [['bad-key=1'], 'got "bad-key=1"'],
    [['A=1', 'A=2'], '--param A is given twice'],
  ])('%j is a usage error', (items, message) => {
    expect(() => parseKeyValues('--param', items)).toThrow(UsageError);
    expect(() => parseKeyValues('--param', items)).toThrow(message);
  });

  test('minutes', () => {
    expect(parseMinutes('--timeout', undefined, 180)).toBe(180 * 60_000);
    expect(parseMinutes('--timeout', '0.5', 180)).toBe(30_000);
    expect(() => parseMinutes('--timeout', '-1', 180)).toThrow(
      '--timeout expects a positive number of minutes (got "-1")',
    );
  });
});

describe('printed deploy commands', () => {
  // Every parameter without a default in the real entrypoints is in the commands upload prints.
  test.each(Object.keys(entrypoints) as (keyof typeof entrypoints)[])(
    '%s: the commands carry every required parameter',
    (name) => {
      const declared = readDeclaredParameters(join(repoRoot, entrypoints[name]));
      const required = Object.keys(declared).filter((k) => declared[k]!.Default === undefined);
      const npm = npmDeployCommand(location, name);
      const cli = awsCliDeployCommand(location, name);
      for (const key of required) {
        if (key.startsWith('QSS3')) {
          expect(npm).toContain(`--bucket ${location.bucket}`);
          expect(cli).toContain(`${key}=`);
        } else {
          expect(npm).toContain(`--param ${key}=`);
          expect(cli).toContain(`${key}=`);
        }
      }
      expect(required.length).toBeGreaterThan(0);
    },
  );
});
