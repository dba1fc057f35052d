import { parseProperties } from '../../../../functions/src/runtime';
import {
  defaultReleaseName,
  schema,
  targetOf,
  targetOfPhysicalId,
  physicalIdOf,
} from '../../../../functions/src/resources/helm-release';

describe('Custom::HelmRelease properties', () => {
  test("defaults, from CloudFormation's strings", () => {
    const props = parseProperties(schema, {
      ServiceToken: 'arn',
      ClusterName: 'ci',
      Chart: 'web',
      Values: '{"a": {"b": 1}}',
    });

    expect(props).toEqual({
      ClusterName: 'ci',
      Chart: 'web',
      Values: { a: { b: 1 } },
      Namespace: 'default',
      CreateNamespace: true,
      Wait: true,
      TimeoutSeconds: 600,
      SkipCrds: false,
      RetainCrds: false,
      Adopt: false,
    });
  });

  test('bad values name the property and what was expected', () => {
    expect(() =>
      parseProperties(schema, {
        ClusterName: 'ci',
        Chart: 'web',
        ReleaseName: 'x'.repeat(54),
        Namespace: 'Bad_NS',
        Wait: 'yes',
        TimeoutSeconds: '0',
        Values: '- a\n- b',
        ValuesUrl: 'https://x/v.yaml',
      }),
    ).toThrow(
      [
        'Values: expected a map of chart values, got a list',
        'ValuesUrl: expected s3://<bucket>/<key> of a YAML values file',
        'Namespace: expected a DNS-1123 label (lower-case letters, digits and hyphens)',
        'ReleaseName: expected at most 53 characters',
        'Wait: expected "true" or "false", got text',
        'TimeoutSeconds: expected a whole number ≥ 1',
      ].join('; '),
    );
    expect(() => parseProperties(schema, { ClusterName: 'ci', Chart: 'web', Chrat: 'x' })).toThrow(
      /^Chrat: unknown property; expected one of ClusterName, Chart, Repository/,
    );
  });

  test('the default release name is the logical id in lower case, at most 53 characters', () => {
    expect(defaultReleaseName('JenkinsRelease')).toBe('jenkinsrelease');
    expect(defaultReleaseName('A'.repeat(60))).toBe('a'.repeat(53));
  });

  test('physical ids name cluster, namespace and release, and read back', () => {
    const props = parseProperties(schema, { ClusterName: 'ci', Chart: 'web', Namespace: 'tools' });
    const target = targetOf(props, 'Jenkins');

    expect(physicalIdOf(target)).toBe('helm:ci:tools/jenkins');
    expect(targetOfPhysicalId('helm:ci:tools/jenkins')).toEqual(target);
    expect(targetOfPhysicalId('kubecfn:create-failed:X:abc')).toBeUndefined();
  });
});
