// npm run destroy -- --stack-name S [--region R]
//
// Deletes the stack and shows live progress for it and every nested stack until it is gone.
// Exit 0 when deleted or when there was no such stack, 1 when the deletion failed (with the root
// causes), 2 on a command-line mistake.
import { parseCommandLine, parseMinutes, check, runMain, UsageError } from './lib/args';
import { cloudFormationClient, cloudFormationStackApi } from './lib/aws';
import { validateRegion } from './lib/s3-layout';
import { destroyStack } from './lib/stack-destroy';
import { colorFor } from './lib/stack-progress';

const usage = `Usage: npm run destroy -- --stack-name NAME [options]

Deletes the stack, nested stacks included, and shows their progress.
Succeeds when the stack does not exist.

Options:
  --stack-name NAME     stack to delete (required)
  --region REGION       its region (default: AWS_REGION or the profile's)
  --timeout MINUTES     stop watching after this long (default 180); the deletion carries on
  --poll SECONDS        pause between progress polls (default 5)
  -h, --help            show this help`;

async function main(): Promise<number> {
  const { values } = parseCommandLine(process.argv.slice(2), {
    'stack-name': { type: 'string' },
    region: { type: 'string' },
    timeout: { type: 'string' },
    poll: { type: 'string' },
  });
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
    console.error(`\nStopped watching. The deletion of ${stackName} carries on in CloudFormation.`);
    process.exit(130);
  });

  const cfn = cloudFormationClient(values.region);
  return destroyStack({
    cfn,
    api: cloudFormationStackApi(cfn),
    stackName,
    print: (line) => console.log(line),
    color: colorFor(process.stdout),
    pollIntervalMs: poll * 1000,
    timeoutMs,
  });
}

runMain(usage, main);
