// The Quick Start key layout: every published file keeps its repository-relative path under the
// key prefix (s3://<bucket>/<prefix>templates/..., <prefix>submodules/vpc/templates/...,
// <prefix>functions/packages/<Provider>/lambda.zip), which is what taskcat uploads and what the
// templates' QSS3BucketName / QSS3KeyPrefix / QSS3BucketRegion parameters point at.

/** Default key prefix, as the templates' QSS3KeyPrefix default. */
export const defaultPrefix = 'kubecfn/';

/** Default stack name for launch URLs and commands. */
export const defaultStackName = 'kubecfn';

/** The entrypoint templates, by the short name `--template` takes. */
export const entrypoints = {
  'new-vpc': 'templates/kubecfn-entrypoint-new-vpc.template.yaml',
  'existing-vpc': 'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
  'existing-cluster': 'templates/kubecfn-entrypoint-existing-cluster.template.yaml',
} as const;

/** `new-vpc`, `existing-vpc` or `existing-cluster`. */
export type EntrypointName = keyof typeof entrypoints;

/** Where the published tree lives. */
export interface S3Location {
  /** Bucket name (no dots: the https template URLs are virtual-hosted). */
  bucket: string;
  /** Key prefix ending in `/`, e.g. `kubecfn/`. */
  prefix: string;
  /** The bucket's region, e.g. `us-east-1`. */
  region: string;
}

/**
 * Checks a bucket name against the rules the templates' QSS3BucketName parameter enforces:
 * 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen. Dots are
 * refused because `https://<bucket>.s3.<region>.amazonaws.com` stops matching the TLS certificate.
 * Returns an error message, or undefined when valid.
 *
 * @example
 * validateBucket('my-bucket'); // undefined
 * validateBucket('My.Bucket'); // '--bucket must be ...'
 */
export function validateBucket(bucket: string): string | undefined {
  if (!/^[0-9a-z][0-9a-z-]{1,61}[0-9a-z]$/.test(bucket)) {
    return `--bucket must be 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen (got "${bucket}")`;
  }
  return undefined;
}

/**
 * Checks a key prefix: letters, digits, `-`, `.`, `_` and `/`, ending in `/`, not starting with `/`.
 * Returns an error message, or undefined when valid.
 *
 * @example
 * validatePrefix('kubecfn/'); // undefined
 * validatePrefix('kubecfn');  // '--prefix must end with "/" ...'
 */
export function validatePrefix(prefix: string): string | undefined {
  if (!prefix.endsWith('/')) return `--prefix must end with "/" (got "${prefix}"), e.g. "kubecfn/"`;
  if (prefix.startsWith('/')) return `--prefix must not start with "/" (got "${prefix}")`;
  if (!/^[0-9a-zA-Z._/-]+$/.test(prefix) || prefix.includes('//')) {
    return `--prefix may hold only letters, digits, "-", ".", "_" and single "/" (got "${prefix}")`;
  }
  return undefined;
}

/** Checks a region name such as `us-east-1`. Returns an error message, or undefined when valid. */
export function validateRegion(region: string): string | undefined {
  return /^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)
    ? undefined
    : `--region must be a region name such as us-east-1 (got "${region}")`;
}

/** The S3 key of a repository-relative path. */
export function keyFor(location: Pick<S3Location, 'prefix'>, relativePath: string): string {
  return `${location.prefix}${relativePath}`;
}

/** `amazonaws.com`, or `amazonaws.com.cn` in the China regions. */
function urlSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/**
 * The https URL of a published file, in the virtual-hosted regional form the templates build
 * their nested TemplateURLs with.
 *
 * @example
 * objectUrl({ bucket: 'b', prefix: 'kubecfn/', region: 'eu-west-1' }, 'templates/x.yaml');
 * // 'https://b.s3.eu-west-1.amazonaws.com/kubecfn/templates/x.yaml'
 */
export function objectUrl(location: S3Location, relativePath: string): string {
  return `https://${location.bucket}.s3.${location.region}.${urlSuffix(location.region)}/${keyFor(location, relativePath)}`;
}

/** The template URL of an entrypoint. */
export function entrypointUrl(location: S3Location, name: EntrypointName): string {
  return objectUrl(location, entrypoints[name]);
}

/** The stack parameters that tell the templates where they were published. */
export function quickStartParameters(location: S3Location): Record<string, string> {
  return { QSS3BucketName: location.bucket, QSS3KeyPrefix: location.prefix, QSS3BucketRegion: location.region };
}

function consoleHost(region: string): string {
  if (region.startsWith('cn-')) return 'console.amazonaws.cn';
  if (region.startsWith('us-gov-')) return 'console.amazonaws-us-gov.com';
  return 'console.aws.amazon.com';
}

/**
 * The Regions the launch links are made for: those the templates are linted for (.cfnlintrc.yaml)
 * and the taskcat tests run in. A stack launches in any of them from a bucket in any one: the
 * nested templates are read from the bucket's Region and the functions stack copies the three
 * function packages into a bucket of the stack's Region (Lambda loads code only from its own).
 */
export const launchRegions = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1'] as const;

