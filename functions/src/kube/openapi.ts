/**
 * Scalars typed by the API schema. CloudFormation hands a custom resource every scalar of a map
 * property as a string (`replicas: 2` arrives as `"2"`, `served: true` as `"true"`), so a manifest
 * given as a map would be refused by the API server. Each such object is walked along the schema
 * its API server publishes (OpenAPI v3: `/openapi/v3` → `/openapi/v3/apis/apps/v1`…, CRDs'
 * schemas included; for a kind a CRD of the same manifest defines, that CRD's own
 * `openAPIV3Schema`), and each string where the schema wants another type is converted:
 *
 * | the schema says                      | a string becomes                                   |
 * |--------------------------------------|----------------------------------------------------|
 * | `type: integer`                      | an integer, when it is one (`"2"`, `"-1"`; `"0440"` octal 288 as YAML 1.1 reads it) |
 * | `type: number`                       | a number, when it is one (`"0.5"`, `"1e3"`)        |
 * | `type: boolean`                      | `true`/`false` from `"true"`/`"false"`             |
 * | `x-kubernetes-int-or-string` (CRDs), `format: int-or-string` (IntOrString) | an integer when all digits (`"6379"`), else a string (`"http"`, `"25%"`) |
 * | string or number (a Quantity: `"1"`, `"500m"`) | unchanged: a string, which the server reads |
 * | `x-kubernetes-preserve-unknown-fields`, no schema, a field the schema does not know | unchanged: a string |
 *
 * Anything else (a string that is not a number where a number is wanted) is left for the API
 * server to refuse, with its own words.
 */
import type { KubeClient } from './api-client';
import type { KubeObject } from './types';

/** A schema as OpenAPI v3 and CRDs write it (the fields the walk reads). */
export interface JsonSchema {
  type?: string;
  format?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: Array<{ group?: string; version?: string; kind?: string }>;
}

interface OpenApiDocument {
  components?: { schemas?: Record<string, JsonSchema> };
}

const INTEGER = /^[-+]?(\d+|0x[0-9a-fA-F]+)$/;

