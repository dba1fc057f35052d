// npm run upload -- --bucket B [--prefix P] [--region R]   (npm run publish is an alias that says so)
//
// Uploads the templates, the submodules' templates and the built function packages to S3 in the
// Quick Start key layout, then prints the launch-stack URLs of every entrypoint for every Region
// (one bucket serves them all: the functions stack copies its packages into the stack's Region)
// and the equivalent commands. Honours AWS_ENDPOINT_URL (e.g. moto server).
import { resolve } from 'node:path';
import { repoRoot } from './dev/paths.cjs';
import { check, checkNpmTookFlags, parseCommandLine, runMain, UsageError } from './lib/args';
import { awsStep, regionFrom, resolvedRegion, s3Client } from './lib/aws';
import { checkBucket, collectPublishFiles, formatBytes, publishTree } from './lib/publish-tree';
import {
  awsCliDeployCommand,
  defaultPrefix,
  defaultStackName,
  entrypoints,
  launchStackUrls,
  npmDeployCommand,
  validateBucket,
  validatePrefix,
  validateRegion,
  type EntrypointName,
  type S3Location,
} from './lib/s3-layout';

const usage = `Usage: npm run upload -- --bucket BUCKET [options]

Uploads templates/, submodules/*/templates/ and functions/packages/ to
s3://BUCKET/PREFIX<path> and prints the launch-stack URLs, one per entrypoint and Region:
stacks launch in any Region from this one bucket (the packages are copied into the stack's
Region when it is another).

Options:
  --bucket BUCKET      S3 bucket to publish to (required)
  --prefix PREFIX      key prefix, ending in "/" (default "${defaultPrefix}")
  --region REGION      the bucket's Region (default: AWS_REGION, AWS_DEFAULT_REGION, or the
                       profile's)
  --profile NAME       AWS profile for credentials and Region (default: AWS_PROFILE)
  --stack-name NAME    stack name the launch URLs suggest (default "${defaultStackName}")
  --create-bucket      create the bucket if it does not exist
  --force              upload every file, even those already there unchanged
  --root DIR           publish another checkout of the repository (default: this one)
  -h, --help           show this help

Run npm run build first: the function packages come from it.`;

const options = {
  bucket: { type: 'string' },
  prefix: { type: 'string', default: defaultPrefix },
  region: { type: 'string' },
  profile: { type: 'string' },
  'stack-name': { type: 'string', default: defaultStackName },
  'create-bucket': { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  root: { type: 'string' },
} as const;

async function main(): Promise<number> {
  checkNpmTookFlags(options);
  const { values } = parseCommandLine(process.argv.slice(2), options);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.bucket) throw new UsageError('--bucket is required');
  check(validateBucket(values.bucket));
  check(validatePrefix(values.prefix));
  if (values.region) check(validateRegion(values.region));

  const root = resolve(values.root ?? repoRoot);
  const files = collectPublishFiles(root);
  const region = regionFrom(values.region);
  const s3 = s3Client({ region, profile: values.profile });
  const location: S3Location = {
    bucket: values.bucket,
    prefix: values.prefix,
    region: region ?? (await resolvedRegion(s3)),
  };

  const bucketState = await awsStep(`checking bucket ${location.bucket} in ${location.region}`, () =>
    checkBucket(s3, location, values['create-bucket']),
  );
  if (bucketState === 'created') {
    console.log(`Created bucket ${location.bucket} in ${location.region}.`);
  }
  console.log(
    `Uploading ${files.length} files from ${root} to s3://${location.bucket}/${location.prefix} (${location.region})`,
  );
  const started = Date.now();
  const result = await awsStep(`uploading to s3://${location.bucket}/${location.prefix}`, () =>
    publishTree(s3, { location, files, force: values.force, print: (line) => console.log(line) }),
  );
  const bytes = result.uploaded.reduce((n, f) => n + f.size, 0);
  console.log(
    `Uploaded in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.uploaded.length} uploaded (${formatBytes(bytes)}), ${result.unchanged.length} unchanged.`,
  );

  const stackName = values['stack-name'];
  const titles: Record<EntrypointName, string> = {
    'new-vpc': 'new VPC',
    'existing-vpc': 'existing VPC',
    'existing-cluster': 'existing EKS cluster',
  };
  for (const name of Object.keys(entrypoints) as EntrypointName[]) {
    console.log(`\nLaunch stack, ${titles[name]} (${entrypoints[name]}):`);
    for (const { region, url } of launchStackUrls(location, name, stackName)) console.log(`  ${region}: ${url}`);
  }
  console.log(`
Or with live progress of every nested stack (a preview of the changes first; pick zones EKS
supports in your account, see docs/deployment-guide.md; --region may be another Region than the
bucket's when --bucket-region names the bucket's):
${npmDeployCommand(location, 'new-vpc', stackName).replace(/^/gm, '  ')}

Existing VPC:
${npmDeployCommand(location, 'existing-vpc', stackName).replace(/^/gm, '  ')}

Existing EKS cluster:
${npmDeployCommand(location, 'existing-cluster', stackName).replace(/^/gm, '  ')}

Or with the AWS CLI (new VPC):
${awsCliDeployCommand(location, 'new-vpc', stackName).replace(/^/gm, '  ')}`);
  return 0;
}

runMain(usage, main);
