// The custom resources the templates declare, checked against the providers that serve them: each
// sets a ServiceTimeout (CloudFormation never waits an hour), leaves room for its own TimeoutSeconds,
// names the right provider, and passes properties the resource's own schema accepts — the same
// parseProperties the runtime calls, so a misspelt property fails here rather than in a stack event.
import type * as z from 'zod';
import { awsAuthSchema } from '../../functions/src/resources/aws-auth/schema';
import { schema as helmReleaseSchema } from '../../functions/src/resources/helm-release/schema';
import { schema as kubeGetSchema } from '../../functions/src/resources/kube-get/schema';
import { schema as kubeManifestSchema } from '../../functions/src/resources/kube-manifest/schema';
import { parseProperties } from '../../functions/src/runtime';
import { allTemplatePaths, loadTemplate, walk, type Template } from './cfn-template';

/** Per type: its provider, its schema, the attributes its Data carries, its TimeoutSeconds default. */
const types: Record<string, { provider: string; schema: z.ZodType; attributes: string[]; defaultTimeout?: number }> = {
  'Custom::KubeManifest': {
    provider: 'KubeProvider',
    schema: kubeManifestSchema,
    attributes: ['ObjectCount', 'Objects'],
    defaultTimeout: 300,
  },
  'Custom::KubeGet': { provider: 'KubeProvider', schema: kubeGetSchema, attributes: ['Value'], defaultTimeout: 300 },
  'Custom::AwsAuth': { provider: 'KubeProvider', schema: awsAuthSchema, attributes: [] },
  'Custom::HelmRelease': {
    provider: 'HelmProvider',
    schema: helmReleaseSchema,
    attributes: ['ReleaseName', 'Namespace', 'Revision', 'Status', 'ChartVersion', 'AppVersion'],
    defaultTimeout: 600,
  },
};

const customResources = allTemplatePaths().flatMap((path) => {
  const t = loadTemplate(path);
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type.startsWith('Custom::'))
    .map(([id, r]) => ({ name: `${path}#${id}`, path, id, t, r }));
});

/**
 * A property value as the provider could receive it: intrinsic functions replaced by a plausible
 * string (a parameter's default, or a placeholder), the first branch of every Fn::If.
 */
function resolve(t: Template, value: unknown): unknown {
  const placeholder = (name: string): string => {
    if (name === 'AWS::Region') return 'us-east-1';
    if (name.startsWith('AWS::')) return 'aws-value';
    const d = t.Parameters?.[name]?.Default;
    return d !== undefined && d !== '' ? String(d) : `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}-value`;
  };
  const sub = (text: string, vars: Record<string, unknown>) =>
    text.replace(/\$\{([^!}][^}]*)\}/g, (_, v: string) =>
      v in vars ? String(resolve(t, vars[v])) : placeholder(v.split('.')[0]!),
    );
  if (Array.isArray(value)) return value.map((v) => resolve(t, v));
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ('Ref' in o) return placeholder(String(o.Ref));
  if ('Fn::GetAtt' in o) return 'attribute-value';
  if ('Fn::Sub' in o) {
    const s = o['Fn::Sub'];
    return typeof s === 'string'
      ? sub(s, {})
      : sub((s as [string, Record<string, unknown>])[0], (s as [string, Record<string, unknown>])[1]);
  }
  if ('Fn::If' in o) return resolve(t, (o['Fn::If'] as unknown[])[1]);
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return (resolve(t, parts) as unknown[]).join(sep);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(t, v)]));
}

/** CloudFormation passes every scalar as a string. */
function asCloudFormationSends(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asCloudFormationSends);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asCloudFormationSends(v)]));
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

test('the templates use every kind of custom resource they ship examples for', () => {
  const used = new Set(customResources.map((c) => c.r.Type));
  expect([...used].sort()).toEqual(['Custom::HelmRelease', 'Custom::KubeGet', 'Custom::KubeManifest']);
});

describe.each(customResources)('$name', ({ t, r }) => {
  const type = types[r.Type];

  test('is a type the providers serve', () => {
    expect(Object.keys(types)).toContain(r.Type);
  });

  test('sets ServiceTimeout (1–3600 s) with room for its own TimeoutSeconds and the runtime’s margin', () => {
    const serviceTimeout = r.Properties!.ServiceTimeout;
    expect(Number.isInteger(serviceTimeout)).toBe(true);
    expect(serviceTimeout).toBeGreaterThanOrEqual(1);
    expect(serviceTimeout).toBeLessThanOrEqual(3600);
    const timeout = Number(r.Properties!.TimeoutSeconds ?? type!.defaultTimeout ?? 0);
    // The runtime answers before ServiceTimeout minus a tenth of it (at least a minute here, to
    // leave time for a clean failure after the work's own timeout).
    expect(timeout).toBeLessThanOrEqual((serviceTimeout as number) - Math.max(60, (serviceTimeout as number) / 10));
  });

  test('is served by its provider', () => {
    expect(JSON.stringify(r.Properties!.ServiceToken)).toContain(type!.provider);
  });

  test('passes properties its schema accepts', () => {
    const raw = asCloudFormationSends(resolve(t, r.Properties)) as Record<string, unknown>;
    expect(() => parseProperties(type!.schema, raw)).not.toThrow();
  });
});

test('templates read only attributes the resources return', () => {
  const problems: string[] = [];
  for (const path of allTemplatePaths()) {
    const t = loadTemplate(path);
    walk(t, (node) => {
      const o = node as Record<string, unknown> | null;
      const refs: [string, string][] = [];
      const getAtt = o?.['Fn::GetAtt'];
      if (Array.isArray(getAtt)) refs.push([String(getAtt[0]), String(getAtt[1])]);
      const sub = o?.['Fn::Sub'];
      const text = typeof sub === 'string' ? sub : Array.isArray(sub) ? String(sub[0]) : '';
      for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)\.([A-Za-z0-9.]+)\}/g)) refs.push([m[1]!, m[2]!]);
      for (const [id, attr] of refs) {
        const type = types[t.Resources[id]?.Type ?? ''];
        if (type && !type.attributes.includes(attr)) problems.push(`${path}: ${id}.${attr}`);
      }
    });
  }
  expect(problems).toEqual([]);
});

test('a misspelt property would be caught', () => {
  // The check above is only worth something if the schemas reject what they do not know.
  expect(() => parseProperties(kubeGetSchema, { ClusterName: 'c', Object: 'service/x', JsonPth: '{.a}' })).toThrow(
    /JsonPth/,
  );
});
