// What `npm run publish` uploads, and the upload itself: the templates, the submodules' templates
// and the built function packages, each under <prefix><repository-relative path>, skipping files
// whose content is already there (same MD5 as the object's ETag).
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { contentTypeFor, entrypoints, keyFor, type S3Location } from './s3-layout';

/** A file to publish. */
export interface PublishFile {
  /** Path relative to the repository root, with `/` separators; also the key below the prefix. */
  relativePath: string;
  absolutePath: string;
  size: number;
}

const templateExtensions = /\.(ya?ml|json)$/i;

/** Regular files under `dir` (recursively), as paths relative to `base`; dot files and dot folders skipped. */
function walk(base: string, dir: string, accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(base, dir), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = `${dir}/${entry.name}`;
    // statSync follows symbolic links, so a linked package or template is published as a file.
    const stat = statSync(join(base, rel));
    if (stat.isDirectory()) out.push(...walk(base, rel, accept));
    else if (stat.isFile() && accept(entry.name)) out.push(rel);
  }
  return out;
}

/**
 * The files `npm run publish` uploads from the repository at `root`: `templates/**` and
 * `submodules/<name>/templates/**` (YAML and JSON), and everything under `functions/packages/`
 * (the Lambda zips and the helm layer). Sorted by path. Throws, naming what is missing, when the
 * tree cannot be launched: no entrypoint templates, or no built packages.
 *
 * @example
 * collectPublishFiles('/work/main').map((f) => f.relativePath);
 * // ['functions/packages/HelmLayer/layer.zip', ..., 'templates/kubecfn-entrypoint-new-vpc.template.yaml', ...]
 */
export function collectPublishFiles(root: string): PublishFile[] {
  if (!existsSync(join(root, 'templates')))
    throw new Error(`${join(root, 'templates')} is missing: nothing to publish`);
  for (const entry of Object.values(entrypoints)) {
    if (!existsSync(join(root, entry)))
      throw new Error(`${entry} is missing under ${root}: it is what the launch URLs point at`);
  }
  const packages = join(root, 'functions', 'packages');
  const paths = walk(root, 'templates', (n) => templateExtensions.test(n));
  if (existsSync(join(root, 'submodules'))) {
    for (const sub of readdirSync(join(root, 'submodules'), { withFileTypes: true })) {
      const templates = `submodules/${sub.name}/templates`;
      if (!sub.name.startsWith('.') && existsSync(join(root, templates)))
        paths.push(...walk(root, templates, (n) => templateExtensions.test(n)));
    }
  }
  const built = existsSync(packages) ? walk(root, 'functions/packages', () => true) : [];
  if (!built.length) throw new Error(`functions/packages is missing or empty under ${root}: run npm run build first`);
  paths.push(...built);
  return paths.sort().map((relativePath) => {
    const absolutePath = join(root, ...relativePath.split('/'));
    return { relativePath, absolutePath, size: statSync(absolutePath).size };
  });
}

function errorName(err: unknown): string {
  return (err as { name?: string; Code?: string }).Code ?? (err as { name?: string }).name ?? '';
}

/**
 * Checks that the bucket exists, is usable and lives in `location.region` (the region the template
 * URLs and QSS3BucketRegion name); with `create`, creates it there when it does not exist.
 * Throws a message that says what to change otherwise.
 *
 * @example
 * await checkBucket(s3Client('eu-west-1'), { bucket: 'my-bucket', prefix: 'kubecfn/', region: 'eu-west-1' }, false);
 */
