/**
 * Property schemas: CloudFormation sends every scalar as a string, at every depth ("true", "3", a
 * YAML document; `replicas: 2` inside a map arrives as `"2"`), so each helper here accepts the
 * string form as well as the native one, and every failure names the property and what was
 * expected — never the value given, which may be a secret. Built on zod; a schema is an ordinary
 * zod schema.
 *
 * YAML is read as YAML 1.1, the way helm and kubectl read it (their parser is go-yaml v2): `NO`
 * and `on` are booleans, `0440` is octal 288, while `"NO"`, `"on"` and `"0440"` stay strings.
 */
import {
  isScalar,
  parseAllDocuments,
  parseDocument,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
} from 'yaml';
import * as z from 'zod';
import { PropertyError } from './errors';

/** Properties CloudFormation adds for the runtime itself; never passed to a resource's schema. */
export const RUNTIME_PROPERTIES = ['ServiceToken', 'ServiceTimeout'] as const;

/**
 * What was given, by its shape only (`a list`, `text`, `the number 3` never): a property's value
 * may be a secret, so no message quotes it.
 */
export const shapeOf = (value: unknown): string => {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return value.trim() === '' ? 'an empty string' : 'text';
  return `a ${typeof value}`;
};

/**
 * The YAML 1.1 schema of go-yaml v2, which helm and kubectl use: booleans
 * (`y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF`), null
 * (`~`, `null`, empty), integers (decimal, `0`-octal, `0x`, `0b`, `_` separators), floats
 * (`1.5`, `1e3`, `.inf`, `.nan`), merge keys (`<<`). Timestamps and sexagesimal numbers
 * (`12:30:00`) stay strings, as go-yaml v2 leaves them when the target is untyped.
 */
export const YAML_11: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  prettyErrors: false,
  customTags: (tags) =>
    tags.filter((tag) => {
      const t = tag as { tag?: string; format?: string };
      return t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME';
    }),
};

/** Parses YAML (or JSON) text as helm and kubectl read it (YAML 1.1). */
export function parseYaml11(text: string): unknown {
  const doc = parseDocument(text, YAML_11);
  if (doc.errors.length > 0) throw doc.errors[0];
  return doc.toJS({ maxAliasCount: 1000 });
}

/** Every document of `---`-separated YAML text, as YAML 1.1. */
export const parseAllYaml11 = (text: string) => {
  const docs = parseAllDocuments(text, YAML_11);
  return Array.isArray(docs) ? docs : [docs];
};

/**
 * The value of one string as a plain (unquoted) YAML 1.1 scalar, the way a values file written
 * `key: <text>` is read: `"false"` → false, `"3"` → 3, `"0.5"` → 0.5, `"0440"` → 288, `"~"` → null.
 * Anything that is not a whole plain scalar stays the string it is: text with spaces around it,
 * comments, quotes, anchors, tags, flow collections, several lines, and the empty string.
 *
 * @example
 * resolvePlainScalar('false'); // false
 * resolvePlainScalar('1.0');   // 1 (CloudFormation's "1.0" cannot be told from the number 1.0)
 * resolvePlainScalar('v1.2');  // 'v1.2'
 */
export function resolvePlainScalar(text: string): unknown {
  if (text === '' || text.trim() !== text || /[\n\r#]/.test(text)) return text;
  const doc = parseDocument(text, YAML_11);
  const node = doc.contents;
  if (doc.errors.length > 0 || doc.warnings.length > 0 || !isScalar(node) || node.type !== 'PLAIN') return text;
  if (node.tag || node.anchor || node.range?.[0] !== 0 || node.range?.[1] !== text.length) return text;
  const value = node.value;
  return value === null || typeof value === 'boolean' || typeof value === 'number' ? value : text;
}

/**
 * Every string scalar of a map or list, at every depth, resolved as {@link resolvePlainScalar}
 * does: what CloudFormation stringified comes back as the values file would have it.
 */
export function resolvePlainScalars(value: unknown): unknown {
  if (typeof value === 'string') return resolvePlainScalar(value);
  if (Array.isArray(value)) return value.map(resolvePlainScalars);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolvePlainScalars(v)]));
  return value;
}

function toBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return value;
}

function toInteger(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\s*-?\d+\s*$/.test(value)) return value;
  return Number.parseInt(value, 10);
}

/**
 * Why text is not YAML, without quoting it: the parser's message (less any name it quotes) and
 * where in the text.
 */
export function yamlProblem(error: unknown, text?: string): string {
  const e = error as { message?: string; pos?: [number, number] };
  let message = (e.message ?? String(error)).split('\n')[0]!;
  // "Unresolved alias (the anchor must be set before the alias): <name>" quotes the text.
  message = message.replace(/(\)):\s.*$/, '$1');
  if (text === undefined || !e.pos) return message;
  const before = text.slice(0, e.pos[0]).split('\n');
  return `${message} (line ${before.length}, column ${before.at(-1)!.length + 1})`;
}

/** YAML is a superset of JSON, so one parser reads both forms of a document property. */
function parseDocumentString(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'string') return value;
  try {
    return parseYaml11(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `expected a YAML or JSON document: ${yamlProblem(error, value)}` });
    return z.NEVER;
  }
}

/** How each list {@link prop.documents} yielded was given: as text, or as a map or list. */
const documentsForms = new WeakMap<object, 'text' | 'native'>();

/**
 * Whether documents came as text (typed by their author, as YAML 1.1) or as a map or list (every
 * scalar a string, as CloudFormation sends it).
 *
 * @example
 * if (documentsForm(props.Manifest) === 'native') typeBySchema(props.Manifest);
 */
export const documentsForm = (docs: object): 'text' | 'native' | undefined => documentsForms.get(docs);

/**
 * The property helpers. Each returns a zod schema; chain `.optional()` or `.default(x)` as usual.
 *
 * @example
 * const schema = z.strictObject({
 *   ClusterName: prop.string({ minLength: 1 }),
 *   Wait: prop.enum(['none', 'ready']).default('ready'),
 *   TimeoutSeconds: prop.integer({ min: 1, max: 3600 }).default(300),
 *   RetainOnDelete: prop.boolean().default(false),
 *   Manifest: prop.documents(),
 * });
 */
