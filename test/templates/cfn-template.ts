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

/** The two entrypoints users launch. */
export const entrypointPaths = [
  'templates/kubecfn-entrypoint-new-vpc.template.yaml',
  'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
];

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
