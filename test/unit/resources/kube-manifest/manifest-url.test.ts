import { manifestLocation } from '../../../../functions/src/resources/kube-manifest/manifest-url';
import { schema } from '../../../../functions/src/resources/kube-manifest/schema';
import { parseProperties } from '../../../../functions/src/runtime';

describe('ManifestUrl', () => {
  test.each([
    ['s3://my-bucket/kubecfn/app.yaml', { bucket: 'my-bucket', key: 'kubecfn/app.yaml' }],
    ['https://my-bucket.s3.eu-west-1.amazonaws.com/dir/app%201.yaml', { bucket: 'my-bucket', key: 'dir/app 1.yaml' }],
    ['https://my.dotted.bucket.s3.amazonaws.com/app.yaml', { bucket: 'my.dotted.bucket', key: 'app.yaml' }],
    ['https://my-bucket.s3-eu-west-1.amazonaws.com/app.yaml', { bucket: 'my-bucket', key: 'app.yaml' }],
    ['https://s3.eu-west-1.amazonaws.com/my-bucket/a/b.yaml', { bucket: 'my-bucket', key: 'a/b.yaml' }],
    ['https://s3.amazonaws.com/my-bucket/b.yaml', { bucket: 'my-bucket', key: 'b.yaml' }],
    ['https://my-bucket.s3.cn-north-1.amazonaws.com.cn/b.yaml', { bucket: 'my-bucket', key: 'b.yaml' }],
  ])('%s names its object', (url, location) => {
    expect(manifestLocation(url)).toEqual(location);
    expect(() => parseProperties(schema, { ClusterName: 'c', ManifestUrl: url })).not.toThrow();
  });

  test.each([
    'https://example.com/app.yaml',
    'http://my-bucket.s3.amazonaws.com/app.yaml',
    's3://my-bucket/',
    's3://My_Bucket/app.yaml',
    'https://s3.eu-west-1.amazonaws.com/my-bucket/',
    'file:///app.yaml',
  ])('%s is refused, naming ManifestUrl and the forms it takes', (url) => {
    expect(manifestLocation(url)).toBeUndefined();
    expect(() => parseProperties(schema, { ClusterName: 'c', ManifestUrl: url })).toThrow(
      /^Invalid properties for .*ManifestUrl: expected s3:\/\/<bucket>\/<key> or https:\/\/<bucket>\.s3\.<region>\.amazonaws\.com\/<key>|^ManifestUrl: expected s3:\/\/<bucket>\/<key> or https/,
    );
  });

  test('exactly one of Manifest and ManifestUrl', () => {
    expect(() => parseProperties(schema, { ClusterName: 'c' })).toThrow(
      /Manifest: expected the objects in Manifest, or the S3 URL of a manifest file in ManifestUrl \(one of the two\)/,
    );
    expect(() =>
      parseProperties(schema, {
        ClusterName: 'c',
        Manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n',
        ManifestUrl: 's3://b-1/a.yaml',
      }),
    ).toThrow(/ManifestUrl: expected either Manifest or ManifestUrl, not both/);
  });
});
