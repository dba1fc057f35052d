// npm run deploy -- --stack-name S --template new-vpc|existing-vpc [--param K=V ...] [--bucket B --prefix P --region R]
//
// Creates the stack from a published entrypoint (or updates it through a change set) and shows live
// progress for it and every nested stack until it settles. Exit 0 on success or "no changes",
// 1 on failure or rollback (with the root causes), 2 on a command-line mistake.
import { check, parseCommandLine, parseKeyValues, parseMinutes, runMain, UsageError } from './lib/args';
import { cloudFormationClient, cloudFormationStackApi, resolvedRegion } from './lib/aws';
import {
  defaultPrefix,
  entrypoints,
  entrypointUrl,
  quickStartParameters,
  validateBucket,
  validatePrefix,
  validateRegion,
  type EntrypointName,
  type S3Location,
} from './lib/s3-layout';
import { deployStack } from './lib/stack-deploy';
import { colorFor } from './lib/stack-progress';

const usage = `Usage: npm run deploy -- --stack-name NAME --template new-vpc|existing-vpc [options]

Creates the stack from the entrypoint published at s3://BUCKET/PREFIX (npm run publish),
or updates it through a change set, and shows the progress of every nested stack.

Options:
  --stack-name NAME     stack to create or update (required)
  --template T          new-vpc or existing-vpc (required)
  --param KEY=VALUE     a stack parameter; repeat for more. On update, parameters not
                        given keep their current values
  --bucket BUCKET       bucket the templates were published to (sets QSS3BucketName);
                        required to create, defaults to the stack's current value on update
  --prefix PREFIX       their key prefix, ending in "/" (sets QSS3KeyPrefix; default
                        "${defaultPrefix}", or the stack's current value on update)
  --region REGION       the stack's and bucket's region (sets QSS3BucketRegion; default:
                        AWS_REGION or the profile's)
  --tag KEY=VALUE       a stack tag; repeat for more
  --disable-rollback    keep what was created when the operation fails, for debugging
  --timeout MINUTES     stop watching after this long (default 180); the stack carries on
  --poll SECONDS        pause between progress polls (default 5)
  -h, --help            show this help`;

async function main(): Promise<number> {
  const { values } = parseCommandLine(process.argv.slice(2), {
    'stack-name': { type: 'string' },
    template: { type: 'string' },
    param: { type: 'string', multiple: true },
    bucket: { type: 'string' },
    prefix: { type: 'string' },
    region: { type: 'string' },
    tag: { type: 'string', multiple: true },
    'disable-rollback': { type: 'boolean', default: false },
    timeout: { type: 'string' },
    poll: { type: 'string' },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const stackName = values['stack-name'];
  if (!stackName) throw new UsageError('--stack-name is required');
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new UsageError(
      `--stack-name must start with a letter and hold only letters, digits and hyphens, at most 128 (got "${stackName}")`,
    );
  }
  const template = values.template;
  if (!template) throw new UsageError('--template is required: new-vpc or existing-vpc');
  if (!(template in entrypoints))
    throw new UsageError(`--template must be new-vpc or existing-vpc (got "${template}")`);
  const params = parseKeyValues('--param', values.param);
  const qs = Object.keys(params).filter((k) => k.startsWith('QSS3'));
  if (qs.length) throw new UsageError(`--param ${qs.join(', ')}: set these with --bucket, --prefix and --region`);
  const tags = values.tag ? parseKeyValues('--tag', values.tag) : undefined;
  if (values.bucket) check(validateBucket(values.bucket));
  if (values.prefix !== undefined) check(validatePrefix(values.prefix));
  if (values.region) check(validateRegion(values.region));
  const timeoutMs = parseMinutes('--timeout', values.timeout, 180);
  const poll = values.poll === undefined ? 5 : Number(values.poll);
  if (!Number.isFinite(poll) || poll < 0)
    throw new UsageError(`--poll expects a number of seconds (got "${values.poll}")`);

  const cfn = cloudFormationClient(values.region);
  const api = cloudFormationStackApi(cfn);
  const region = values.region ?? (await resolvedRegion(cfn));
  const existing = await api.describeStack(stackName);

  // Where the templates are: the flags, else (on update) where the stack's templates came from.
  const previous = existing?.parameters ?? {};
  const bucket = values.bucket ?? previous.QSS3BucketName;
  if (!bucket) {
    throw new UsageError(
      existing
        ? `--bucket is required: stack ${stackName} has no QSS3BucketName parameter to take it from`
        : '--bucket is required to create a stack: the bucket npm run publish uploaded the templates to',
    );
  }
  const location: S3Location = {
    bucket,
    prefix: values.prefix ?? (values.bucket ? defaultPrefix : (previous.QSS3KeyPrefix ?? defaultPrefix)),
    region: values.region ?? (values.bucket ? region : (previous.QSS3BucketRegion ?? region)),
  };

  // Ctrl-C ends the watch, not the operation: say so rather than leave the reader guessing.
  process.once('SIGINT', () => {
    console.error(
      `\nStopped watching. The operation on ${stackName} carries on in CloudFormation (see the console, or aws cloudformation describe-stacks).`,
    );
    process.exit(130);
  });

  return deployStack({
    cfn,
    api,
    stackName,
    existing,
    templateUrl: entrypointUrl(location, template as EntrypointName),
    parameters: { ...quickStartParameters(location), ...params },
    tags,
    disableRollback: values['disable-rollback'],
    print: (line) => console.log(line),
    color: colorFor(process.stdout),
    pollIntervalMs: poll * 1000,
    timeoutMs,
  });
}

runMain(usage, main);
