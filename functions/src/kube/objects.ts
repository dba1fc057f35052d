/**
 * Objects of a manifest: where each came from in the property, who it is (group, kind, namespace,
 * name — the identity that survives an apiVersion change), and in which dependency level it is
 * applied (namespaces and CRDs first, webhooks last; deletion runs the levels backwards).
 */
import type { KubeClient } from './api-client';
import { ManifestError } from './errors';
import { groupOf, Level, levelOf } from './levels';
import { crdVersionSchema, isUntyped, markUntyped, typeByServerSchema, typeBySchema } from './openapi';
import type { ApiResource, KubeObject } from './types';

/** An object of the manifest with what the cluster's discovery says about its kind. */
export interface ManifestObject {
  /** Where the object came from, e.g. `Manifest[2]` or `Manifest[0].items[3]`. */
  source: string;
  /** The object to apply: namespace filled in for namespaced kinds, removed for cluster-scoped ones. */
  body: KubeObject;
  group: string;
  kind: string;
  name: string;
  /** Empty for cluster-scoped objects. */
  namespace: string;
  /** Set once discovery knows the kind. */
  resource?: ApiResource;
  level: number;
  /**
   * A CRD of the same manifest defines (or redefines) the kind: the object can only be checked
   * once that CRD is applied, as its schema may be new.
   */
  definedByManifest?: boolean;
}

/** The identity of an object: the same object whatever its apiVersion (`apps/Deployment/web/api`). */
export const objectKey = (o: { group: string; kind: string; namespace: string; name: string }) =>
  `${o.group}/${o.kind}/${o.namespace}/${o.name}`;

/** How an object is named in messages: `apps/v1 Deployment web/api`. */
export const describeObject = (o: { body: KubeObject; namespace: string; name: string }) =>
  `${o.body.apiVersion} ${o.body.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** How an object is listed in the `Objects` attribute: `Deployment/web/api`, `Namespace/web`. */
export const listName = (o: { kind: string; namespace: string; name: string }) =>
  `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/**
 * Flattens `kind: List` (and `*List`) documents into their items, keeping each item's place.
 *
 * @example
 * expandLists([{ apiVersion: 'v1', kind: 'List', items: [cm1, cm2] }], 'Manifest');
 * // → [{ source: 'Manifest[0].items[0]', body: cm1 }, { source: 'Manifest[0].items[1]', body: cm2 }]
 */
export function expandLists(
  docs: readonly KubeObject[],
  property: string,
): Array<{ source: string; body: KubeObject }> {
  const out: Array<{ source: string; body: KubeObject }> = [];
  docs.forEach((doc, i) => {
    const items = (doc as { items?: unknown }).items;
    if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(items)) {
      items.forEach((item, j) => {
        // A List given as a CloudFormation map: its items' scalars are strings too.
        if (isUntyped(doc) && item && typeof item === 'object') markUntyped(item as object);
        out.push({ source: `${property}[${i}].items[${j}]`, body: item as KubeObject });
      });
    } else {
      out.push({ source: `${property}[${i}]`, body: doc });
    }
  });
  return out;
}

/** The kinds a CRD in the manifest will serve: `group/version/Kind` for each served version. */
function kindsFromCrds(docs: ReadonlyArray<{ body: KubeObject }>): Set<string> {
  const served = new Set<string>();
  for (const { body } of docs) {
    if (body.kind !== 'CustomResourceDefinition' || groupOf(body.apiVersion) !== 'apiextensions.k8s.io') continue;
    const spec = body.spec as
      | { group?: string; names?: { kind?: string }; versions?: Array<{ name?: string; served?: boolean | string }> }
      | undefined;
    for (const v of spec?.versions ?? []) {
      // "false": a CRD given as a CloudFormation map, before its scalars are typed.
      if (spec?.group && spec.names?.kind && v.name && v.served !== false && v.served !== 'false')
        served.add(`${spec.group}/${v.name}/${spec.names.kind}`);
    }
  }
  return served;
}

