// The custom resource types in machine-readable form (npm run schemas, scripts/dev/schemas.ts): the
// JSON Schemas in docs/schemas and the property tables of docs/resources are what the zod schemas
// say; what replaces a resource is what its physical id is made of; and cfn-lint, with the rule in
// docs/schemas/cfn-lint, finds the mistakes of a user's template and passes a correct one.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import helmRelease from '../../functions/src/resources/helm-release';
import kubeManifest from '../../functions/src/resources/kube-manifest';
import { parseProperties } from '../../functions/src/runtime';
import { generated, schemaFileName, types } from '../../scripts/dev/schemas';
import { repoRoot } from './helpers';

describe('generated files', () => {
  test.each(generated().map((f) => [f.path, f.content]))('%s is up to date (npm run schemas)', (path, content) => {
    expect(readFileSync(join(repoRoot, path), 'utf8')).toBe(content);
  });

  test.each(types.map((t) => [t.typeName, t]))(
    '%s: the schema lists every property the provider accepts',
    (_, info) => {
      const schema = JSON.parse(
        readFileSync(join(repoRoot, 'docs/schemas', schemaFileName(info.typeName)), 'utf8'),
      ) as {
        properties: Record<string, unknown>;
        required: string[];
        additionalProperties: boolean;
      };
      const shape = (info.schema as unknown as { _zod: { def: { shape: Record<string, unknown> } } })._zod.def.shape;
      expect(Object.keys(schema.properties)).toEqual(['ServiceToken', 'ServiceTimeout', ...Object.keys(shape)]);
      expect(schema.required[0]).toBe('ServiceToken');
      expect(schema.additionalProperties).toBe(false);
    },
  );

  test('the reference tables say Required, Type, Update requires and Default', () => {
    const page = readFileSync(join(repoRoot, 'docs/resources/helm-release.md'), 'utf8');
    expect(page).toContain('| Property | Required | Type | Update requires | Default | What it does |');
    expect(page).toMatch(/\| `ServiceToken` \| Yes \| String, non-empty \| Updates are not supported \| — \|/);
    expect(page).toMatch(/\| `Namespace` \| No \| String, 1–63 characters, [^|]+\| Replacement \| `default` \|/);
    expect(page).toMatch(/\| `TimeoutSeconds` \| No \| Integer, 1–3600 \| No interruption \| `600` \|/);
    expect(page).toContain('"Type" : "Custom::HelmRelease"');
  });
});

describe('Update requires: Replacement is what the physical id is made of', () => {
  const event = {
    StackId: 'arn:aws:cloudformation:us-east-1:111122223333:stack/s/0000',
    LogicalResourceId: 'Release',
  } as Parameters<NonNullable<typeof helmRelease.physicalId>>[1];
  const cases: [string, typeof helmRelease | typeof kubeManifest, Record<string, unknown>, Record<string, unknown>][] =
    [
      [
        'Custom::HelmRelease',
        helmRelease,
        { ClusterName: 'a', Chart: 'web', Repository: 'https://charts.example', Namespace: 'ns', ReleaseName: 'web' },
        {
          ClusterName: 'b',
          Chart: 'api',
          Repository: 'https://other.example',
          Version: '2.0.0',
          Namespace: 'other',
          ReleaseName: 'web2',
          Wait: 'false',
          TimeoutSeconds: '30',
          SkipCrds: 'true',
          CreateNamespace: 'false',
          Values: 'a: 1',
          ValuesUrl: 's3://b/k.yaml',
        },
      ],
      [
        'Custom::KubeManifest',
        kubeManifest,
        { ClusterName: 'a', Manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }' },
        {
          ClusterName: 'b',
          Manifest: 'apiVersion: v1\nkind: Secret\nmetadata: { name: b }',
          Namespace: 'other',
          Wait: 'none',
          TimeoutSeconds: '30',
          RetainOnDelete: 'true',
        },
      ],
    ];
  test.each(cases)('%s', (typeName, definition, base, changed) => {
    const info = types.find((t) => t.typeName === typeName)!;
    const id = (props: Record<string, unknown>) =>
      definition.physicalId!(parseProperties(definition.schema as never, props) as never, event);
    const replacing = Object.keys(changed).filter((k) => id({ ...base, [k]: changed[k] }) !== id(base));
    expect(replacing.sort()).toEqual([...info.replacement].sort());
  });
});

const cfnLint = join(repoRoot, '.venv', 'cfn-lint', 'bin', 'cfn-lint');
const fixtures = join(__dirname, 'fixtures', 'cfn-lint');
const lint = (file: string) =>
  spawnSync(cfnLint, ['--append-rules', join(repoRoot, 'docs/schemas/cfn-lint'), '--', file], {
    cwd: fixtures, // away from the repository's .cfnlintrc.yaml: a user's own checkout
    encoding: 'utf8',
    env: { ...process.env, PYTHONWARNINGS: 'ignore' },
  });

(existsSync(cfnLint) ? describe : describe.skip)('cfn-lint with the E9101 rule on a user template', () => {
  test('finds a misspelt property, a wrong type, a value out of range, a missing property, a bad enum value and a wrong entry key', () => {
    const r = lint('custom-resources-bad.yaml');
    expect(r.status).not.toBe(0);
    const findings = r.stdout.split('\n\n').filter((f) => f.startsWith('E9101 Custom::'));
    const at = (line: number) => findings.filter((f) => f.includes(`custom-resources-bad.yaml:${line}:`)).join('\n');
    expect(at(17)).toContain("Custom::HelmRelease: Additional properties are not allowed ('Repo' was unexpected)");
    expect(at(24)).toContain("Custom::HelmRelease: 'maybe' is not of type 'boolean'");
    expect(at(32)).toContain('Custom::KubeGet: 7200 is greater than the maximum of 3600');
    expect(at(35)).toContain("Custom::KubeManifest: 'ClusterName' is a required property");
    expect(at(47)).toContain("Custom::KubeManifest: 'sometimes' is not one of ['none', 'ready']");
    expect(r.stdout).toContain("Additional properties are not allowed ('RoleArn' was unexpected)");
  });

  test('passes the same resources written correctly (strings for scalars, YAML text, intrinsic functions)', () => {
    const r = lint('custom-resources-good.yaml');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});
