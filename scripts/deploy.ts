// npm run deploy -- --stack-name S --template new-vpc|existing-vpc|existing-cluster [--param K=V ...]
//   [--bucket B --prefix P --region R --bucket-region R2]
//
// Checks the parameters against the local entrypoint (offline), previews the deployment as a
// change set with every nested stack's changes, asks on a terminal (--yes skips, --no-execute-changeset
// stops after the preview), then executes it, shows live progress for every nested stack until it
// settles, and prints the stack's outputs. Exit 0 on success, "no changes" or a preview, 1 on
// failure, rollback or a declined change set, 2 on a command-line mistake.
import { resolve } from 'node:path';
import { repoRoot } from './dev/paths.cjs';
import {
  check,
  checkNpmTookFlags,
  parseCommandLine,
  parseKeyValues,
  parseMinutes,
  runMain,
  tagKey,
  UsageError,
} from './lib/args';
import { awsStep, cloudFormationClient, cloudFormationStackApi, regionFrom, resolvedRegion } from './lib/aws';
import { askOnTerminal, canAsk, isYes } from './lib/confirm';
import {
  checkParameters,
  describeParameterProblems,
  localTemplatePath,
  readDeclaredParameters,
  readParametersFile,
} from './lib/parameters';
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

const usage = `Usage: npm run deploy -- --stack-name NAME --template new-vpc|existing-vpc|existing-cluster [options]

Creates or updates the stack from the entrypoint uploaded to s3://BUCKET/PREFIX (npm run upload):
checks the parameters against the local template, shows the changes of every nested stack
(a change set), asks before executing it, shows the progress, and prints the stack's outputs.

Options:
  --stack-name NAME          stack to create or update (required)
  --template T               new-vpc, existing-vpc or existing-cluster (required)
  --param KEY=VALUE          a stack parameter; repeat for more. On update, parameters not
                             given keep their current values
  --parameter-overrides K=V [K=V ...]
                             the same, as aws cloudformation deploy takes them
  --parameters-file FILE     parameters from a JSON file: [{"ParameterKey": …, "ParameterValue": …}],
                             ["KEY=VALUE", …] or {"Parameters": {…}}; --param wins over it
  --bucket BUCKET            bucket the templates were uploaded to (sets QSS3BucketName);
                             required to create, defaults to the stack's current value on update
  --prefix PREFIX            their key prefix, ending in "/" (sets QSS3KeyPrefix; default
                             "${defaultPrefix}", or the stack's current value on update)
  --region REGION            the stack's Region (default: AWS_REGION, AWS_DEFAULT_REGION, or the
                             profile's), and the bucket's unless --bucket-region says otherwise
  --bucket-region REGION     the bucket's Region when it is not the stack's (sets QSS3BucketRegion;
                             the functions stack then copies the packages into the stack's Region)
  --profile NAME             AWS profile for credentials and Region (default: AWS_PROFILE)
  --tag KEY=VALUE            a stack tag; repeat for more (--tags K=V [K=V ...] also works)
  --role-arn ARN             service role CloudFormation uses for the stack's operations
  --notification-arns ARN [ARN ...]
                             SNS topics that receive the stack's events
  --termination-protection   turn termination protection on (--no-termination-protection: off)
  --disable-rollback         keep what was created when the operation fails, for debugging
  -y, --yes                  execute the change set without asking (required without a terminal)
  --no-execute-changeset     stop after the preview; the change set stays for review
  --output text|json         json: the result (stack, changes, outputs) as JSON on stdout,
                             progress on stderr (default text)
  --timeout MINUTES          stop watching after this long (default 180); the stack carries on
  --poll SECONDS             pause between progress polls (default 5)
  --root DIR                 the checkout whose templates were uploaded (default: this one)
  -h, --help                 show this help`;

