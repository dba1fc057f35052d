/** The properties of `Custom::KubeGet`, as a template author writes them. */
import * as z from 'zod';
import { checkJsonPath } from '../../kube/jsonpath';
import { parseYaml11, prop, shapeOf } from '../../runtime';

/** `kind/name` as kubectl takes it (`service/jenkins`, `deployment.apps/web`), or the object's coordinates. */
export type ObjectRef =
  { resource: string; name: string } | { apiVersion: string; kind: string; name: string; namespace?: string };

const shapeHint =
  'expected kind/name (e.g. service/jenkins) or a map with apiVersion, kind, name and optionally namespace';

const objectRef = z.unknown().transform((value, ctx): ObjectRef => {
  let v = value;
  if (typeof v === 'string') {
    const text = v.trim();
    const short = /^([A-Za-z0-9.-]+)\/([A-Za-z0-9.:_-]+)$/.exec(text);
    if (short) return { resource: short[1]!, name: short[2]! };
    try {
      v = text.startsWith('{') || text.includes(':') ? parseYaml11(text) : undefined;
    } catch {
      v = undefined;
    }
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const m = v as Record<string, unknown>;
    const extra = Object.keys(m).filter((k) => !['apiVersion', 'kind', 'name', 'namespace'].includes(k));
    const str = (k: string) => (typeof m[k] === 'string' && (m[k] as string).length > 0 ? (m[k] as string) : undefined);
    if (
      extra.length === 0 &&
      str('apiVersion') &&
      str('kind') &&
      str('name') &&
      (m.namespace === undefined || str('namespace'))
    ) {
      return {
        apiVersion: str('apiVersion')!,
        kind: str('kind')!,
        name: str('name')!,
        ...(str('namespace') ? { namespace: str('namespace')! } : {}),
      };
    }
    const missing = ['apiVersion', 'kind', 'name'].filter((k) => !str(k));
    ctx.addIssue({
      code: 'custom',
      message: `${shapeHint}${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; unknown key ${extra.join(', ')}` : ''}`,
    });
    return z.NEVER;
  }
  ctx.addIssue({ code: 'custom', message: `${shapeHint}, got ${shapeOf(value)}` });
  return z.NEVER;
});

const jsonPath = prop.string({ minLength: 1 }).superRefine((value, ctx) => {
  try {
    checkJsonPath(value);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a Kubernetes JSONPath such as {.status.loadBalancer.ingress[0].hostname}: ${(error as Error).message}`,
    });
  }
});

export const schema = z.strictObject({
  /** The EKS cluster (or local cluster name) to read from. */
  ClusterName: prop.string({ minLength: 1, maxLength: 100 }),
  /** The object: `kind/name` or {apiVersion, kind, name, namespace}. */
  Object: objectRef,
  /** Namespace of a namespaced object (a map's own `namespace` wins). */
  Namespace: prop.string({ minLength: 1, maxLength: 63 }).default('default'),
  /** What to read, kubectl style: `{.status.loadBalancer.ingress[0].hostname}` (braces optional). */
  JsonPath: jsonPath,
  /** How long to keep trying until the object exists and the path has a value, in seconds. */
  TimeoutSeconds: prop.integer({ min: 1, max: 3600 }).default(300),
  /**
   * Answer with `NoEcho` (the value is masked in the provider's logs and in what CloudFormation
   * shows). Always on when the object is a Secret. Default false.
   */
  NoEcho: prop.boolean().default(false),
});

export type Props = z.infer<typeof schema>;
