// The custom resources the templates declare, checked against the providers as their own code
// declares them: which provider routes each type (the `resources` each provider hands to
// createProvider), the type's definition (its schema, the same parseProperties the runtime calls,
// with its TimeoutSeconds default; its `attributes`, the Data keys every SUCCESS answer carries),
// and the Data table of the type's page in docs/resources. Each resource sets a ServiceTimeout
// (CloudFormation never waits an hour) with room for its own TimeoutSeconds, names the right
// provider, and passes properties the schema accepts on every branch of its Fn::If, so a misspelt
// property fails here rather than in a stack event.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProperties, type ProviderOptions, type ResourceDefinition } from '../../functions/src/runtime';
import { allTemplatePaths, loadTemplate, repoRoot, walk, type Template } from './cfn-template';

// The providers' routing, as they declare it: each provider module calls createProvider({ name,
// resources }) when it loads; the mock records that and hands back the real handler.
const mockDeclared: ProviderOptions[] = [];
jest.mock('../../functions/src/runtime', () => {
  const actual = jest.requireActual<typeof import('../../functions/src/runtime')>('../../functions/src/runtime');
  return {
    ...actual,
    createProvider: (options: ProviderOptions) => {
      mockDeclared.push(options);
      return actual.createProvider(options);
    },
  };
});

const providersDir = join(repoRoot, 'functions/src/providers');

/** Per type, as the code declares it: the provider that routes it and the definition it loads. */
const served = new Map<string, { provider: string; definition: ResourceDefinition<unknown, unknown> }>();

beforeAll(async () => {
  for (const file of readdirSync(providersDir).filter((f) => f.endsWith('.ts'))) await import(join(providersDir, file));
  for (const { name, resources } of mockDeclared) {
    for (const [type, load] of Object.entries(resources)) {
      if (served.has(type)) throw new Error(`${type} is routed by ${served.get(type)!.provider} and ${name}`);
      served.set(type, { provider: name, definition: (await load()).default });
    }
  }
});

const customResources = allTemplatePaths().flatMap((path) => {
  const t = loadTemplate(path);
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type.startsWith('Custom::'))
    .map(([id, r]) => ({ name: `${path}#${id}`, path, id, t, r }));
});

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * A property value as the provider could receive it when each condition in `branch` has the given
 * value: intrinsic functions replaced by a plausible string (a parameter's default, or a
 * placeholder), `Ref: AWS::NoValue` dropping its key or list item as CloudFormation does.
 */
function resolve(t: Template, value: unknown, branch: Record<string, boolean>): unknown {
  const placeholder = (name: string): string => {
    if (name === 'AWS::Region') return 'us-east-1';
    if (name.startsWith('AWS::')) return 'aws-value';
    // A parameter of an AWS-specific type holds an id of that kind.
    if (t.Parameters?.[name]?.Type === 'AWS::EC2::VPC::Id') return 'vpc-0123456789abcdef0';
    const d = t.Parameters?.[name]?.Default;
    return d !== undefined && d !== '' ? String(d) : `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}-value`;
  };
  const sub = (text: string, vars: Record<string, unknown>) =>
    text.replace(/\$\{([^!}][^}]*)\}/g, (_, v: string) =>
      v in vars ? String(resolve(t, vars[v], branch)) : placeholder(v.split('.')[0]!),
    );
  if (Array.isArray(value)) return value.map((v) => resolve(t, v, branch)).filter((v) => v !== NO_VALUE);
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ('Ref' in o) return o.Ref === 'AWS::NoValue' ? NO_VALUE : placeholder(String(o.Ref));
  if ('Fn::GetAtt' in o) return 'attribute-value';
  if ('Fn::Sub' in o) {
    const s = o['Fn::Sub'];
    return typeof s === 'string'
      ? sub(s, {})
      : sub((s as [string, Record<string, unknown>])[0], (s as [string, Record<string, unknown>])[1]);
  }
  if ('Fn::If' in o) {
    const [condition, ifTrue, ifFalse] = o['Fn::If'] as [string, unknown, unknown];
    if (!(condition in branch)) throw new Error(`no branch chosen for condition ${condition}`);
    return resolve(t, branch[condition] ? ifTrue : ifFalse, branch);
  }
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return (resolve(t, parts, branch) as unknown[]).join(sep);
  }
  return Object.fromEntries(
    Object.entries(o)
      .map(([k, v]) => [k, resolve(t, v, branch)] as const)
      .filter(([, v]) => v !== NO_VALUE),
  );
}

/** The value under every combination of the conditions its Fn::If use: both branches of each. */
function resolutions(t: Template, value: unknown): { branch: Record<string, boolean>; value: unknown }[] {
  const conditions = new Set<string>();
  walk(value, (node) => {
    const ifArgs = (node as { 'Fn::If'?: unknown } | null)?.['Fn::If'];
    if (Array.isArray(ifArgs)) conditions.add(String(ifArgs[0]));
  });
  const names = [...conditions];
  if (names.length > 10) throw new Error(`${names.length} conditions: too many combinations to try`);
  return Array.from({ length: 2 ** names.length }, (_, i) => {
    const branch = Object.fromEntries(names.map((n, bit) => [n, ((i >> bit) & 1) === 1]));
    return { branch, value: resolve(t, value, branch) };
  });
}

