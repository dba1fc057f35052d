/**
 * Property schemas: CloudFormation sends every scalar as a string ("true", "3", a YAML document),
 * so each helper here accepts the string form as well as the native one, and every failure names
 * the property and what was expected. Built on zod; a schema is an ordinary zod schema.
 */
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { PropertyError } from './errors';

/** Properties CloudFormation adds for the runtime itself; never passed to a resource's schema. */
export const RUNTIME_PROPERTIES = ['ServiceToken', 'ServiceTimeout'] as const;

const preview = (value: unknown): string => {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

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

/** YAML is a superset of JSON, so one parser reads both forms of a document property. */
function parseDocumentString(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'string') return value;
  try {
    return parseYaml(value, { prettyErrors: false });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `expected a YAML or JSON document: ${firstLine(error)}` });
    return z.NEVER;
  }
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

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
    let s = z.string({ error: (iss) => `expected a string, got ${preview(iss.input)}` });
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
      z.boolean({ error: (iss) => `expected "true" or "false", got ${preview(iss.input)}` }),
    );
  },

  /** A whole number, as a string or a number, within optional bounds. */
  integer(options: { min?: number; max?: number } = {}) {
    let n = z
      .number({ error: (iss) => `expected a whole number, got ${preview(iss.input)}` })
      .int('expected a whole number');
    if (options.min !== undefined) n = n.min(options.min, `expected a whole number ≥ ${options.min}`);
    if (options.max !== undefined) n = n.max(options.max, `expected a whole number ≤ ${options.max}`);
    return z.preprocess(toInteger, n);
  },

  /** One of a fixed set of strings. */
  enum<const T extends readonly [string, ...string[]]>(values: T) {
    return z.enum(values, { error: (iss) => `expected one of ${values.join(' | ')}, got ${preview(iss.input)}` });
  },

  /** A YAML or JSON document given as a string, or the value itself (a map or a list). */
  document() {
    return z.preprocess(
      parseDocumentString,
      z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], {
        error: (iss) => `expected a map or a list (as YAML/JSON text or a native value), got ${preview(iss.input)}`,
      }),
    );
  },

  /**
   * Kubernetes-style objects: a string of one or more YAML/JSON documents (`---` separated, empty
   * documents skipped), a single map, or a list of maps. Always yields a list of maps.
   */
  documents() {
    return z.preprocess(
      (value, ctx) => {
        if (typeof value === 'string') {
          const docs = parseAllDocuments(value, { prettyErrors: false });
          const list = Array.isArray(docs) ? docs : [docs];
          const out: unknown[] = [];
          for (const [i, doc] of list.entries()) {
            if (doc.errors.length > 0) {
              ctx.addIssue({
                code: 'custom',
                message: `document ${i + 1} is not valid YAML/JSON: ${firstLine(doc.errors[0])}`,
              });
              return z.NEVER;
            }
            const js = doc.toJS();
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
            error: (iss) => `expected each document to be a map, got ${preview(iss.input)}`,
          }),
          {
            error: (iss) => `expected YAML/JSON documents or a list of maps, got ${preview(iss.input)}`,
          },
        )
        .min(1, 'expected at least one document'),
    );
  },

  /**
   * A list. CloudFormation sends a list property as a JSON array, but template authors also write
   * a JSON/YAML string or a comma-separated string (from a `CommaDelimitedList` parameter joined).
   */
  list<T extends z.ZodType>(item: T) {
    return z.preprocess(
      (value) => {
        if (typeof value !== 'string') return value;
        const trimmed = value.trim();
        if (trimmed === '') return [];
        if (trimmed.startsWith('[') || trimmed.startsWith('-')) {
          try {
            return parseYaml(trimmed);
          } catch {
            return value;
          }
        }
        return trimmed.split(',').map((s) => s.trim());
      },
      z.array(item, { error: (iss) => `expected a list, got ${preview(iss.input)}` }),
    );
  },

  /** A nested map with its own schema, given natively or as a YAML/JSON string. */
  object<S extends z.ZodRawShape>(shape: S) {
    return z.preprocess(
      parseDocumentString,
      z.strictObject(shape, { error: (iss) => `expected a map, got ${preview(iss.input)}` }),
    );
  },
};

/**
 * Parses raw CloudFormation properties against a resource's schema. The runtime's own properties
 * (ServiceToken, ServiceTimeout) are removed first. Unknown properties are rejected when the schema
 * is strict (as `prop.object` and `z.strictObject` are), so a misspelt property never goes unnoticed.
 *
 * @throws PropertyError naming every property that failed, and what was expected.
 * @example
 * const props = parseProperties(schema, event.ResourceProperties);
 */
export function parseProperties<T>(schema: z.ZodType<T>, raw: Record<string, unknown> | undefined): T {
  const input: Record<string, unknown> = { ...(raw ?? {}) };
  for (const key of RUNTIME_PROPERTIES) delete input[key];
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
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
  throw new PropertyError([...new Set(problems)]);
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