export const prop = {
  /** A string; numbers and booleans are accepted in their string form. */
  string(options: { minLength?: number; maxLength?: number; pattern?: RegExp; patternDescription?: string } = {}) {
    let s = z.string({ error: (iss) => `expected a string, got ${shapeOf(iss.input)}` });
    if (options.minLength !== undefined)
      s = s.min(
        options.minLength,
        options.minLength === 1 ? 'expected a non-empty string' : `expected at least ${options.minLength} characters`,
      );
    if (options.maxLength !== undefined)
      s = s.max(options.maxLength, `expected at most ${options.maxLength} characters`);
    if (options.pattern)
      s = s.regex(
        options.pattern,
        options.patternDescription ? `expected ${options.patternDescription}` : `expected to match ${options.pattern}`,
      );
    return z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), s);
  },

  /** `true`/`false` in any case, as a string or a boolean. */
  boolean() {
    return z.preprocess(
      toBoolean,
      z.boolean({ error: (iss) => `expected "true" or "false", got ${shapeOf(iss.input)}` }),
    );
  },

  /** A whole number, as a string or a number, within optional bounds. */
  integer(options: { min?: number; max?: number } = {}) {
    let n = z
      .number({ error: (iss) => `expected a whole number, got ${shapeOf(iss.input)}` })
      .int('expected a whole number');
    if (options.min !== undefined) n = n.min(options.min, `expected a whole number ≥ ${options.min}`);
    if (options.max !== undefined) n = n.max(options.max, `expected a whole number ≤ ${options.max}`);
    return z.preprocess(toInteger, n);
  },

  /** One of a fixed set of strings. */
  enum<const T extends readonly [string, ...string[]]>(values: T) {
    return z.enum(values, { error: () => `expected one of ${values.join(' | ')}` });
  },

  /**
   * A YAML or JSON document given as a string, or the value itself (a map or a list).
   *
   * Text is read as YAML 1.1 and keeps the types its author wrote. A map or list arrives from
   * CloudFormation with every scalar a string; `scalars: 'plain'` gives each string the type it
   * would have written unquoted in a YAML file (`"false"` → false, `"3"` → 3; see
   * {@link resolvePlainScalar}), `scalars: 'keep'` (the default) leaves them strings.
   */
  document(options: { scalars?: 'keep' | 'plain' } = {}) {
    return z.preprocess(
      (value, ctx) => {
        if (typeof value === 'string') return parseDocumentString(value, ctx);
        return options.scalars === 'plain' && value && typeof value === 'object' ? resolvePlainScalars(value) : value;
      },
      z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], {
        error: (iss) => `expected a map or a list (as YAML/JSON text or a native value), got ${shapeOf(iss.input)}`,
      }),
    );
  },

  /**
   * Kubernetes-style objects: a string of one or more YAML/JSON documents (`---` separated, empty
   * documents skipped), a single map, or a list of maps. Always yields a list of maps;
   * {@link documentsForm} tells which form it came in (a map or list has CloudFormation's string
   * scalars, to be typed by whoever knows the objects' schemas).
   */
  documents() {
    let form: 'text' | 'native' = 'native';
    return z
      .preprocess(
        (value, ctx) => {
          form = typeof value === 'string' ? 'text' : 'native';
          if (typeof value === 'string') {
            const out: unknown[] = [];
            for (const [i, doc] of parseAllYaml11(value).entries()) {
              if (doc.errors.length > 0) {
                ctx.addIssue({
                  code: 'custom',
                  message: `document ${i + 1} is not valid YAML/JSON: ${yamlProblem(doc.errors[0], value)}`,
                });
                return z.NEVER;
              }
              const js = doc.toJS({ maxAliasCount: 1000 });
              // A document that is itself a list (of objects) contributes each of its items.
              if (Array.isArray(js)) out.push(...js);
              else if (js !== null && js !== undefined) out.push(js);
            }
            return out;
          }
          if (value && typeof value === 'object' && !Array.isArray(value)) return [value];
          return value;
        },
        z
          .array(
            z.record(z.string(), z.unknown(), {
              error: (iss) => `expected each document to be a map, got ${shapeOf(iss.input)}`,
            }),
            {
              error: (iss) => `expected YAML/JSON documents or a list of maps, got ${shapeOf(iss.input)}`,
            },
          )
          .min(1, 'expected at least one document'),
      )
      .transform((docs) => {
        // Parsing is synchronous: `form` is this value's, set by the preprocess just before.
        documentsForms.set(docs, form);
        return docs;
      });
  },

  /**
   * A list. CloudFormation sends a list property as a JSON array (of strings), but template authors
   * also write a JSON/YAML string or a comma-separated string (from a `CommaDelimitedList`
   * parameter joined). Items of YAML/JSON text are read as strings, like CloudFormation's.
   */
  list<T extends z.ZodType>(item: T) {
    return z.preprocess(
      (value) => {
        if (typeof value !== 'string') return value;
        const trimmed = value.trim();
        if (trimmed === '') return [];
        if (trimmed.startsWith('[') || trimmed.startsWith('-')) {
          // Every item a string, as in the list CloudFormation sends: the item's schema types it
          // (`- y` stays "y" for a list of names; `- 3` becomes 3 for a list of integers).
          try {
            const doc = parseDocument(trimmed, { ...YAML_11, schema: 'failsafe', customTags: undefined });
            if (doc.errors.length > 0) return value;
            return doc.toJS();
          } catch {
            return value;
          }
        }
        return trimmed.split(',').map((s) => s.trim());
      },
      z.array(item, { error: (iss) => `expected a list, got ${shapeOf(iss.input)}` }),
    );
  },

  /** A nested map with its own schema, given natively or as a YAML/JSON string. */
  object<S extends z.ZodRawShape>(shape: S) {
    return z.preprocess(
      parseDocumentString,
      z.strictObject(shape, { error: (iss) => `expected a map, got ${shapeOf(iss.input)}` }),
    );
  },
};