/** An integer as YAML 1.1 (kubectl, helm) reads it: `0440` is octal 288, `0x1f` is 31. */
function integerOf(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const digits = text.replace(/^[-+]/, '');
  if (/^0x/i.test(digits)) return sign * Number.parseInt(digits.slice(2), 16);
  if (/^0[0-7]+$/.test(digits)) return sign * Number.parseInt(digits, 8);
  return sign * Number.parseInt(digits, 10);
}
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** Resolves `$ref` and a lone `allOf` (OpenAPI v3's way of attaching a default to a `$ref`). */
function resolve(schema: JsonSchema | undefined, doc: OpenApiDocument | undefined, depth = 0): JsonSchema | undefined {
  if (!schema || depth > 8) return schema;
  if (schema.$ref) {
    const name = schema.$ref.replace(/^#\/components\/schemas\//, '');
    return resolve(doc?.components?.schemas?.[name], doc, depth + 1);
  }
  if (schema.allOf?.length === 1 && !schema.type && !schema.properties) {
    const inner = resolve(schema.allOf[0], doc, depth + 1);
    return inner ? { ...schema, ...inner, allOf: undefined } : schema;
  }
  return schema;
}

function scalar(text: string, schema: JsonSchema): unknown {
  // CRDs say x-kubernetes-int-or-string; the built-in IntOrString says `format: int-or-string`.
  if (schema['x-kubernetes-int-or-string'] || schema.format === 'int-or-string')
    return INTEGER.test(text) ? integerOf(text) : text;
  const types = [schema.type, ...[...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].map((s) => s.type)];
  if (types.includes('string')) return text;
  if (types.includes('integer') && INTEGER.test(text)) return integerOf(text);
  if (types.includes('number') && NUMBER.test(text)) return Number(text);
  if (types.includes('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/**
 * `value` with every string typed by `schema` (see the module comment); a new value, the input is
 * left as it is.
 *
 * @example
 * typeBySchema({ replicas: '2' }, { type: 'object', properties: { replicas: { type: 'integer' } } });
 * // { replicas: 2 }
 */
export function typeBySchema(value: unknown, schema: JsonSchema | undefined, doc?: OpenApiDocument): unknown {
  const s = resolve(schema, doc);
  if (!s) return value;
  if (typeof value === 'string') return scalar(value, s);
  if (Array.isArray(value)) return s.items ? value.map((v) => typeBySchema(v, s.items, doc)) : value;
  if (value && typeof value === 'object') {
    const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    if (!s.properties && !extra) return value; // preserve-unknown-fields, or an untyped map: as it is
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, typeBySchema(v, s.properties?.[k] ?? extra, doc)]),
    );
  }
  return value;
}

/** The OpenAPI v3 document of one group/version, per client, fetched once (again when a kind is missing). */
const documents = new WeakMap<KubeClient, Map<string, Promise<OpenApiDocument | undefined>>>();

async function fetchDocument(
  client: KubeClient,
  apiVersion: string,
  signal?: AbortSignal,
): Promise<OpenApiDocument | undefined> {
  const key = apiVersion.includes('/') ? `apis/${apiVersion}` : `api/${apiVersion}`;
  const index = await client.request<{ paths?: Record<string, { serverRelativeURL?: string }> }>('GET', '/openapi/v3', {
    signal,
    retryErrorStatus: false,
  });
  const url = index.paths?.[key]?.serverRelativeURL;
  if (!url) return undefined;
  const [path, query] = url.split('?');
  return client.request<OpenApiDocument>('GET', path!, {
    query: Object.fromEntries(new URLSearchParams(query ?? '')),
    signal,
    retryErrorStatus: false,
  });
}

function documentFor(client: KubeClient, apiVersion: string, refresh: boolean, signal?: AbortSignal) {
  let perClient = documents.get(client);
  if (!perClient) documents.set(client, (perClient = new Map()));
  let found = refresh ? undefined : perClient.get(apiVersion);
  if (!found) {
    found = fetchDocument(client, apiVersion, signal);
    perClient.set(apiVersion, found);
    found.catch(() => perClient.delete(apiVersion));
  }
  return found;
}

const schemaOfKind = (doc: OpenApiDocument | undefined, group: string, version: string, kind: string) =>
  Object.values(doc?.components?.schemas ?? {}).find((s) =>
    s['x-kubernetes-group-version-kind']?.some(
      (g) => (g.group ?? '') === group && g.version === version && g.kind === kind,
    ),
  );

/**
 * The object with its scalars typed by the schema the API server publishes for its kind. When the
 * server publishes none (or cannot be asked), the object is returned as it is: the API server's
 * own answer then says what it refuses.
 *
 * @example
 * const body = await typeByServerSchema(client, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: '2' } });
 * // body.spec.replicas === 2
 */
export async function typeByServerSchema(
  client: KubeClient,
  body: KubeObject,
  signal?: AbortSignal,
): Promise<{ body: KubeObject; typed: boolean }> {
  const slash = body.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : body.apiVersion.slice(0, slash);
  const version = body.apiVersion.slice(slash + 1);
  let schema: JsonSchema | undefined;
  let doc: OpenApiDocument | undefined;
  try {
    doc = await documentFor(client, body.apiVersion, false, signal);
    schema = schemaOfKind(doc, group, version, body.kind);
    if (!schema) {
      // A CRD applied since the document was fetched.
      doc = await documentFor(client, body.apiVersion, true, signal);
      schema = schemaOfKind(doc, group, version, body.kind);
    }
  } catch {
    return { body, typed: false };
  }
  if (!schema) return { body, typed: false };
  return { body: typeBySchema(body, schema, doc) as KubeObject, typed: true };
}

/**
 * The `openAPIV3Schema` a CRD (as written in a manifest) gives `version`, for objects of a kind the
 * same manifest defines: the API server publishes it only once the CRD is established.
 */
export function crdVersionSchema(crd: KubeObject, version: string): JsonSchema | undefined {
  const spec = crd.spec as
    | {
        validation?: { openAPIV3Schema?: JsonSchema };
        versions?: Array<{ name?: string; schema?: { openAPIV3Schema?: JsonSchema } }>;
      }
    | undefined;
  return spec?.versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema ?? spec?.validation?.openAPIV3Schema;
}

/** Objects given as a CloudFormation map or list: their scalars are strings until typed by schema. */
const untyped = new WeakSet<object>();

/** Marks an object whose scalars arrived as CloudFormation's strings. */
export const markUntyped = (body: object) => void untyped.add(body);

/** Whether an object's scalars arrived as CloudFormation's strings (see {@link markUntyped}). */
export const isUntyped = (body: object) => untyped.has(body);