export interface ResolveOptions {
  /** Namespace for namespaced objects that name none. */
  defaultNamespace: string;
  signal?: AbortSignal;
  /**
   * What to do with a kind the API server does not serve and no CRD of the manifest defines:
   * `fail` (apply) or `skip` (delete: nothing of that kind can exist any more).
   */
  unknownKinds: 'fail' | 'skip';
  /**
   * Type the scalars of objects given as a CloudFormation map (every scalar a string) by their
   * kind's schema (see ./openapi). Default: when applying (`unknownKinds: 'fail'`); a delete needs
   * only the objects' names.
   */
  typeScalars?: boolean;
}

/**
 * The objects given as a CloudFormation map or list (see {@link markUntyped}) with their scalars
 * typed: by the schema the API server publishes for their kind, or for a kind a CRD of the same
 * manifest defines, by that CRD's own schema. Objects written as YAML/JSON text keep their types.
 */
async function typeScalars(
  client: KubeClient,
  docs: ReadonlyArray<{ source: string; body: KubeObject }>,
  fromCrds: Set<string>,
  signal?: AbortSignal,
): Promise<Array<{ source: string; body: KubeObject }>> {
  if (!docs.some((d) => isUntyped(d.body))) return [...docs];
  const gvk = (body: KubeObject) => {
    const group = groupOf(body.apiVersion);
    return { group, version: body.apiVersion.slice(group ? group.length + 1 : 0) };
  };
  const byServer = await Promise.all(
    docs.map(async (d) => {
      const { group, version } = gvk(d.body);
      if (!isUntyped(d.body) || fromCrds.has(`${group}/${version}/${d.body.kind}`)) return d;
      return { ...d, body: (await typeByServerSchema(client, d.body, signal)).body };
    }),
  );
  return byServer.map((d) => {
    if (!isUntyped(d.body)) return d;
    const { group, version } = gvk(d.body);
    const crd = byServer.find((c) => {
      const spec = c.body.spec as { group?: string; names?: { kind?: string } } | undefined;
      return (
        c.body.kind === 'CustomResourceDefinition' &&
        groupOf(c.body.apiVersion) === 'apiextensions.k8s.io' &&
        spec?.group === group &&
        spec.names?.kind === d.body.kind
      );
    });
    const schema = crd && crdVersionSchema(crd.body, version);
    return schema ? { ...d, body: typeBySchema(d.body, schema) as KubeObject } : d;
  });
}

/**
 * Resolves each object's kind through discovery, fills in namespaces, assigns levels and checks
 * for duplicates. Kinds that a CRD of the same manifest will serve stay unresolved (level Custom)
 * until that CRD is established; see {@link resolvePending}.
 *
 * @throws ManifestError naming the object: unknown kind, or the same object twice.
 * @example
 * const objects = await resolveObjects(client, expandLists(docs, 'Manifest'), { defaultNamespace: 'web', unknownKinds: 'fail' });
 */
export async function resolveObjects(
  client: KubeClient,
  given: ReadonlyArray<{ source: string; body: KubeObject }>,
  options: ResolveOptions,
): Promise<ManifestObject[]> {
  let docs = given;
  const fromCrds = kindsFromCrds(docs);
  if (options.typeScalars ?? options.unknownKinds === 'fail')
    docs = await typeScalars(client, docs, fromCrds, options.signal);
  // Ask for every group/version at once: discovery is one request per group/version.
  await Promise.all(
    [...new Set(docs.map((d) => d.body.apiVersion))].map((v) => client.resources(v, { signal: options.signal })),
  );
  const out: ManifestObject[] = [];
  const seen = new Map<string, string>();
  for (const { source, body } of docs) {
    const group = groupOf(body.apiVersion);
    const version = body.apiVersion.slice(group ? group.length + 1 : 0);
    const resource = (await client.resources(body.apiVersion, { signal: options.signal }))?.find(
      (r) => r.kind === body.kind,
    );
    const definedHere = fromCrds.has(`${group}/${version}/${body.kind}`);
    let obj: ManifestObject;
    if (resource) {
      obj = place(source, body, group, resource, options.defaultNamespace);
      // The manifest's CRD may change this kind (a new version, a new field): apply it first.
      if (definedHere) Object.assign(obj, { level: Level.Custom, definedByManifest: true });
    } else if (definedHere) {
      // Served once the CRD is established; until then its scope is what the CRD says.
      const namespaced = crdScope(docs, group, body.kind) !== 'Cluster';
      const namespace = namespaced ? body.metadata.namespace || options.defaultNamespace : '';
      obj = {
        source,
        body,
        group,
        kind: body.kind,
        name: body.metadata.name,
        namespace,
        level: Level.Custom,
        definedByManifest: true,
      };
    } else {
      // Discovery may be older than a CRD another resource applied since: ask once more.
      const fresh = await client.resourceFor(body.apiVersion, body.kind, { signal: options.signal });
      if (fresh) {
        obj = place(source, body, group, fresh, options.defaultNamespace);
      } else if (options.unknownKinds === 'skip') {
        continue;
      } else {
        const who = `${body.apiVersion} ${body.kind} ${body.metadata.namespace ? `${body.metadata.namespace}/` : ''}${body.metadata.name}`;
        throw new ManifestError(
          `${source} (${who}): the API server does not know kind ${body.kind} in ${body.apiVersion}`,
        );
      }
    }
    const key = objectKey(obj);
    const earlier = seen.get(key);
    if (earlier)
      throw new ManifestError(
        `${source} (${describeObject(obj)}): the same object as ${earlier}; each object may appear once`,
      );
    seen.set(key, source);
    out.push(obj);
  }
  return out;
}

