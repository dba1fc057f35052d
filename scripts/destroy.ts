// npm run destroy -- --stack-name S [--region R] [--yes]
//
// Says what holds data in the stack tree (EFS, retained log groups), asks on a terminal (--yes
// skips), deletes the stack and shows live progress for it and every nested stack until it is
// gone. Exit 0 when deleted or when there was no such stack, 1 when the deletion failed (with the
// root causes) or was declined, 2 on a command-line mistake.
import { checkNpmTookFlags, parseCommandLine, parseMinutes, check, runMain, UsageError } from './lib/args';
import { awsStep, cloudFormationClient, cloudFormationStackApi, regionFrom, resolvedRegion } from './lib/aws';
import { askOnTerminal, canAsk } from './lib/confirm';
import { validateRegion } from './lib/s3-layout';
import { destroyStack } from './lib/stack-destroy';
import { colorFor } from './lib/stack-progress';

const usage = `Usage: npm run destroy -- --stack-name NAME [options]

Deletes the stack, nested stacks included, and shows their progress. Says first what holds
data (the EFS file system with the Jenkins home, log groups that are kept) and asks.
Succeeds when the stack does not exist.

Options:
  --stack-name NAME     stack to delete (required)
  --region REGION       its Region (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile's)
  --profile NAME        AWS profile for credentials and Region (default: AWS_PROFILE)
  -y, --yes             delete without asking (required without a terminal)
  --timeout MINUTES     stop watching after this long (default 180); the deletion carries on
  --poll SECONDS        pause between progress polls (default 5)
  -h, --help            show this help`;

const options = {
  'stack-name': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  yes: { type: 'boolean', short: 'y', default: false },
  timeout: { type: 'string' },
  poll: { type: 'string' },
} as const;

async function main(): Promise<number> {
  checkNpmTookFlags(options);
  const { values } = parseCommandLine(process.argv.slice(2), options);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const stackName = values['stack-name'];
  if (!stackName) throw new UsageError('--stack-name is required');
  if (values.region) check(validateRegion(values.region));
  const timeoutMs = parseMinutes('--timeout', values.timeout, 180);
  const poll = values.poll === undefined ? 5 : Number(values.poll);
  if (!Number.isFinite(poll) || poll < 0)
    throw new UsageError(`--poll expects a number of seconds (got "${values.poll}")`);

  process.once('SIGINT', () => {
    console.error(`\nStopped. A deletion already started on ${stackName} carries on in CloudFormation.`);
    process.exit(130);
  });

  const region = regionFrom(values.region);
  const cfn = cloudFormationClient({ region, profile: values.profile });
  const stackRegion = region ?? (await resolvedRegion(cfn));
  return awsStep(`deleting stack ${stackName} in ${stackRegion}`, () =>
    destroyStack({
      cfn,
      api: cloudFormationStackApi(cfn),
      stackName,
      confirm: values.yes
        ? true
        : canAsk()
          ? async (name) =>
              (await askOnTerminal(`Type the stack name (${name}) to delete it, anything else to keep it: `)) === name
          : undefined,
      print: (line) => console.log(line),
      color: colorFor(process.stdout),
      pollIntervalMs: poll * 1000,
      timeoutMs,
    }),
  );
}

runMain(usage, main);
