// npm run schemas [-- --check]
//
// The custom resource types in machine-readable form, from their one source of truth, the zod
// schemas in functions/src/resources/*/schema.ts:
// - docs/schemas/Custom-<Type>.schema.json: a JSON Schema per type (CloudFormation registry style:
//   typeName, properties with descriptions, required, additionalProperties: false,
//   createOnlyProperties for what replaces the resource), ServiceToken and ServiceTimeout included;
//   docs/schemas/cfn-lint/ holds the cfn-lint rule that checks templates against them;
// - the property tables of docs/resources/*.md (Required, Type, Update requires, Default), with a
//   JSON and a YAML syntax block. The "What it does" column is the page's own and is kept; a
//   property new to the page takes its JSDoc comment from schema.ts.
//
// --check writes nothing and exits 1 when a generated file differs (npm test runs it through
// test/scripts/schemas.test.ts).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as z from 'zod';
import { awsAuthSchema } from '../../functions/src/resources/aws-auth/schema';
import { schema as helmReleaseSchema } from '../../functions/src/resources/helm-release/schema';
import { schema as kubeGetSchema } from '../../functions/src/resources/kube-get/schema';
import { schema as kubeManifestSchema } from '../../functions/src/resources/kube-manifest/schema';
import { schema as vpcCleanupSchema } from '../../functions/src/resources/vpc-cleanup/schema';
import { repoRoot } from './paths.cjs';

/** What the generator knows of each type besides its zod schema. */
export interface TypeInfo {
  typeName: string;
  /** docs/resources/<page>.md and functions/src/resources/<page>/schema.ts */
  page: string;
  /** Name of the exported schema constant in schema.ts (for its JSDoc comments). */
  exportName: string;
  schema: z.ZodType;
  provider: 'KubeProvider' | 'HelmProvider' | 'CleanupProvider';
  description: string;
  /**
   * Properties whose change replaces the resource: each one is part of the physical id (the
   * resource definitions' `physicalId`, or AwsAuth's new id on another cluster);
   * test/scripts/schemas.test.ts holds these lists against those functions.
   */
  replacement: string[];
  /** JSON Schema for properties zod cannot describe (a transform that takes any input). */
  overrides?: Record<string, object>;
}

export const types: TypeInfo[] = [
  {
    typeName: 'Custom::KubeManifest',
    page: 'kube-manifest',
    exportName: 'schema',
    schema: kubeManifestSchema,
    provider: 'KubeProvider',
    description: 'Kubernetes objects applied (server-side apply), awaited, pruned and deleted from a template.',
    replacement: ['ClusterName'],
  },
  {
    typeName: 'Custom::KubeGet',
    page: 'kube-get',
    exportName: 'schema',
    schema: kubeGetSchema,
    provider: 'KubeProvider',
    description:
      'One value read from a Kubernetes object (a load balancer address, a status field), waiting until it is there.',
    replacement: [],
    overrides: {
      Object: {
        anyOf: [
          {
            type: 'string',
            minLength: 1,
            description: 'kind/name as kubectl takes it (service/jenkins), or the map as YAML/JSON text',
          },
          {
            type: 'object',
            properties: {
              apiVersion: { type: 'string', minLength: 1 },
              kind: { type: 'string', minLength: 1 },
              name: { type: 'string', minLength: 1 },
              namespace: { type: 'string', minLength: 1 },
            },
            required: ['apiVersion', 'kind', 'name'],
            additionalProperties: false,
          },
        ],
      },
    },
  },
  {
    typeName: 'Custom::AwsAuth',
    page: 'aws-auth',
    exportName: 'awsAuthSchema',
    schema: awsAuthSchema,
    provider: 'KubeProvider',
    description:
      'IAM role, user and account mappings merged into kube-system/aws-auth, each entry owned by the resource that wrote it.',
    replacement: ['ClusterName'],
  },
  {
    typeName: 'Custom::HelmRelease',
    page: 'helm-release',
    exportName: 'schema',
    schema: helmReleaseSchema,
    provider: 'HelmProvider',
    description: 'A Helm release installed, upgraded and uninstalled with the helm CLI.',
    replacement: ['ClusterName', 'Namespace', 'ReleaseName'],
  },
  {
    typeName: 'Custom::VpcCleanup',
    page: 'vpc-cleanup',
    exportName: 'schema',
    schema: vpcCleanupSchema,
    provider: 'CleanupProvider',
    description:
      'The teardown safety net: on stack deletion, what the cluster’s controllers left in the VPC is removed and the providers are detached from it.',
    replacement: [],
  },
];

/** File name of a type's JSON Schema under docs/schemas/. */
export const schemaFileName = (typeName: string) => `${typeName.replace('::', '-')}.schema.json`;

