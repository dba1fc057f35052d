// Reading the repository's CloudFormation templates for the structural tests: a YAML schema that
// understands CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...), the list of templates,
// and small walkers over intrinsic functions (what a value references, where nested stacks point).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type CollectionTag, type ScalarTag, YAMLMap, YAMLSeq } from 'yaml';

export const repoRoot = join(__dirname, '..', '..');

/** A parsed template, as CloudFormation sees it after the short forms are expanded. */
export interface Template {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: Record<string, unknown>;
  Parameters?: Record<string, Parameter>;
  Rules?: Record<string, { RuleCondition?: unknown; Assertions: { Assert: unknown; AssertDescription: string }[] }>;
  Mappings?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; Description?: string }>;
}
export interface Parameter {
  Type: string;
  Default?: string | number;
  AllowedValues?: (string | number)[];
  AllowedPattern?: string;
  Description?: string;
  NoEcho?: boolean;
}
export interface Resource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  Metadata?: Record<string, unknown>;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
}

// CloudFormation's short forms: !Name value means {"Fn::Name": value}, except !Ref and !Condition,
// and !GetAtt A.B, which is the list [A, B].
const functionTags: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  Sub: 'Fn::Sub',
  GetAtt: 'Fn::GetAtt',
  Join: 'Fn::Join',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  FindInMap: 'Fn::FindInMap',
  Base64: 'Fn::Base64',
  GetAZs: 'Fn::GetAZs',
  ImportValue: 'Fn::ImportValue',
  Cidr: 'Fn::Cidr',
  Contains: 'Fn::Contains',
  EachMemberEquals: 'Fn::EachMemberEquals',
  EachMemberIn: 'Fn::EachMemberIn',
  ValueOf: 'Fn::ValueOf',
  ValueOfAll: 'Fn::ValueOfAll',
  RefAll: 'Fn::RefAll',
  ToJsonString: 'Fn::ToJsonString',
  Length: 'Fn::Length',
};

function cfnTags(): (ScalarTag | CollectionTag)[] {
  const tags: (ScalarTag | CollectionTag)[] = [];
  for (const [short, key] of Object.entries(functionTags)) {
    const tag = `!${short}`;
    tags.push({
      tag,
      resolve: (value: string) => ({ [key]: short === 'GetAtt' ? value.split(/\.(.*)/s, 2) : value }),
    } as ScalarTag);
    tags.push({
      tag,
      collection: 'seq',
      resolve: (seq: YAMLSeq) => ({ [key]: seq.toJSON() }),
    } as unknown as CollectionTag);
    tags.push({
      tag,
      collection: 'map',
      resolve: (map: YAMLMap) => ({ [key]: map.toJSON() }),
    } as unknown as CollectionTag);
  }
  return tags;
}

const tags = cfnTags();

/** Parses template text (YAML with CloudFormation short-form tags, or JSON). */
export function parseTemplate(text: string): Template {
  return parse(text, { customTags: tags, maxAliasCount: -1 }) as Template;
}

const cache = new Map<string, Template>();

/** Loads a template by repository-relative path. */
export function loadTemplate(relativePath: string): Template {
  let t = cache.get(relativePath);
  if (!t) {
    t = parseTemplate(readFileSync(join(repoRoot, relativePath), 'utf8'));
    cache.set(relativePath, t);
  }
  return t;
}

function walkFiles(dir: string, accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(repoRoot, dir)).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(repoRoot, rel)).isDirectory()) out.push(...walkFiles(rel, accept));
    else if (accept(name)) out.push(rel);
  }
  return out;
}

/** Every template in the repository: templates/** and submodules/<name>/templates/**. */
export function allTemplatePaths(): string[] {
  const isTemplate = (n: string) => /\.template\.ya?ml$/.test(n);
  const subs = readdirSync(join(repoRoot, 'submodules')).flatMap((s) =>
    walkFiles(`submodules/${s}/templates`, isTemplate),
  );
  return [...walkFiles('templates', isTemplate), ...subs];
}

/** The entrypoints users launch. */
export const entrypointPaths = [
  'templates/kubecfn-entrypoint-new-vpc.template.yaml',
  'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
  'templates/kubecfn-entrypoint-existing-cluster.template.yaml',
];