/** Options of {@link parseProperties}. */
export interface PropertyParseOptions {
  /**
   * Delete's parsing: what a provider upgrade has since tightened must not make an old stack's
   * Delete fail. Properties the schema no longer knows are ignored, and a property that fails its
   * schema falls back to its default (or to nothing, when optional); only a required property that
   * fails still fails. `onIgnored` hears what was let through.
   */
  lenient?: boolean;
  onIgnored?: (problems: string[]) => void;
}

/**
 * Parses raw CloudFormation properties against a resource's schema. The runtime's own properties
 * (ServiceToken, ServiceTimeout) are removed first. Unknown properties are rejected when the schema
 * is strict (as `prop.object` and `z.strictObject` are), so a misspelt property never goes unnoticed.
 *
 * @throws PropertyError naming every property that failed, and what was expected.
 * @example
 * const props = parseProperties(schema, event.ResourceProperties);
 * const old = parseProperties(schema, event.ResourceProperties, { lenient: event.RequestType === 'Delete' });
 */
export function parseProperties<T>(
  schema: z.ZodType<T>,
  raw: Record<string, unknown> | undefined,
  options: PropertyParseOptions = {},
): T {
  const input: Record<string, unknown> = { ...(raw ?? {}) };
  for (const key of RUNTIME_PROPERTIES) delete input[key];
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(schema, result.error.issues);
  if (options.lenient) {
    // Drop each top-level property that is unknown or fails, unless it is required.
    const shape = defOf(schemaAt(schema, []))?.shape;
    const dropped = new Set<string>();
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys' && issue.path.length === 0) issue.keys.forEach((k) => dropped.add(k));
      else if (issue.path.length > 0 && shape && String(issue.path[0]) in shape) {
        const key = String(issue.path[0]);
        if (shape[key]!.safeParse(undefined).success) dropped.add(key);
      }
    }
    if (dropped.size > 0) {
      for (const key of dropped) delete input[key];
      const again = schema.safeParse(input, { reportInput: true });
      if (again.success) {
        options.onIgnored?.(problems);
        return again.data;
      }
    }
  }
  throw new PropertyError(problems);
}

function describeIssues(schema: z.ZodType, issues: z.core.$ZodIssue[]): string[] {
  const problems = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schemaAt(schema, issue.path));
      return issue.keys
        .map(
          (k) =>
            `${formatPath([...issue.path, k])}: unknown property${known ? `; expected one of ${known.join(', ')}` : ''}`,
        )
        .join('; ');
    }
    const path = formatPath(issue.path);
    if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined)
      return `${path}: required property is missing`;
    return `${path}: ${issue.message}`;
  });
  return [...new Set(problems)];
}

interface Def {
  type: string;
  in?: z.ZodType;
  out?: z.ZodType;
  innerType?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}
const defOf = (schema: z.ZodType | undefined) => (schema as unknown as { _zod?: { def: Def } } | undefined)?._zod?.def;

/** The schema that validated the value at `path`, seen through preprocessing, optional and default wrappers. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  const unwrap = () => {
    for (
      let def = defOf(current);
      def && ['pipe', 'optional', 'default', 'nullable'].includes(def.type);
      def = defOf(current)
    ) {
      current = def.type === 'pipe' ? def.out : def.innerType;
    }
  };
  for (const key of path) {
    unwrap();
    const def = defOf(current);
    current = typeof key === 'number' ? def?.element : def?.shape?.[String(key)];
  }
  unwrap();
  return current;
}

function knownKeys(schema: z.ZodType | undefined): string[] | undefined {
  const shape = defOf(schema)?.shape;
  return shape ? Object.keys(shape) : undefined;
}

/** `Manifest[2].metadata` reads as CloudFormation users write property paths. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'Properties';
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}
