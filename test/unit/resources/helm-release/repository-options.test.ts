import { pemCertificates } from '../../../../functions/src/helm/repository-config';
import { repositoryOptionsProblem } from '../../../../functions/src/resources/helm-release/repository-options';
import { schema } from '../../../../functions/src/resources/helm-release/schema';
import { parseProperties } from '../../../../functions/src/runtime';

const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:charts/example-AbCdEf';

describe('HelmRelease repository options', () => {
  test('credentials and a CA for an https repository are accepted', () => {
    const props = parseProperties(schema, {
      ClusterName: 'c',
      Chart: 'web',
      Repository: 'https://charts.example.com',
      RepositorySecretArn: arn,
    });
    expect(props.RepositorySecretArn).toBe(arn);
    expect(repositoryOptionsProblem(props)).toBeUndefined();
  });

  test.each([
    [
      { Repository: 'http://charts.example.com', RepositorySecretArn: arn },
      /^RepositorySecretArn: expected an https:\/\/ Repository/,
    ],
    [{ RepositorySecretArn: arn }, /^RepositorySecretArn: only applies to an http\(s\) chart repository in Repository/],
    [
      { Repository: 'oci://r.example/charts', RepositorySecretArn: arn },
      /OCI registries other than ECR are not supported/,
    ],
    [
      { Repository: 'https://charts.example.com', RepositoryCaBundle: 'not PEM' },
      /^RepositoryCaBundle: expected PEM certificates/,
    ],
  ])('%o is refused, naming the property', (props, expected) => {
    expect(repositoryOptionsProblem(props)).toMatch(expected);
    expect(() => parseProperties(schema, { ClusterName: 'c', Chart: 'web', ...props })).toThrow(
      expected.source.startsWith('^') ? new RegExp(expected.source.slice(1)) : expected,
    );
  });

  test('a secret name instead of an ARN is refused', () => {
    expect(() =>
      parseProperties(schema, {
        ClusterName: 'c',
        Chart: 'web',
        Repository: 'https://x.example',
        RepositorySecretArn: 'charts/example',
      }),
    ).toThrow(/RepositorySecretArn: expected the ARN of a Secrets Manager secret/);
  });

  test('pemCertificates: only parseable certificates', () => {
    expect(pemCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toBeUndefined();
    expect(pemCertificates('no pem')).toBeUndefined();
  });
});
