// AdditionalReadS3Arns (objects KubeManifest's ManifestUrl and HelmRelease's chart and ValuesUrl may
// read) and HelmRepositorySecretArns (private chart repositories' credentials): a user sets them on the
// entrypoint they launch, and they must arrive, unchanged, as the functions stack's parameters, where
// they grant s3:GetObject and secretsmanager:GetSecretValue to the providers that need them, and nothing
// when left empty.
import { entrypointPaths, loadTemplate, type ParameterValues, type Template } from './cfn-template';
import { resolveValue } from './resolve';
import { evaluateCondition } from './rule-functions';

const functionsPath = 'templates/kubecfn-functions.template.yaml';
const eksPath = 'templates/kubecfn-eks.template.yaml';
const functions = loadTemplate(functionsPath);

/** resolveValue, then Fn::Join (a list parameter's Ref resolves to its comma-joined text). */
function resolve(t: Template, value: unknown, values: ParameterValues): unknown {
  const join = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(join);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (Object.keys(o).length === 1 && 'Fn::Join' in o) {
      const [delimiter, list] = o['Fn::Join'] as [string, unknown];
      const items = join(list);
      return (Array.isArray(items) ? items.map(String) : String(items).split(',')).join(delimiter);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, join(x)]));
  };
  return join(resolveValue(t, value, values));
}

/** The parameters a nested stack resource is given, resolved for the parent's values. */
function nestedParameters(t: Template, logicalId: string, values: ParameterValues): ParameterValues {
  const given = resolve(t, t.Resources[logicalId]!.Properties!.Parameters, values) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(given).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** What the functions stack is given when the entrypoint gets `values`, through the EKS stack if there is one. */
function functionsStackParameters(entry: string, values: ParameterValues): ParameterValues {
  const t = loadTemplate(entry);
  if (t.Resources.FunctionsStack) return nestedParameters(t, 'FunctionsStack', values);
  return nestedParameters(loadTemplate(eksPath), 'FunctionsStack', nestedParameters(t, 'EKSStack', values));
}

const s3 = 'arn:aws:s3:::my-charts/*,arn:aws:s3:::my-manifests/team-a/*';
const secrets =
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:charts/*,arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf';

describe.each(entrypointPaths)('%s', (entry) => {
  test('hands AdditionalReadS3Arns and HelmRepositorySecretArns to the functions stack as given', () => {
    const got = functionsStackParameters(entry, { AdditionalReadS3Arns: s3, HelmRepositorySecretArns: secrets });
    expect({
      AdditionalReadS3Arns: got.AdditionalReadS3Arns,
      HelmRepositorySecretArns: got.HelmRepositorySecretArns,
    }).toEqual({
      AdditionalReadS3Arns: s3,
      HelmRepositorySecretArns: secrets,
    });
    expect(evaluateCondition(functions, 'HasAdditionalReadS3Arns', got)).toBe(true);
    expect(evaluateCondition(functions, 'HasHelmRepositorySecretArns', got)).toBe(true);
  });

  test('by default both are empty there, and grant nothing', () => {
    const got = functionsStackParameters(entry, {});
    expect([got.AdditionalReadS3Arns, got.HelmRepositorySecretArns]).toEqual(['', '']);
    expect(evaluateCondition(functions, 'HasAdditionalReadS3Arns', got)).toBe(false);
    expect(evaluateCondition(functions, 'HasHelmRepositorySecretArns', got)).toBe(false);
  });
});

describe('the functions stack', () => {
  interface Policy {
    PolicyName: string;
    PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
  }
  /** The role's inline policies for these values, conditional ones resolved. */
  const policies = (role: string, values: ParameterValues) =>
    // A policy left out (Fn::If ... AWS::NoValue) resolves to the placeholder text <AWS::NoValue>.
    (resolve(functions, functions.Resources[role]!.Properties!.Policies, values) as (Policy | string)[])
      .filter((p): p is Policy => typeof p === 'object')
      .map((p) => ({
        name: p.PolicyName,
        grants: p.PolicyDocument.Statement.flatMap((s) => [s.Action].flat().map((a) => [a, s.Resource])),
      }));
  const given = { ClusterName: 'c', QSS3BucketName: 'b', AdditionalReadS3Arns: s3, HelmRepositorySecretArns: secrets };
  const grantsOf = (role: string, action: string, values: ParameterValues) =>
    policies(role, values).flatMap((p) => p.grants.filter(([a]) => a === action).map(([, r]) => r));

  test('only the HelmProvider, which runs helm, may read the chart repositories’ secrets', () => {
    expect(grantsOf('HelmProviderRole', 'secretsmanager:GetSecretValue', given)).toEqual([secrets]);
    expect(grantsOf('KubeProviderRole', 'secretsmanager:GetSecretValue', given)).toEqual([]);
    expect(grantsOf('CleanupProviderRole', 'secretsmanager:GetSecretValue', given)).toEqual([]);
  });

  test('both the KubeProvider (ManifestUrl) and the HelmProvider (charts, ValuesUrl) may read the extra S3 objects', () => {
    for (const role of ['KubeProviderRole', 'HelmProviderRole'])
      expect([role, grantsOf(role, 's3:GetObject', given)]).toEqual([role, expect.arrayContaining([s3])]);
  });

  test('left empty, neither grant exists: the providers read the code location alone', () => {
    const empty = { ClusterName: 'c', QSS3BucketName: 'b', 'AWS::Partition': 'aws', 'AWS::Region': 'eu-west-1' };
    for (const role of ['KubeProviderRole', 'HelmProviderRole']) {
      expect([role, grantsOf(role, 'secretsmanager:GetSecretValue', empty)]).toEqual([role, []]);
      expect([role, grantsOf(role, 's3:GetObject', empty)]).toEqual([role, ['arn:aws:s3:::b/kubecfn/*']]);
    }
  });
});