function crdScope(docs: ReadonlyArray<{ body: KubeObject }>, group: string, kind: string): string | undefined {
  for (const { body } of docs) {
    const spec = body.spec as { group?: string; names?: { kind?: string }; scope?: string } | undefined;
    if (body.kind === 'CustomResourceDefinition' && spec?.group === group && spec.names?.kind === kind)
      return spec.scope;
  }
  return undefined;
}

function place(
  source: string,
  body: KubeObject,
  group: string,
  resource: ApiResource,
  defaultNamespace: string,
): ManifestObject {
  const namespace = resource.namespaced ? body.metadata.namespace || defaultNamespace : '';
  const metadata = { ...body.metadata };
  if (namespace) metadata.namespace = namespace;
  else delete metadata.namespace;
  return {
    source,
    body: { ...body, metadata },
    group,
    kind: body.kind,
    name: body.metadata.name,
    namespace,
    resource,
    level: levelOf(group, body.kind),
  };
}

/**
 * Resolves objects still waiting for their CRD (call after the CRDs are established). Refreshes
 * discovery once for the group/versions involved.
 *
 * @throws ManifestError when a kind is still unknown.
 * @example
 * await resolvePending(client, objects, { defaultNamespace: 'web', unknownKinds: 'fail' });
 */
export async function resolvePending(
  client: KubeClient,
  objects: ManifestObject[],
  options: ResolveOptions,
): Promise<void> {
  const pending = objects.filter((o) => !o.resource);
  await Promise.all(
    [...new Set(pending.map((o) => o.body.apiVersion))].map((v) =>
      client.resources(v, { refresh: true, signal: options.signal }),
    ),
  );
  for (const o of pending) {
    const resource = (await client.resources(o.body.apiVersion, { signal: options.signal }))?.find(
      (r) => r.kind === o.kind,
    );
    if (!resource) {
      if (options.unknownKinds === 'skip') continue;
      throw new ManifestError(
        `${o.source} (${describeObject(o)}): the API server does not know kind ${o.kind} in ${o.body.apiVersion}`,
      );
    }
    Object.assign(o, place(o.source, o.body, o.group, resource, options.defaultNamespace), {
      level: o.level,
      definedByManifest: o.definedByManifest,
    });
  }
}

/**
 * A comma-separated `Kind/namespace/name` list no longer than `max` characters; when cut, it ends
 * with `… (+N more)` so a reader knows the list is partial.
 */
export function objectList(
  objects: ReadonlyArray<{ kind: string; namespace: string; name: string }>,
  max = 2048,
): string {
  const names = objects.map(listName);
  const all = names.join(',');
  if (all.length <= max) return all;
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const next = out ? `${out},${names[i]}` : names[i]!;
    // Leave room for the longest possible tail.
    if (next.length + `,… (+${names.length} more)`.length > max) return `${out},… (+${names.length - i} more)`;
    out = next;
  }
  return out;
}