const options = {
  'stack-name': { type: 'string' },
  template: { type: 'string' },
  param: { type: 'string', multiple: true },
  'parameter-overrides': { type: 'string', multiple: true },
  'parameters-file': { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  region: { type: 'string' },
  'bucket-region': { type: 'string' },
  profile: { type: 'string' },
  tag: { type: 'string', multiple: true },
  tags: { type: 'string', multiple: true },
  'role-arn': { type: 'string' },
  'notification-arns': { type: 'string', multiple: true },
  'termination-protection': { type: 'boolean' },
  'disable-rollback': { type: 'boolean', default: false },
  yes: { type: 'boolean', short: 'y', default: false },
  'execute-changeset': { type: 'boolean', default: true },
  output: { type: 'string', default: 'text' },
  timeout: { type: 'string' },
  poll: { type: 'string' },
  root: { type: 'string' },
} as const;

async function main(): Promise<number> {
  checkNpmTookFlags(options);
  const { values } = parseCommandLine(process.argv.slice(2), options, [
    'parameter-overrides',
    'tags',
    'notification-arns',
  ]);
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
  const names = Object.keys(entrypoints).join(', ');
  if (!template) throw new UsageError(`--template is required: one of ${names}`);
  if (!(template in entrypoints)) throw new UsageError(`--template must be one of ${names} (got "${template}")`);
  const fromFile = values['parameters-file'] ? readParametersFile(values['parameters-file']) : {};
  const params = {
    ...fromFile,
    ...parseKeyValues('--param', [...(values.param ?? []), ...(values['parameter-overrides'] ?? [])]),
  };
  const qs = Object.keys(params).filter((k) => k.startsWith('QSS3'));
  if (qs.length) throw new UsageError(`--param ${qs.join(', ')}: set these with --bucket, --prefix and --region`);
  const tagList = [...(values.tag ?? []), ...(values.tags ?? [])];
  const tags = tagList.length ? parseKeyValues('--tag', tagList, tagKey) : undefined;
  if (values.bucket) check(validateBucket(values.bucket));
  if (values.prefix !== undefined) check(validatePrefix(values.prefix));
  if (values.region) check(validateRegion(values.region));
  if (values['bucket-region']) check(validateRegion(values['bucket-region'])?.replace('--region', '--bucket-region'));
  const roleArn = values['role-arn'];
  if (roleArn && !/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn)) {
    throw new UsageError(
      `--role-arn expects an IAM role ARN such as arn:aws:iam::111122223333:role/kubecfn-deploy (got "${roleArn}")`,
    );
  }
  const notificationArns = values['notification-arns'];
  for (const arn of notificationArns ?? []) {
    if (!/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(arn))
      throw new UsageError(`--notification-arns expects SNS topic ARNs (got "${arn}")`);
  }
  if (values.output !== 'text' && values.output !== 'json')
    throw new UsageError(`--output must be text or json (got "${values.output}")`);
  const timeoutMs = parseMinutes('--timeout', values.timeout, 180);
  const poll = values.poll === undefined ? 5 : Number(values.poll);
  if (!Number.isFinite(poll) || poll < 0)
    throw new UsageError(`--poll expects a number of seconds (got "${values.poll}")`);
  const previewOnly = !values['execute-changeset'];
  if (!previewOnly && !values.yes && !canAsk()) {
    throw new UsageError(
      'no terminal to ask on: pass --yes to execute the change set without asking, or --no-execute-changeset to stop after the preview',
    );
  }

  // Offline: the parameters against the local copy of the entrypoint (the published one is the same).
  const root = resolve(values.root ?? repoRoot);
  const templateFile = entrypoints[template as EntrypointName];
  const declared = readDeclaredParameters(localTemplatePath(root, templateFile));
  const offline = checkParameters(declared, params, { creating: false });
  const unknownMessage = describeParameterProblems(offline, declared, templateFile);
  if (unknownMessage) throw new UsageError(unknownMessage);

  const json = values.output === 'json';
  const print = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const region = regionFrom(values.region);
  const cfn = cloudFormationClient({ region, profile: values.profile });
  const api = cloudFormationStackApi(cfn);
  const stackRegion = region ?? (await resolvedRegion(cfn));
  const existing = await awsStep(`reading stack ${stackName} in ${stackRegion}`, () => api.describeStack(stackName));
  const creating = !existing || existing.status === 'REVIEW_IN_PROGRESS';

  // Where the templates are: the flags, else (on update) where the stack's templates came from.
  const previous = existing?.parameters ?? {};
  const bucket = values.bucket ?? previous.QSS3BucketName;
  if (!bucket) {
    throw new UsageError(
      existing && !creating
        ? `--bucket is required: stack ${stackName} has no QSS3BucketName parameter to take it from`
        : '--bucket is required to create a stack: the bucket npm run upload uploaded the templates to',
    );
  }
  const location: S3Location = {
    bucket,
    prefix: values.prefix ?? (values.bucket ? defaultPrefix : previous.QSS3KeyPrefix || defaultPrefix),
    region: values['bucket-region'] ?? (values.bucket ? stackRegion : previous.QSS3BucketRegion || stackRegion),
  };
  const parameters = { ...quickStartParameters(location), ...params };
  if (creating) {
    const missing = describeParameterProblems(
      checkParameters(declared, parameters, { creating }),
      declared,
      templateFile,
    );
    if (missing) throw new UsageError(missing);
  }

  // Ctrl-C ends the watch, not the operation: say so rather than leave the reader guessing.
  process.once('SIGINT', () => {
    console.error(
      `\nStopped. An operation already started on ${stackName} carries on in CloudFormation (see the console, or aws cloudformation describe-stacks).`,
    );
    process.exit(130);
  });

  return awsStep(`deploying stack ${stackName} in ${stackRegion}`, () =>
    deployStack({
      cfn,
      api,
      stackName,
      existing,
      templateUrl: entrypointUrl(location, template as EntrypointName),
      parameters,
      tags,
      roleArn,
      notificationArns,
      terminationProtection: values['termination-protection'],
      disableRollback: values['disable-rollback'],
      execute: previewOnly ? false : values.yes ? true : async (q) => isYes(await askOnTerminal(q)),
      emit: json ? (result) => console.log(JSON.stringify(result, null, 2)) : undefined,
      print,
      color: colorFor(json ? process.stderr : process.stdout),
      pollIntervalMs: poll * 1000,
      timeoutMs,
    }),
  );
}

runMain(usage, main);