/** The entrypoints that create the cluster (the existing-cluster one adds to a cluster of the user's). */
export const clusterEntrypointPaths = entrypointPaths.filter((p) => !p.endsWith('-existing-cluster.template.yaml'));

/** Visits every node of a value, depth first, with its path. */
export function walk(value: unknown, visit: (node: unknown, path: string[]) => void, path: string[] = []): void {
  visit(value, path);
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, visit, [...path, String(i)]));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, visit, [...path, k]);
}

/** The `${Name}` and `${Name.Attr}` variables of a Fn::Sub string (not `${!Literal}`), by their first segment. */
export function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].map((m) => m[1]!.split('.')[0]!);
}

/**
 * Names (parameters, resources, pseudo parameters) a value refers to through Ref, Fn::GetAtt,
 * Fn::Sub and Condition-free places. Variables defined by a Fn::Sub's own map are not references.
 */
export function referencedNames(value: unknown): Set<string> {
  const names = new Set<string>();
  walk(value, (node) => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return;
    const o = node as Record<string, unknown>;
    if (typeof o.Ref === 'string') names.add(o.Ref);
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') names.add(getAtt[0]);
    const sub = o['Fn::Sub'];
    if (typeof sub === 'string') subVariables(sub).forEach((n) => names.add(n));
    if (Array.isArray(sub) && typeof sub[0] === 'string') {
      const own = new Set(Object.keys((sub[1] as Record<string, unknown>) ?? {}));
      subVariables(sub[0])
        .filter((n) => !own.has(n))
        .forEach((n) => names.add(n));
    }
  });
  return names;
}

/**
 * The repository-relative file a nested stack's TemplateURL points at: the part after
 * `${QSS3KeyPrefix}` in its Fn::Sub.
 */
export function nestedTemplatePath(resource: Resource): string {
  const url = resource.Properties?.TemplateURL as { 'Fn::Sub'?: unknown } | undefined;
  const sub = url?.['Fn::Sub'];
  const text = typeof sub === 'string' ? sub : Array.isArray(sub) ? sub[0] : undefined;
  const m = typeof text === 'string' ? /\$\{QSS3KeyPrefix\}(.+)$/.exec(text) : null;
  if (!m) throw new Error(`TemplateURL is not a Fn::Sub ending in \${QSS3KeyPrefix}<path>: ${JSON.stringify(url)}`);
  return m[1]!;
}

/** The nested stacks of a template, with the file each loads. */
export function nestedStacks(template: Template): { logicalId: string; resource: Resource; path: string }[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::CloudFormation::Stack')
    .map(([logicalId, resource]) => ({ logicalId, resource, path: nestedTemplatePath(resource) }));
}

/** Every template reachable from `root` through nested stacks (root included), depth first. */
export function templateTree(root: string): string[] {
  const seen: string[] = [];
  const visit = (p: string) => {
    if (seen.includes(p)) return;
    seen.push(p);
    for (const child of nestedStacks(loadTemplate(p))) visit(child.path);
  };
  visit(root);
  return seen;
}

/**
 * The resources a resource depends on, as CloudFormation orders them: DependsOn, and every Ref,
 * GetAtt or Sub reference to another resource anywhere in it (Metadata included).
 */
export function dependencies(template: Template, logicalId: string): Set<string> {
  const r = template.Resources[logicalId]!;
  const deps = new Set<string>();
  for (const d of [r.DependsOn ?? []].flat()) deps.add(d);
  for (const n of referencedNames({ Properties: r.Properties, Metadata: r.Metadata }))
    if (n in template.Resources) deps.add(n);
  return deps;
}

/** Whether `from` depends, directly or through others, on `to` (so CloudFormation deletes `from` first). */
export function dependsTransitively(template: Template, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const cur = stack.pop()!;
    for (const d of dependencies(template, cur)) {
      if (d === to) return true;
      if (!seen.has(d)) {
        seen.add(d);
        stack.push(d);
      }
    }
  }
  return false;
}

/** Parameter values as a user gives them (CreateStack's ParameterValue strings), plus pseudo parameters. */
export type ParameterValues = Record<string, string>;

const isListType = (type: string) => type === 'CommaDelimitedList' || type.startsWith('List<');