type Json = Record<string, unknown>;

/** The JSDoc comment of every property of `z.strictObject({...})` exported as `exportName` from `file`. */
export function propertyComments(file: string, exportName: string): Record<string, string> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Record<string, string> = {};
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === exportName) {
      // `z.strictObject({…})`, or that with checks chained on (`.superRefine(…)`).
      let call = node.initializer;
      while (
        call &&
        ts.isCallExpression(call) &&
        !(call.arguments[0] && ts.isObjectLiteralExpression(call.arguments[0])) &&
        ts.isPropertyAccessExpression(call.expression)
      )
        call = call.expression.expression;
      const arg = call && ts.isCallExpression(call) ? call.arguments[0] : undefined;
      if (arg && ts.isObjectLiteralExpression(arg)) {
        for (const p of arg.properties) {
          if (!p.name || !ts.isIdentifier(p.name)) continue;
          const docs = ts.getJSDocCommentsAndTags(p).filter(ts.isJSDoc);
          const text = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? '').join(' ');
          if (text) out[p.name.text] = text.replace(/\s+/g, ' ').trim();
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** True when the zod node accepts text for a structured value (YAML/JSON or a comma-separated list). */
function acceptsText(schema: z.ZodType): boolean {
  return ['[]', '{}'].some((probe) => accepts(schema, probe));
}

/** True when `value` gets past the node's type check (later checks may still refuse its content). */
function accepts(schema: z.ZodType, value: unknown): boolean {
  const r = schema.safeParse(value);
  return r.success || !r.error.issues.some((i) => i.code === 'invalid_type' && i.path.length === 0);
}

/** Copies `additionalProperties: false` from the output form (a preprocessed strict map loses it in the input form). */
function copyClosedMaps(input: Json, output: Json | undefined): void {
  if (!output || typeof input !== 'object' || input === null) return;
  if (input.type === 'object' && output.additionalProperties === false && input.additionalProperties === undefined)
    input.additionalProperties = false;
  for (const key of ['properties', 'items', 'anyOf'] as const) {
    const i = input[key] as Json | Json[] | undefined;
    const o = output[key] as Json | Json[] | undefined;
    if (!i || !o) continue;
    if (key === 'items') copyClosedMaps(i as Json, o as Json);
    else
      for (const k of Object.keys(i)) copyClosedMaps((i as Record<string, Json>)[k]!, (o as Record<string, Json>)[k]);
  }
}

function at(root: Json, path: (string | number)[]): Json | undefined {
  let cur: unknown = root;
  for (const key of path) cur = (cur as Record<string | number, unknown> | undefined)?.[key];
  return cur as Json | undefined;
}

/** The JSON Schema of one type, as docs/schemas publishes it. */
export function jsonSchemaFor(info: TypeInfo): Json {
  const textForms = new Set<string>();
  const singleMaps = new Set<string>();
  const input = z.toJSONSchema(info.schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const t = (ctx.jsonSchema as Json).type;
      const structured = t === 'array' || t === 'object' || Array.isArray((ctx.jsonSchema as Json).anyOf);
      if (structured && ctx.path.length && acceptsText(ctx.zodSchema as unknown as z.ZodType))
        textForms.add(JSON.stringify(ctx.path));
      // A list that also takes one map on its own (Manifest: one object).
      if (t === 'array' && ctx.path.length && accepts(ctx.zodSchema as unknown as z.ZodType, {}))
        singleMaps.add(JSON.stringify(ctx.path));
    },
  }) as Json;
  const output = z.toJSONSchema(info.schema, { io: 'output', unrepresentable: 'any' }) as Json;
  copyClosedMaps(input, output);
  // Deepest first, so wrapping a list does not move the path of its items.
  for (const p of [...textForms].map((s) => JSON.parse(s) as (string | number)[]).sort((a, b) => b.length - a.length)) {
    const node = at(input, p);
    if (!node || (node.anyOf as Json[] | undefined)?.[0]?.type === 'string') continue;
    const copy = { ...node };
    for (const k of Object.keys(node)) delete node[k];
    const list = copy.type === 'array' && (at(copy, ['items']) as Json | undefined)?.type === 'string';
    const single = singleMaps.has(JSON.stringify(p)) ? [copy.items as Json] : [];
    node.anyOf = [
      { type: 'string', description: list ? 'YAML/JSON text, or a comma-separated list' : 'YAML/JSON text' },
      ...single,
      copy,
    ];
  }
  const comments = propertyComments(join(repoRoot, 'functions/src/resources', info.page, 'schema.ts'), info.exportName);
  const inProps = input.properties as Record<string, Json>;
  const outProps = output.properties as Record<string, Json>;
  const properties: Record<string, Json> = {
    ServiceToken: {
      type: 'string',
      minLength: 1,
      description: `ARN of the ${info.provider} function: the ${info.provider}Arn output of the kubecfn stack (CloudFormation's own property).`,
    },
    ServiceTimeout: {
      type: 'integer',
      minimum: 1,
      maximum: 3600,
      default: 3600,
      description:
        "Seconds CloudFormation waits for the provider's answer (CloudFormation's own property); keep it above TimeoutSeconds.",
    },
  };
  for (const [name, schema] of Object.entries(inProps)) {
    const prop: Json = { ...(info.overrides?.[name] ?? schema) };
    if (comments[name]) prop.description = comments[name];
    if (outProps[name]?.default !== undefined) prop.default = outProps[name].default;
    properties[name] = prop;
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    typeName: info.typeName,
    description: `${info.description} Generated by npm run schemas from functions/src/resources/${info.page}/schema.ts; reference: docs/resources/${info.page}.md.`,
    type: 'object',
    properties,
    required: ['ServiceToken', ...((input.required as string[] | undefined) ?? [])],
    additionalProperties: false,
    createOnlyProperties: info.replacement.map((p) => `/properties/${p}`),
  };
}

