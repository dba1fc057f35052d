/**
 * The embedded cloud's access seam: how `npm start` and the tests point the unchanged, bundled
 * Lambda code at a local control plane instead of an EKS cluster. The local cloud writes the
 * `KUBECFN_CLUSTER_ACCESS` variable (a JSON map, or the path of a JSON file, from cluster name to
 * endpoint, CA and credential); in AWS it is unset and this module finds nothing.
 *
 * This is the only place production code reads it, and it is meant to go: a later change replaces
 * it with the real access path (DescribeCluster and an EKS token), after which local mode reaches
 * its clusters the way the providers do in AWS.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import type { ExplicitClusterAccess } from './cluster-access';

/** Name of the environment variable that maps cluster names to explicit access. */
export const CLUSTER_ACCESS_ENV = 'KUBECFN_CLUSTER_ACCESS';

const explicitSchema = z.strictObject({
  server: z.url({ protocol: /^https?$/ }),
  caData: z.string().min(1),
  token: z.string().min(1).optional(),
  clientCert: z.string().min(1).optional(),
  clientKey: z.string().min(1).optional(),
});
const explicitMapSchema = z.record(z.string(), explicitSchema);

/**
 * Explicit access for `clusterName` from `KUBECFN_CLUSTER_ACCESS`, if the variable is set:
 * its value is either JSON or the path of a JSON file, an object keyed by cluster name whose
 * values have the {@link ExplicitClusterAccess} shape. The key `*` matches any cluster name,
 * for harnesses that cannot know a generated name in advance.
 */
export function localAccessFor(clusterName: string): ExplicitClusterAccess | undefined {
  const raw = process.env[CLUSTER_ACCESS_ENV]?.trim();
  if (!raw) return undefined;
  let text = raw;
  if (!raw.startsWith('{')) {
    try {
      text = readFileSync(raw, 'utf8');
    } catch (err) {
      throw new Error(
        `${CLUSTER_ACCESS_ENV}: expected JSON or the path of a JSON file, could not read '${raw}': ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${CLUSTER_ACCESS_ENV}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = explicitMapSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${CLUSTER_ACCESS_ENV}: expected {"<cluster name>": {"server", "caData", "token"?, "clientCert"?, "clientKey"?}}: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data[clusterName] ?? parsed.data['*'];
}