export async function checkBucket(s3: S3Client, location: S3Location, create: boolean): Promise<'created' | 'exists'> {
  const wrongRegion = (actual: string) =>
    new Error(
      `bucket ${location.bucket} is in ${actual}, not ${location.region}: pass --region ${actual} (the template URLs name the bucket's region)`,
    );
  try {
    const head = await s3.send(new HeadBucketCommand({ Bucket: location.bucket }));
    if (head.BucketRegion && head.BucketRegion !== location.region) throw wrongRegion(head.BucketRegion);
    return 'exists';
  } catch (err) {
    const res = err as { $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
    const actual = res.$response?.headers?.['x-amz-bucket-region'];
    if (actual && actual !== location.region) throw wrongRegion(actual);
    const status = res.$metadata?.httpStatusCode;
    if (status === 403)
      throw new Error(
        `bucket ${location.bucket} exists but these credentials may not use it (403): choose another --bucket`,
      );
    if (status !== 404 && errorName(err) !== 'NotFound' && errorName(err) !== 'NoSuchBucket') throw err;
  }
  if (!create) {
    throw new Error(
      `bucket ${location.bucket} does not exist: create it (aws s3 mb s3://${location.bucket} --region ${location.region}) or pass --create-bucket`,
    );
  }
  await s3.send(
    new CreateBucketCommand({
      Bucket: location.bucket,
      // us-east-1 is the one region that refuses an explicit location constraint.
      CreateBucketConfiguration:
        location.region === 'us-east-1' ? undefined : { LocationConstraint: location.region as never },
    }),
  );
  return 'created';
}

/** Options for {@link publishTree}. */
export interface PublishOptions {
  location: S3Location;
  files: PublishFile[];
  /** Upload even when the object already has the same content. Default false. */
  force?: boolean;
  /** Uploads in flight at once. Default 4. */
  concurrency?: number;
  /** Receives one line per file. */
  print?: (line: string) => void;
}

/** What was published. */
export interface PublishResult {
  uploaded: { key: string; size: number }[];
  unchanged: { key: string; size: number }[];
}

/** Existing objects under the prefix, key → ETag (quotes removed). */
async function existingETags(s3: S3Client, location: S3Location): Promise<Map<string, string>> {
  const etags = new Map<string, string>();
  try {
    for await (const page of paginateListObjectsV2(
      { client: s3 },
      { Bucket: location.bucket, Prefix: location.prefix },
    )) {
      for (const o of page.Contents ?? []) if (o.Key && o.ETag) etags.set(o.Key, o.ETag.replace(/"/g, ''));
    }
  } catch (err) {
    if (errorName(err) === 'NoSuchBucket') {
      throw new Error(
        `bucket ${location.bucket} does not exist: create it (aws s3 mb s3://${location.bucket} --region ${location.region}) or pass --create-bucket`,
      );
    }
    throw err;
  }
  return etags;
}

/**
 * Uploads `files` to `s3://<bucket>/<prefix><relativePath>` with their Content-Type, skipping
 * those whose object already has the same MD5 (unless `force`).
 *
 * @example
 * const location = { bucket: 'my-bucket', prefix: 'kubecfn/', region: 'us-east-1' };
 * await publishTree(s3Client(location.region), { location, files: collectPublishFiles(repoRoot), print: console.log });
 */
export async function publishTree(s3: S3Client, opts: PublishOptions): Promise<PublishResult> {
  const etags = await existingETags(s3, opts.location);
  const result: PublishResult = { uploaded: [], unchanged: [] };
  const queue = [...opts.files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const key = keyFor(opts.location, file.relativePath);
      const body = readFileSync(file.absolutePath);
      const md5 = createHash('md5').update(body).digest();
      if (!opts.force && etags.get(key) === md5.toString('hex')) {
        result.unchanged.push({ key, size: body.length });
        opts.print?.(`  unchanged  s3://${opts.location.bucket}/${key}`);
        continue;
      }
      await s3.send(
        new PutObjectCommand({
          Bucket: opts.location.bucket,
          Key: key,
          Body: body,
          ContentType: contentTypeFor(file.relativePath),
          // S3 refuses the object if it arrives different from what was read.
          ContentMD5: md5.toString('base64'),
        }),
      );
      result.uploaded.push({ key, size: body.length });
      opts.print?.(`  uploaded   s3://${opts.location.bucket}/${key} (${formatBytes(body.length)})`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
  result.uploaded.sort(byKey);
  result.unchanged.sort(byKey);
  return result;
}

/** `512 B`, `3.4 kB`, `17.7 MB`. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