/**
 * The CloudFormation console's "quick create" URL for an entrypoint, with the QSS3 parameters filled in,
 * opening the console in `stackRegion` (by default the bucket's Region). The template and the
 * QSS3BucketRegion parameter stay the bucket's whatever the stack's Region.
 *
 * @example
 * launchStackUrl({ bucket: 'b', prefix: 'kubecfn/', region: 'us-east-1' }, 'new-vpc');
 * // 'https://console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/create/review?templateURL=https%3A%2F%2F...'
 * launchStackUrl({ bucket: 'b', prefix: 'kubecfn/', region: 'us-east-1' }, 'new-vpc', 'kubecfn', 'eu-west-1');
 * // 'https://console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/create/review?templateURL=https%3A%2F%2Fb.s3.us-east-1...'
 */
export function launchStackUrl(
  location: S3Location,
  name: EntrypointName,
  stackName = defaultStackName,
  stackRegion = location.region,
): string {
  const query = [
    ['templateURL', entrypointUrl(location, name)],
    ['stackName', stackName],
    ...Object.entries(quickStartParameters(location)).map(([k, v]) => [`param_${k}`, v]),
  ]
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  return `https://${consoleHost(stackRegion)}/cloudformation/home?region=${stackRegion}#/stacks/create/review?${query}`;
}

/**
 * The launch links of an entrypoint, one per Region of the bucket's partition among
 * {@link launchRegions} (the bucket's own Region first; a bucket in China or GovCloud gets its own
 * Region only: the console and the partition differ there).
 */
export function launchStackUrls(
  location: S3Location,
  name: EntrypointName,
  stackName = defaultStackName,
): { region: string; url: string }[] {
  const partitionOf = (r: string) => (r.startsWith('cn-') ? 'aws-cn' : r.startsWith('us-gov-') ? 'aws-us-gov' : 'aws');
  const regions = [
    location.region,
    ...launchRegions.filter((r) => r !== location.region && partitionOf(r) === partitionOf(location.region)),
  ];
  return regions.map((region) => ({ region, url: launchStackUrl(location, name, stackName, region) }));
}

/** The capabilities every kubecfn stack needs: IAM roles (some named) and nested stacks. */
export const capabilities = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;

/**
 * Example values for the parameters an entrypoint has no default for (besides the QSS3 ones),
 * so a printed command can succeed once the examples are replaced: the new-VPC entrypoint needs
 * its Availability Zones, the existing-VPC entrypoint the VPC and two private subnets, the
 * existing-cluster entrypoint the cluster, its security group, VPC and two private subnets.
 *
 * @example
 * requiredParameterExamples('new-vpc', 'eu-west-1'); // { AvailabilityZones: 'eu-west-1a,eu-west-1b,eu-west-1c' }
 */
export function requiredParameterExamples(name: EntrypointName, region: string): Record<string, string> {
  const network = {
    VPCID: 'vpc-0123456789abcdef0',
    VPCCIDR: '10.0.0.0/16',
    PrivateSubnet1ID: 'subnet-0123456789abcdef0',
    PrivateSubnet2ID: 'subnet-0fedcba9876543210',
  };
  switch (name) {
    case 'new-vpc':
      return { AvailabilityZones: `${region}a,${region}b,${region}c` };
    case 'existing-vpc':
      return network;
    case 'existing-cluster':
      return { ClusterName: 'my-cluster', ClusterSecurityGroupId: 'sg-0123456789abcdef0', ...network };
  }
}

/**
 * The `aws cloudformation deploy` command equivalent to launching an entrypoint: the template file
 * is the local copy of the entrypoint (identical to the published one), the nested stacks load from
 * the bucket; `--s3-bucket` lets the CLI stage an entrypoint larger than 51,200 bytes. The
 * parameters without a default are filled with {@link requiredParameterExamples}.
 */
export function awsCliDeployCommand(location: S3Location, name: EntrypointName, stackName = defaultStackName): string {
  const params = { ...requiredParameterExamples(name, location.region), ...quickStartParameters(location) };
  return [
    `aws cloudformation deploy --region ${location.region} --stack-name ${stackName}`,
    `  --template-file ${entrypoints[name]}`,
    `  --s3-bucket ${location.bucket} --s3-prefix ${location.prefix}cli`,
    `  --capabilities ${capabilities.join(' ')}`,
    `  --parameter-overrides ${Object.entries(params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  ].join(' \\\n');
}

/** The `npm run deploy` command for an entrypoint, with {@link requiredParameterExamples}. */
export function npmDeployCommand(location: S3Location, name: EntrypointName, stackName = defaultStackName): string {
  const params = Object.entries(requiredParameterExamples(name, location.region)).map(([k, v]) => `--param ${k}=${v}`);
  return [
    `npm run deploy -- --stack-name ${stackName} --template ${name} --bucket ${location.bucket} --prefix ${location.prefix} --region ${location.region}`,
    `  ${params.join(' ')}`,
  ].join(' \\\n');
}

/** Content-Type for a published file, by extension. */
export function contentTypeFor(path: string): string {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  switch (ext) {
    case 'yaml':
    case 'yml':
      return 'application/yaml';
    case 'json':
      return 'application/json';
    case 'zip':
      return 'application/zip';
    case 'md':
      return 'text/markdown; charset=utf-8';
    case 'txt':
      return 'text/plain; charset=utf-8';
    default:
      return 'application/octet-stream';
  }
}
