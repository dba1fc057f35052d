/** The properties of `Custom::KubeManifest`, as a template author writes them. */
import * as z from 'zod';
import { markUntyped } from '../../kube/openapi';
import { documentsForm, prop } from '../../runtime';

const nonEmpty = (what: string) =>
  z.string({ error: `expected ${what} (a non-empty string)` }).min(1, `expected ${what} (a non-empty string)`);

const BUCKET = '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]';
const S3_HOST = 's3(?:[.-][a-z0-9-]+)*\\.amazonaws\\.com(?:\\.cn)?';
/**
 * Where a manifest file may be: `s3://bucket/key`, or the object's https URL, virtual-hosted
 * (`https://bucket.s3.eu-west-1.amazonaws.com/key`) or path-style (`https://s3.eu-west-1.amazonaws.com/bucket/key`).
 */
export const MANIFEST_URL = new RegExp(
  `^(?:s3://${BUCKET}/.+|https://${BUCKET}\\.${S3_HOST}/.+|https://${S3_HOST}/${BUCKET}/.+)$`,
);

/** What every Kubernetes object needs before the API server is asked anything. */
const kubeObject = z.looseObject(
  {
    apiVersion: nonEmpty('an apiVersion such as v1 or apps/v1'),
    kind: nonEmpty('a kind such as ConfigMap'),
    metadata: z.looseObject(
      {
        name: nonEmpty('the object name'),
        namespace: nonEmpty('a namespace name').optional(),
      },
      { error: 'expected a map with at least a name' },
    ),
  },
  { error: 'expected a Kubernetes object (a map with apiVersion, kind and metadata.name)' },
);

/** The manifest: every document checked as an object, `*List` documents item by item. */
export const manifest = prop.documents().superRefine((docs, ctx) => {
  docs.forEach((doc, i) => {
    const items = (doc as { items?: unknown }).items;
    const check = (value: unknown, path: PropertyKey[]) => {
      const r = kubeObject.safeParse(value);
      if (!r.success)
        for (const issue of r.error.issues)
          ctx.addIssue({ ...issue, path: [...path, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    };
    if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(items))
      items.forEach((item, j) => check(item, [i, 'items', j]));
    else check(doc, [i]);
  });
  // A map or list has CloudFormation's string scalars: typed by each kind's schema when applied
  // (kube/openapi.ts). Text keeps the types its author wrote (YAML 1.1, as kubectl reads it).
  if (documentsForm(docs) === 'native') for (const doc of docs) markUntyped(doc);
});

export const schema = z
  .strictObject({
    /** The EKS cluster (or local cluster name) to apply to. */
    ClusterName: prop.string({ minLength: 1, maxLength: 100 }),
    /**
     * One or many YAML/JSON documents (`---` separated; YAML 1.1, as kubectl reads it), one object,
     * or a list of objects (a map or list: its string scalars typed by the API server's schema).
     */
    Manifest: manifest.optional(),
    /**
     * Instead of `Manifest`: `s3://<bucket>/<key>` (or the object's https URL) of a file of YAML/JSON
     * documents, read by the provider with its own role at every step, typed as a `Manifest` string is.
     */
    ManifestUrl: prop
      .string({
        minLength: 1,
        maxLength: 2048,
        pattern: MANIFEST_URL,
        patternDescription:
          's3://<bucket>/<key> or https://<bucket>.s3.<region>.amazonaws.com/<key> of a manifest file',
      })
      .optional(),
    /** Namespace for namespaced objects that name none. */
    Namespace: prop
      .string({
        minLength: 1,
        maxLength: 63,
        pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
        patternDescription: 'a namespace name (lower-case letters, digits and hyphens)',
      })
      .default('default'),
    /** `ready`: wait until rolled out / complete / established / bound / given an address; `none`: return once applied. */
    Wait: prop.enum(['none', 'ready']).default('ready'),
    /** Bound on waiting for readiness (Create/Update) and for deletion (Delete), in seconds. */
    TimeoutSeconds: prop.integer({ min: 1, max: 3600 }).default(300),
    /** Leave the objects in the cluster on Delete (and when an Update drops them from the manifest). */
    RetainOnDelete: prop.boolean().default(false),
    /**
     * Take over objects that exist already without this resource's owner annotation: their fields
     * are applied with force, and they become this resource's (deleted on Delete). Default false:
     * such objects only get the fields nobody else set, and are never deleted.
     */
    Adopt: prop.boolean().default(false),
  })
  .superRefine((props, ctx) => {
    if ((props.Manifest === undefined) === (props.ManifestUrl === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [props.Manifest === undefined ? 'Manifest' : 'ManifestUrl'],
        message:
          props.Manifest === undefined
            ? 'expected the objects in Manifest, or the S3 URL of a manifest file in ManifestUrl (one of the two)'
            : 'expected either Manifest or ManifestUrl, not both',
      });
  });

export type Props = z.infer<typeof schema>;
