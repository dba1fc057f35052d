import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ecrRegistry,
  findLocalChart,
  parseChartSource,
  parseS3Url,
  redactUrlCredentials,
} from '../../../functions/src/helm';

describe('parseChartSource', () => {
  test('a chart name with an http(s) Repository is a repository chart, with its version', () => {
    expect(parseChartSource({ Chart: 'jenkins', Repository: 'https://charts.jenkins.io', Version: '5.8.0' })).toEqual({
      kind: 'repository',
      repository: 'https://charts.jenkins.io',
      chart: 'jenkins',
      version: '5.8.0',
    });
  });

  test('an oci:// Chart, or a name under an oci:// Repository, is an OCI reference with its registry host', () => {
    expect(
      parseChartSource({ Chart: 'oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts/web', Version: '1.2.3' }),
    ).toEqual({
      kind: 'oci',
      reference: 'oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts/web',
      host: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      version: '1.2.3',
    });
    expect(parseChartSource({ Chart: 'web', Repository: 'oci://registry.example/charts/' })).toEqual({
      kind: 'oci',
      reference: 'oci://registry.example/charts/web',
      host: 'registry.example',
    });
  });

  test('s3:// and file:// charts', () => {
    expect(parseChartSource({ Chart: 's3://my-bucket/charts/web-0.1.0.tgz' })).toEqual({
      kind: 's3',
      location: { bucket: 'my-bucket', key: 'charts/web-0.1.0.tgz' },
    });
    expect(parseChartSource({ Chart: 'file://charts/web' })).toEqual({ kind: 'local', path: 'charts/web' });
    expect(parseChartSource({ Chart: './web' })).toEqual({ kind: 'local', path: './web' });
  });

  test('rejects combinations that make no sense, naming the property', () => {
    expect(() => parseChartSource({ Chart: 's3://b/web.tgz', Repository: 'https://charts.example' })).toThrow(
      "Chart: expected a chart name when Repository is set, got the URL 's3://b/web.tgz'; leave Repository out for s3:// charts",
    );
    expect(() => parseChartSource({ Chart: 'web', Repository: 'ftp://charts.example' })).toThrow(
      "Repository: expected an http(s):// chart repository URL or an oci:// registry path, got 'ftp://charts.example'",
    );
    expect(() => parseChartSource({ Chart: 'file://web', Version: '1.0.0' })).toThrow(
      "Version: only applies to a chart from Repository or an oci:// reference; the chart 'file://web' is a packaged chart, whose version it carries itself",
    );
    expect(() => parseChartSource({ Chart: 'https://charts.example/web-1.0.0.tgz' })).toThrow(
      /^Chart: expected an oci:\/\/ reference, an s3:\/\/ URL/,
    );
    expect(() => parseChartSource({ Chart: 's3://no' })).toThrow(
      "Chart: expected s3://<bucket>/<key> of a packaged chart (.tgz), got 's3://no'",
    );
    expect(() => parseChartSource({ Chart: 'oci://registry.example' })).toThrow(
      "Chart: expected oci://<registry>/<path>, got 'oci://registry.example'",
    );
  });
});

describe('parseS3Url and ecrRegistry', () => {
  test('parse what they should and nothing else', () => {
    expect(parseS3Url('s3://bucket.with.dots/a/b.yaml')).toEqual({ bucket: 'bucket.with.dots', key: 'a/b.yaml' });
    expect(parseS3Url('https://bucket.s3.amazonaws.com/a')).toBeUndefined();
    expect(ecrRegistry('123456789012.dkr.ecr.us-gov-west-1.amazonaws.com')).toEqual({
      accountId: '123456789012',
      region: 'us-gov-west-1',
    });
    expect(ecrRegistry('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toEqual({
      accountId: '123456789012',
      region: 'cn-north-1',
    });
    expect(ecrRegistry('ghcr.io')).toBeUndefined();
    expect(ecrRegistry('12345.dkr.ecr.eu-west-1.amazonaws.com')).toBeUndefined();
  });
});

describe('findLocalChart', () => {
  let roots: string[];
  beforeAll(() => {
    roots = [mkdtempSync(join(tmpdir(), 'charts-a-')), mkdtempSync(join(tmpdir(), 'charts-b-'))];
    mkdirSync(join(roots[1]!, 'web'));
  });
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  test('searches the roots in order and never leaves them', () => {
    expect(findLocalChart('web', roots)).toBe(join(roots[1]!, 'web'));
    expect(findLocalChart('./web/', roots)).toBe(join(roots[1]!, 'web/'));
    expect(findLocalChart('nosuch', roots)).toBeUndefined();
    expect(findLocalChart(`../${roots[1]!.split('/').pop()}/web`, [roots[0]!])).toBeUndefined();
    expect(findLocalChart(join(roots[1]!, 'web'), [])).toBe(join(roots[1]!, 'web'));
  });
});

describe('what never reaches helm or a Reason as given (issue 13.8, 13.11)', () => {
  test('a chart starting with "-" is refused: helm would read it as one of its options', () => {
    expect(() => parseChartSource({ Chart: '--post-renderer=/bin/sh', Repository: 'https://charts.example' })).toThrow(
      "Chart: expected a chart name, path or URL; it starts with '-', which helm would read as one of its options",
    );
    expect(() => parseChartSource({ Chart: '-x' })).toThrow(/starts with '-'/);
  });

  test('credentials in a Repository URL are masked in its Reason', () => {
    expect(() => parseChartSource({ Chart: 'web', Repository: 'ftp://bot:s3cret@charts.example' })).toThrow(
      "Repository: expected an http(s):// chart repository URL or an oci:// registry path, got 'ftp://****@charts.example'",
    );
    expect(
      redactUrlCredentials('looks like "https://bot:s3cret@charts.example/x" is not a valid chart repository'),
    ).toBe('looks like "https://****@charts.example/x" is not a valid chart repository');
  });
});