/**
 * The value of a Rules expression for the given parameter values, as CloudFormation evaluates it
 * before it creates anything: Ref (a list parameter is a list), Fn::Equals, Fn::Not, Fn::And, Fn::Or,
 * Fn::Contains, Fn::EachMemberEquals, Fn::EachMemberIn and Fn::Join. Fn::RefAll, Fn::ValueOf and
 * Fn::ValueOfAll ask the account (which VPCs exist, their tags) and cannot be evaluated here: they
 * throw, as does anything unknown, so a rule is never judged by a guess.
 */
export function evaluateRule(t: Template, expr: unknown, values: ParameterValues): unknown {
  const ev = (e: unknown) => evaluateRule(t, e, values);
  const bool = (e: unknown): boolean => {
    const v = ev(e);
    if (typeof v !== 'boolean') throw new Error(`expected a condition, got ${JSON.stringify(e)}`);
    return v;
  };
  const list = (e: unknown): string[] => {
    const v = ev(e);
    if (!Array.isArray(v)) throw new Error(`expected a list, got ${JSON.stringify(e)}`);
    return v.map(String);
  };
  if (typeof expr === 'string' || typeof expr === 'number' || typeof expr === 'boolean') return String(expr);
  if (Array.isArray(expr)) return expr.map(ev);
  if (!expr || typeof expr !== 'object') throw new Error(`cannot evaluate ${JSON.stringify(expr)}`);
  const entries = Object.entries(expr);
  if (entries.length !== 1) throw new Error(`not one function: ${JSON.stringify(expr)}`);
  const [fn, arg] = entries[0]!;
  const args = Array.isArray(arg) ? arg : [arg];
  switch (fn) {
    case 'Ref': {
      const name = String(arg);
      const p = t.Parameters?.[name];
      const raw = values[name] ?? (p?.Default === undefined ? undefined : String(p.Default));
      if (raw === undefined) throw new Error(`no value for ${name} (a required parameter, or a pseudo parameter)`);
      return p && isListType(p.Type) ? raw.split(',') : raw;
    }
    case 'Fn::Equals': {
      const [a, b] = args.map(ev);
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'Fn::Not':
      return !bool(args[0]);
    case 'Fn::And':
      return args.map(bool).every(Boolean);
    case 'Fn::Or':
      return args.map(bool).some(Boolean);
    case 'Fn::Contains':
      return list(args[0]).includes(String(ev(args[1])));
    case 'Fn::EachMemberEquals': {
      const v = String(ev(args[1]));
      return list(args[0]).every((m) => m === v);
    }
    case 'Fn::EachMemberIn': {
      const allowed = list(args[1]);
      return list(args[0]).every((m) => allowed.includes(m));
    }
    case 'Fn::Join':
      return list(args[1]).join(String(args[0]));
    default:
      throw new Error(`${fn} cannot be evaluated without an AWS account (or is not a rule function)`);
  }
}

/**
 * The rule assertions a stack with these parameter values fails (none: CloudFormation accepts the
 * values). A rule applies when it has no RuleCondition or its RuleCondition is true.
 */
export function failedRules(t: Template, values: ParameterValues): { rule: string; description: string }[] {
  const out: { rule: string; description: string }[] = [];
  for (const [rule, body] of Object.entries(t.Rules ?? {})) {
    if (body.RuleCondition !== undefined && evaluateRule(t, body.RuleCondition, values) !== true) continue;
    for (const a of body.Assertions) {
      const held = evaluateRule(t, a.Assert, values);
      if (typeof held !== 'boolean') throw new Error(`${rule}: an Assert that is not a condition`);
      if (!held) out.push({ rule, description: a.AssertDescription });
    }
  }
  return out;
}

/**
 * Values for the parameters that have no default (a plausible one per type), so the rules can be
 * evaluated on the template's defaults plus what a test sets.
 */
export function requiredParameterSamples(t: Template): ParameterValues {
  const sample = (type: string) =>
    type === 'Number'
      ? '1'
      : type.startsWith('List<')
        ? 'sample-1,sample-2'
        : type === 'CommaDelimitedList'
          ? 'a,b'
          : type === 'AWS::EC2::VPC::Id'
            ? 'vpc-0123456789abcdef0'
            : 'sample';
  return Object.fromEntries(
    Object.entries(t.Parameters ?? {})
      .filter(([, p]) => p.Default === undefined)
      .map(([name, p]) => [name, sample(p.Type)]),
  );
}