/** CloudFormation passes every scalar as a string. */
function asCloudFormationSends(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asCloudFormationSends);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asCloudFormationSends(v)]));
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

/** The attribute names in the `## Data (`Fn::GetAtt`)` table of a type's page in docs/resources. */
function documentedAttributes(type: string): string[] {
  const page = `docs/resources/${type
    .replace(/^Custom::/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()}.md`;
  const lines = readFileSync(join(repoRoot, page), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^## Data\b/.test(l));
  if (start < 0) throw new Error(`${page} has no "## Data" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .map((l) => /^\| `([A-Za-z0-9]+)` \|/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

test('the providers route the types their definitions declare', () => {
  expect(mockDeclared.map((p) => p.name).sort()).toEqual(['CleanupProvider', 'HelmProvider', 'KubeProvider']);
  expect([...served.keys()].sort()).toEqual([
    'Custom::AwsAuth',
    'Custom::HelmRelease',
    'Custom::KubeGet',
    'Custom::KubeManifest',
    'Custom::VpcCleanup',
  ]);
  for (const [type, { definition }] of served) expect([type, definition.type]).toEqual([type, type]);
});

test('each type’s page in docs/resources lists the attributes its definition returns', () => {
  const problems = [...served].flatMap(([type, { definition }]) => {
    const documented = documentedAttributes(type).sort();
    const returned = [...(definition.attributes ?? [])].sort();
    return JSON.stringify(documented) === JSON.stringify(returned)
      ? []
      : [
          `${type}: docs list ${documented.join(', ') || 'none'}, the definition returns ${returned.join(', ') || 'none'}`,
        ];
  });
  expect(problems).toEqual([]);
});

test('the templates use every kind of custom resource they ship examples for', () => {
  const used = new Set(customResources.map((c) => c.r.Type));
  expect([...used].sort()).toEqual([
    'Custom::HelmRelease',
    'Custom::KubeGet',
    'Custom::KubeManifest',
    'Custom::VpcCleanup',
  ]);
});

test('both branches of an Fn::If are followed, and AWS::NoValue drops its key', () => {
  const t: Template = { Resources: {} };
  const value = {
    A: { 'Fn::If': ['C1', 'yes', 'no'] },
    B: { 'Fn::If': ['C2', 'kept', { Ref: 'AWS::NoValue' }] },
  };
  expect(resolutions(t, value).map((r) => r.value)).toEqual([
    { A: 'no' },
    { A: 'yes' },
    { A: 'no', B: 'kept' },
    { A: 'yes', B: 'kept' },
  ]);
});

describe.each(customResources)('$name', ({ t, r }) => {
  const type = () => served.get(r.Type);
  const variants = () => resolutions(t, r.Properties).map((v) => ({ ...v, raw: asCloudFormationSends(v.value) }));

  test('is a type the providers serve', () => {
    expect([...served.keys()]).toContain(r.Type);
  });

  test('sets ServiceTimeout (1–3600 s) with room for its own TimeoutSeconds and the runtime’s margin', () => {
    const serviceTimeout = r.Properties!.ServiceTimeout;
    expect(Number.isInteger(serviceTimeout)).toBe(true);
    expect(serviceTimeout).toBeGreaterThanOrEqual(1);
    expect(serviceTimeout).toBeLessThanOrEqual(3600);
    // TimeoutSeconds as the resource reads it: the template's value, or the schema's default.
    for (const { raw } of variants()) {
      const parsed = parseProperties(type()!.definition.schema, raw as Record<string, unknown>);
      const timeout = Number((parsed as { TimeoutSeconds?: number }).TimeoutSeconds ?? 0);
      // The runtime answers before ServiceTimeout minus a tenth of it (at least a minute here, to
      // leave time for a clean failure after the work's own timeout).
      expect(timeout).toBeLessThanOrEqual((serviceTimeout as number) - Math.max(60, (serviceTimeout as number) / 10));
    }
  });

  test('is served by its provider', () => {
    expect(JSON.stringify(r.Properties!.ServiceToken)).toContain(type()!.provider);
  });

  test('passes properties its schema accepts, on every branch of its Fn::If', () => {
    const problems = variants().flatMap(({ branch, raw }) => {
      try {
        parseProperties(type()!.definition.schema, raw as Record<string, unknown>);
        return [];
      } catch (error) {
        return [`${JSON.stringify(branch)}: ${(error as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
  });
});

test('templates read only attributes the resources return', () => {
  const problems: string[] = [];
  let read = 0;
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
        const type = t.Resources[id]?.Type ?? '';
        if (!type.startsWith('Custom::')) continue;
        read++;
        const attributes = served.get(type)?.definition.attributes ?? [];
        if (!attributes.includes(attr)) problems.push(`${path}: ${id}.${attr}`);
      }
    });
  }
  expect(problems).toEqual([]);
  expect(read).toBeGreaterThan(0);
});

test('a misspelt property would be caught', () => {
  // The check above is only worth something if the schemas reject what they do not know.
  const kubeGet = served.get('Custom::KubeGet')!.definition.schema;
  expect(() => parseProperties(kubeGet, { ClusterName: 'c', Object: 'service/x', JsonPth: '{.a}' })).toThrow(/JsonPth/);
});
