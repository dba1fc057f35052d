/**
 * `ManifestUrl`: the manifest in a file in S3 instead of in the template. The provider reads it with
 * its own role, through the S3 reader the helm layer reads charts and values files with, at every
 * step (the state carries no objects: each invocation recomputes them from the properties). Its
 * text is typed exactly as a `Manifest` string is (YAML 1.1, the types its author wrote).
 *
 * A Delete (or the prune of an Update's previous set) that cannot read the file any more cannot
 * know the objects: it says so in the log and leaves them, rather than hold the stack's delete.
 */
import * as z from 'zod';
import { parseS3Url, s3ObjectReader, type ObjectReader, type S3Location } from '../../helm/aws-sources';
import { describeAwsError } from '../../helm/chart-source';
import { describeError, parseProperties, ResourceError, type StepContext } from '../../runtime';
import { manifest, MANIFEST_URL, type Props } from './schema';

/**
 * The S3 object a `ManifestUrl` names; `undefined` when it is not of a known form.
 *
 * @example
 * manifestLocation('s3://my-bucket/kubecfn/app.yaml'); // { bucket: 'my-bucket', key: 'kubecfn/app.yaml' }
 * manifestLocation('https://my-bucket.s3.eu-west-1.amazonaws.com/app%201.yaml'); // { bucket: 'my-bucket', key: 'app 1.yaml' }
 * manifestLocation('https://s3.eu-west-1.amazonaws.com/my-bucket/app.yaml'); // { bucket: 'my-bucket', key: 'app.yaml' }
 */
export function manifestLocation(url: string): S3Location | undefined {
  const text = url.trim();
  if (!MANIFEST_URL.test(text)) return undefined;
  if (text.startsWith('s3://')) return parseS3Url(text);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return undefined;
    }
  };
  const path = parsed.pathname.replace(/^\//, '');
  const host = /^(.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$/.exec(parsed.hostname);
  if (host && !/^s3([.-]|$)/.test(parsed.hostname)) {
    const key = decode(path);
    return key ? { bucket: host[1]!, key } : undefined;
  }
  const slash = path.indexOf('/');
  const key = slash > 0 ? decode(path.slice(slash + 1)) : undefined;
  return key ? { bucket: path.slice(0, slash), key } : undefined;
}

const fromFile = z.object({ ManifestUrl: manifest });

/**
 * The helm layer's S3 reader, one per process (kept while the container is warm). Taken directly,
 * not through its `awsSources`, so the KubeProvider's bundle carries no ECR or Secrets Manager client.
 */
let reader: Promise<ObjectReader> | undefined;

/** How the objects are used: applied (an unreadable file fails the step), or only deleted. */
export type ManifestUse = 'apply' | 'delete';

/**
 * `props` with `Manifest` holding the documents `ManifestUrl` names (unchanged without a
 * `ManifestUrl`). `use: 'delete'`: a file that cannot be read or parsed gives no objects, and a
 * warning in the log.
 *
 * @example
 * props = await withManifestFromUrl(props, ctx, 'apply');
 */
export async function withManifestFromUrl(props: Props, ctx: StepContext, use: ManifestUse): Promise<Props> {
  if (props.ManifestUrl === undefined) return props;
  const url = props.ManifestUrl;
  try {
    return { ...props, Manifest: await readManifest(url, ctx.signal) };
  } catch (error) {
    if (use === 'apply') throw error;
    ctx.logger.warn('ManifestUrl cannot be read: the objects it named (if any) are left in the cluster', {
      manifestUrl: url,
      error: describeError(error),
    });
    return { ...props, Manifest: [] };
  }
}

/** Reads and checks the documents of `url`; throws a ResourceError naming ManifestUrl. */
async function readManifest(url: string, signal: AbortSignal): Promise<Props['Manifest']> {
  const location = manifestLocation(url);
  if (!location)
    throw new ResourceError(
      'ManifestUrl: expected s3://<bucket>/<key> or https://<bucket>.s3.<region>.amazonaws.com/<key> of a manifest file',
    );
  let body: Uint8Array;
  try {
    body = await (await (reader ??= s3ObjectReader())).get(location, signal);
  } catch (error) {
    throw new ResourceError(
      `ManifestUrl: could not read s3://${location.bucket}/${location.key}: ${describeAwsError(error)}`,
      { cause: error },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new ResourceError(`ManifestUrl: s3://${location.bucket}/${location.key} is not UTF-8 text`);
  }
  // The same checks (and the same typing: text keeps its author's types) as a Manifest string.
  return parseProperties(fromFile, { ManifestUrl: text }).ManifestUrl;
}