/** `String`, `Integer, 1–3600`, `List of String, or YAML/JSON text`, ... for a reference table. */
export function typeText(s: Json): string {
  const anyOf = s.anyOf as Json[] | undefined;
  if (anyOf) {
    const text = anyOf.find(
      (a) => a.type === 'string' && typeof a.description === 'string' && Object.keys(a).length <= 3,
    );
    const rest = anyOf.filter((a) => a !== text).map(typeText);
    const joined = [...new Set(rest)].join(' or ');
    return text
      ? `${joined}, or ${text.description === 'YAML/JSON text' ? 'YAML/JSON text' : 'YAML/JSON text or a comma-separated list'}`
      : joined;
  }
  const type = Array.isArray(s.type) ? (s.type as string[]).map((t) => typeText({ type: t })).join(' or ') : s.type;
  switch (type) {
    case 'string': {
      if (s.enum) return `String: ${(s.enum as string[]).map((v) => `\`${v}\``).join(' \\| ')}`;
      const bits: string[] = [];
      if (s.minLength !== undefined || s.maxLength !== undefined) {
        bits.push(
          s.maxLength !== undefined
            ? `${s.minLength ?? 0}–${s.maxLength as number} characters`
            : s.minLength === 1
              ? 'non-empty'
              : `at least ${s.minLength as number} characters`,
        );
      }
      if (typeof s.pattern === 'string')
        bits.push(
          s.pattern.length <= 40 && !s.pattern.includes('|')
            ? `pattern \`${s.pattern}\``
            : 'a pattern (see the JSON Schema)',
        );
      return bits.length ? `String, ${bits.join(', ')}` : 'String';
    }
    case 'integer':
      return s.minimum !== undefined && s.maximum !== undefined
        ? `Integer, ${s.minimum as number}–${s.maximum as number}`
        : 'Integer';
    case 'number':
      return 'Number';
    case 'boolean':
      return 'Boolean';
    case 'array': {
      const items = s.items as Json | undefined;
      if (items?.type === 'object' && items.properties)
        return `List of {${Object.keys(items.properties as Json).join(', ')}}`;
      return items && Object.keys(items).length ? `List of ${typeText(items)}` : 'List';
    }
    case 'object':
      return s.properties ? `Map {${Object.keys(s.properties as Json).join(', ')}}` : 'Map';
    default:
      return 'Any';
  }
}

const BEGIN = '<!-- properties:begin';
const END = '<!-- properties:end -->';

/** The "What it does" texts of a page's property table, by property name. */
export function pageDescriptions(page: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = page.split('\n');
  const headerAt = lines.findIndex((l) => /^\| Property \|/.test(l));
  if (headerAt < 0) return out;
  const header = lines[headerAt]!.split('|').map((c) => c.trim());
  const col = header.findIndex((c) => c === 'What it does');
  for (let i = headerAt + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    // Split on unescaped pipes only (a Type cell may hold `a \| b`).
    const cells = lines[i]!.split(/(?<!\\)\|/).map((c) => c.trim());
    const name = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name && cells[col]) out[name] = cells[col]!;
  }
  return out;
}

