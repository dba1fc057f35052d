/**
 * Properties of `Custom::HelmRelease`, each with its default. docs/resources/helm-release.md says
 * the same for template authors.
 */
import * as z from 'zod';
import { prop } from '../../runtime/properties';
import { repositoryOptionsProblem } from './repository-options';

/** Helm's own rule for release names: a DNS-1123 subdomain of at most 53 characters. */
export const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const RELEASE_NAME_MAX = 53;
/** Namespaces are DNS-1123 labels. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const schema = z
  .strictObject({
    /** The EKS cluster (name) to install into. Required. */
    ClusterName: prop.string({ minLength: 1 }),
    /**
     * The chart: a name in `Repository`, an `oci://` reference, an `s3://` URL of a packaged chart,
     * or a `file://` path of a chart packaged with the function or a layer. Required.
     */
    Chart: prop.string({ minLength: 1 }),
    /** An http(s) chart repository (with `Chart` a chart name in it), or an `oci://` registry path. Default: none. */
    Repository: prop.string({ minLength: 1 }).optional(),
    /**
     * ARN of a Secrets Manager secret holding `{"username": …, "password": …}` (and optionally
     * `"caBundle"`: PEM) for an https `Repository` that asks for basic auth. Default: none.
     */
    RepositorySecretArn: prop
      .string({
        minLength: 1,
        maxLength: 2048,
        pattern: /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^\s]+$/,
        patternDescription:
          'the ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
      })
      .optional(),
    /** PEM CA certificates an https `Repository`'s certificate is verified against, instead of the system's. Default: none. */
    RepositoryCaBundle: prop.string({ minLength: 1, maxLength: 65536 }).optional(),
    /** Chart version (or range) for `Repository` and OCI charts. Default: the latest. */
    Version: prop.string({ minLength: 1 }).optional(),
    /**
     * Chart values: a YAML/JSON string (read as YAML 1.1, as helm reads a values file: the types its
     * author wrote) or a map (CloudFormation sends each scalar as a string; each is read as it would
     * be unquoted in a values file: `"false"` → false, `"3"` → 3, `"0.5"` → 0.5). Merged over
     * `ValuesUrl`'s. Default: the chart's own.
     */
    Values: prop
      .document({ scalars: 'plain' })
      .refine((v) => !Array.isArray(v), 'expected a map of chart values, got a list')
      .optional(),
    /** `s3://bucket/key` of a YAML values file, applied before `Values`. Default: none. */
    ValuesUrl: prop
      .string({
        minLength: 1,
        pattern: /^s3:\/\/[^/]+\/.+/,
        patternDescription: 's3://<bucket>/<key> of a YAML values file',
      })
      .optional(),
    /** Namespace of the release. Default: `default`. Changing it replaces the release. */
    Namespace: prop
      .string({
        minLength: 1,
        maxLength: 63,
        pattern: NAMESPACE,
        patternDescription: 'a DNS-1123 label (lower-case letters, digits and hyphens)',
      })
      .default('default'),
    /** Create the namespace when missing (it is left in place on delete). Default: true. */
    CreateNamespace: prop.boolean().default(true),
    /**
     * The release name. Default: the logical resource id in lower case (truncated to 53 characters).
     * Changing it replaces the release.
     */
    ReleaseName: prop
      .string({
        minLength: 1,
        maxLength: RELEASE_NAME_MAX,
        pattern: RELEASE_NAME,
        patternDescription:
          'a DNS-1123 name (lower-case letters, digits, "-" and ".", starting and ending with a letter or digit)',
      })
      .optional(),
    /** Wait until the release's workloads are ready (helm `--wait`). Default: true. */
    Wait: prop.boolean().default(true),
    /** How long helm may take (waits and hooks); may exceed one Lambda invocation. Default: 600. */
    TimeoutSeconds: prop.integer({ min: 1, max: 3600 }).default(600),
    /** Leave out the chart's `crds/` directory (helm `--skip-crds`). Default: false. */
    SkipCrds: prop.boolean().default(false),
    /**
     * Keep on Delete the CRDs the install created from the chart's `crds/` (and with them every
     * custom object of their kinds). Default false: they are deleted with the release.
     */
    RetainCrds: prop.boolean().default(false),
    /**
     * Take over a release of the same name that this resource did not install: it is upgraded, and
     * uninstalled on Delete. Default false: such a release is refused, and never touched.
     */
    Adopt: prop.boolean().default(false),
  })
  .superRefine((props, ctx) => {
    const problem = repositoryOptionsProblem(props);
    if (problem) {
      const [path, message] = [problem.slice(0, problem.indexOf(':')), problem.slice(problem.indexOf(':') + 2)];
      ctx.addIssue({ code: 'custom', path: [path], message });
    }
  });

export type HelmReleaseProps = z.infer<typeof schema>;

/**
 * The default release name: the logical id lower-cased, anything helm rejects turned into `-`,
 * at most 53 characters.
 *
 * @example
 * defaultReleaseName('JenkinsRelease'); // 'jenkinsrelease'
 */
export function defaultReleaseName(logicalResourceId: string): string {
  const name = logicalResourceId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, RELEASE_NAME_MAX)
    .replace(/^-+|-+$/g, '');
  return name || 'release';
}