/** The generated block of a reference page: syntax in JSON and YAML, and the property table. */
export function referenceBlock(info: TypeInfo, schema: Json, descriptions: Record<string, string>): string {
  const props = schema.properties as Record<string, Json>;
  const required = new Set(schema.required as string[]);
  const replaced = new Set(info.replacement);
  const syntaxType = (p: Json) => {
    const t = typeText(p);
    return t.startsWith('String')
      ? 'String'
      : t.startsWith('Integer')
        ? 'Integer'
        : t.startsWith('Boolean')
          ? 'Boolean'
          : t.startsWith('List')
            ? 'List'
            : t.startsWith('Map')
              ? 'Map'
              : t.split(/[ ,]/)[0];
  };
  const names = Object.keys(props);
  const json = [
    '```json',
    '{',
    `  "Type" : "${info.typeName}",`,
    '  "Properties" : {',
    ...names.map((n, i) => `      "${n}" : ${syntaxType(props[n]!)}${i < names.length - 1 ? ',' : ''}`),
    '  }',
    '}',
    '```',
  ];
  const yaml = [
    '```yaml',
    `Type: ${info.typeName}`,
    'Properties:',
    ...names.map((n) => `  ${n}: ${syntaxType(props[n]!)}`),
    '```',
  ];
  const update = (n: string) =>
    n === 'ServiceToken' ? 'Updates are not supported' : replaced.has(n) ? 'Replacement' : 'No interruption';
  const dflt = (p: Json, n: string) =>
    p.default !== undefined
      ? `\`${typeof p.default === 'string' ? p.default : JSON.stringify(p.default)}\``
      : required.has(n)
        ? '—'
        : 'none';
  const cell = (text: string) => text.replace(/\n/g, ' ');
  const rows = names.map((n) => {
    const p = props[n]!;
    const what = descriptions[n] ?? (typeof p.description === 'string' ? p.description : '');
    return `| \`${n}\` | ${required.has(n) ? 'Yes' : 'No'} | ${cell(typeText(p))} | ${update(n)} | ${dflt(p, n)} | ${cell(what)} |`;
  });
  return [
    `${BEGIN} generated by npm run schemas from functions/src/resources/${info.page}/schema.ts; edit "What it does" here, the rest there -->`,
    '',
    `JSON Schema: [\`docs/schemas/${schemaFileName(info.typeName)}\`](../schemas/${schemaFileName(info.typeName)})`,
    '(cfn-lint checks your templates against it: see [docs/schemas/README.md](../schemas/README.md)).',
    '',
    'Syntax, as in the CloudFormation resource reference:',
    '',
    ...json,
    '',
    ...yaml,
    '',
    '| Property | Required | Type | Update requires | Default | What it does |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    "CloudFormation sends every scalar as a string: `'true'`, `'600'` and `true`, `600` are all accepted.",
    END,
  ].join('\n');
}

/** Every file the generator owns, with the content it should have. */
export function generated(): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [];
  for (const info of types) {
    const schema = jsonSchemaFor(info);
    files.push({
      path: join('docs/schemas', schemaFileName(info.typeName)),
      content: `${JSON.stringify(schema, null, 2)}\n`,
    });
    const pagePath = join('docs/resources', `${info.page}.md`);
    const page = readFileSync(join(repoRoot, pagePath), 'utf8');
    const begin = page.indexOf(BEGIN);
    let next: string;
    if (begin >= 0) {
      const end = page.indexOf(END, begin) + END.length;
      next =
        page.slice(0, begin) + referenceBlock(info, schema, pageDescriptions(page.slice(begin, end))) + page.slice(end);
    } else {
      // First run: the hand-written table after "## Properties" becomes the generated block.
      const lines = page.split('\n');
      const start = lines.findIndex((l) => /^\| Property \| Type \| Default \| What it does \|/.test(l));
      if (start < 0) throw new Error(`${pagePath}: no property table to replace`);
      let stop = start;
      while (stop < lines.length && lines[stop]!.startsWith('|')) stop++;
      const block = referenceBlock(info, schema, pageDescriptions(lines.slice(start, stop).join('\n')));
      next = [...lines.slice(0, start), block, ...lines.slice(stop)].join('\n');
    }
    files.push({ path: pagePath, content: next });
  }
  return files;
}

function main(): number {
  const checkOnly = process.argv.includes('--check');
  const stale: string[] = [];
  for (const f of generated()) {
    const full = join(repoRoot, f.path);
    const current = existsSync(full) ? readFileSync(full, 'utf8') : undefined;
    if (current === f.content) continue;
    stale.push(f.path);
    if (!checkOnly) writeFileSync(full, f.content);
  }
  if (checkOnly && stale.length) {
    console.error(`Out of date (run npm run schemas): ${stale.join(', ')}`);
    return 1;
  }
  console.log(stale.length ? `${checkOnly ? 'Stale' : 'Wrote'}: ${stale.join(', ')}` : 'Up to date.');
  return 0;
}

if (require.main === module) process.exitCode = main();
