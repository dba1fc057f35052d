// `npm run deploy` and `npm run destroy` against moto server: create and update through change sets
// with their preview, "no changes", a preview only, confirmation on a terminal, a refused stack,
// delete (naming what holds data), delete again; the parameter checks made offline; the messages
// for missing credentials and an unreachable endpoint. The scripts run as a user runs them (npx tsx,
// AWS_ENDPOINT_URL) and are judged by exit code and output.
//
// moto creates and deletes synchronously and records only stack-level events (no per-resource
// ones), so the progress seen here is each stack's own events; it never produces FAILED events or
// rollbacks (a resource it refuses fails the API call instead): stack-progress.test.ts covers
// those with CloudFormation's event sequences.
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListChangeSetsCommand,
  ListStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type MotoServer } from '../../scripts/local';
import { fixtureTree, repoRoot, runScript } from './helpers';

let moto: MotoServer;
let cfn: CloudFormationClient;
let tree: string;

const bucket = 'deploy-fixtures';

beforeAll(async () => {
  moto = await startMoto();
  cfn = new CloudFormationClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  tree = await fixtureTree();
  const published = await runScript('upload', ['--bucket', bucket, '--create-bucket', '--root', tree], moto.endpoint);
  expect(published.code).toBe(0);
});

afterAll(async () => {
  await moto?.stop();
  if (tree) rmSync(tree, { recursive: true, force: true });
});

const zones = ['--param', 'AvailabilityZones=us-east-1a,us-east-1b'];
/** deploy as CI runs it: --yes, against the fixture tree's local templates. */
const deploy = (...args: string[]) =>
  runScript('deploy', [...args, '--root', tree, '--yes', '--poll', '0'], moto.endpoint);
const destroy = (...args: string[]) => runScript('destroy', [...args, '--yes', '--poll', '0'], moto.endpoint);

async function stackOf(name: string) {
  return (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks![0];
}

function parametersOf(stack: {
  Parameters?: { ParameterKey?: string; ParameterValue?: string }[];
}): Record<string, string> {
  return Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey!, p.ParameterValue!]));
}

/** Stacks of a tree (by name prefix) that are not deleted. */
async function liveStacks(root: string): Promise<string[]> {
  const summaries = (await cfn.send(new ListStacksCommand({}))).StackSummaries ?? [];
  return summaries
    .filter((s) => s.StackName?.startsWith(root) && s.StackStatus !== 'DELETE_COMPLETE')
    .map((s) => `${s.StackName} ${s.StackStatus}`);
}

/** A progress line: stack label, resource, type, status (columns separated by runs of spaces). */
function progressLine(stack: string, resource: string, status: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(
    `^[ ✗]\\s+\\d+:\\d\\d\\s+${esc(stack)}\\s+${esc(resource)}\\s+AWS::CloudFormation::Stack\\s+${esc(status)}`,
    'm',
  );
}

describe('deploy and destroy a stack with nested stacks (new-vpc fixture)', () => {
  const name = 'kc-main';

  describe('create', () => {
    test('creates the stack, shows the events of the parent and every nested stack, exits 0', async () => {
      const run = await deploy(
        ...['--stack-name', name, '--template', 'new-vpc', '--bucket', bucket, ...zones],
        ...['--param', 'Environment=dev', '--param', 'SettingType=String', '--tag', 'team=ci'],
      );

      expect(run.stderr).not.toMatch(/error/i);
      expect(run.code).toBe(0);
      // the preview: a CREATE change set with the resources to add
      expect(run.stdout).toMatch(
        /Creating stack kc-main: change set kubecfn-deploy-\d{8}T\d{9}z, nested stacks included/,
      );
      expect(run.stdout).toMatch(/STACK\s+ACTION\s+RESOURCE\s+TYPE\s+REPLACEMENT/);
      expect(run.stdout).toMatch(/kc-main\s+Add\s+ClusterStack\s+AWS::CloudFormation::Stack\s+-/);
      expect(run.stdout).toMatch(/3 to add, 0 to modify \(0 replaced\), 0 to remove\./);
      expect(run.stdout).toContain(
        `Template: https://${bucket}.s3.us-east-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml`,
      );
      expect(run.stdout).toMatch(/ELAPSED\s+STACK\s+RESOURCE\s+TYPE\s+STATUS\s+REASON/);
      expect(run.stdout).toMatch(progressLine(name, name, 'CREATE_IN_PROGRESS'));
      expect(run.stdout).toMatch(progressLine(name, name, 'CREATE_COMPLETE'));
      for (const nested of ['VPCStack', 'ClusterStack']) {
        expect(run.stdout).toMatch(progressLine(nested, nested, 'CREATE_IN_PROGRESS'));
        expect(run.stdout).toMatch(progressLine(nested, nested, 'CREATE_COMPLETE'));
      }
      // two levels down: labelled by its path of logical ids
      expect(run.stdout).toMatch(progressLine('ClusterStack/NodesStack', 'NodesStack', 'CREATE_COMPLETE'));
      expect(run.stdout).toMatch(new RegExp(`^${name}: CREATE_COMPLETE in \\d+:\\d\\d\\.$`, 'm'));

      const stack = await stackOf(name);
      expect(stack.StackStatus).toBe('CREATE_COMPLETE');
      expect(parametersOf(stack)).toMatchObject({
        QSS3BucketName: bucket,
        QSS3KeyPrefix: 'kubecfn/',
        QSS3BucketRegion: 'us-east-1',
        Environment: 'dev',
      });
      expect(stack.Tags).toEqual([{ Key: 'team', Value: 'ci' }]);
      const resources = await cfn.send(new ListStackResourcesCommand({ StackName: name }));
      expect(resources.StackResourceSummaries!.map((r) => r.LogicalResourceId).sort()).toEqual([
        'ClusterStack',
        'EnvironmentSetting',
        'VPCStack',
      ]);
    });
  });

  describe('update', () => {
    // moto compares a change set with the parameters the stack was *created* with, so "no changes"
    // is checked first, while those still are the current ones.
    test('the same template and parameters again: "no changes", exit 0, no change set left behind', async () => {
      const run = await deploy(
        '--stack-name',
        name,
        '--template',
        'new-vpc',
        '--bucket',
        bucket,
        '--param',
        'Environment=dev',
        '--param',
        'SettingType=String',
      );

      expect(run.stderr).not.toMatch(/error/i);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/No changes: stack kc-main is already up to date\./);
      expect(run.stdout).not.toMatch(/UPDATE_IN_PROGRESS/);
      // the change set that found nothing is gone; only the executed one that created the stack is left
      const left = (await cfn.send(new ListChangeSetsCommand({ StackName: name }))).Summaries ?? [];
      expect(left.map((c) => c.ExecutionStatus)).toEqual(['EXECUTE_COMPLETE']);
      expect((await stackOf(name)).StackStatus).toBe('CREATE_COMPLETE');
    });

    test("a changed parameter updates through a change set, with the nested stacks' progress", async () => {
      const run = await deploy(
        '--stack-name',
        name,
        '--template',
        'new-vpc',
        '--bucket',
        bucket,
        '--param',
        'Environment=prod',
        '--param',
        'SettingType=String',
      );

      expect(run.stderr).not.toMatch(/error/i);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        /Updating stack kc-main: change set kubecfn-deploy-\d{8}T\d{9}z, nested stacks included/,
      );
      expect(run.stdout).toMatch(progressLine(name, name, 'UPDATE_IN_PROGRESS'));
      expect(run.stdout).toMatch(progressLine(name, name, 'UPDATE_COMPLETE'));
      expect(run.stdout).toMatch(progressLine('VPCStack', 'VPCStack', 'CREATE_COMPLETE'));
      expect(run.stdout).toMatch(/^kc-main: UPDATE_COMPLETE in \d+:\d\d\.$/m);
      // events from before the update are not printed again
      expect(run.stdout).not.toMatch(progressLine(name, name, 'CREATE_IN_PROGRESS'));

      const stack = await stackOf(name);
      expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
      expect(parametersOf(stack).Environment).toBe('prod');
      const changeSets = (await cfn.send(new ListChangeSetsCommand({ StackName: name }))).Summaries ?? [];
      expect(changeSets.length).toBeGreaterThan(0);
      for (const c of changeSets)
        expect([c.ChangeSetName?.slice(0, 15), c.ExecutionStatus]).toEqual(['kubecfn-deploy-', 'EXECUTE_COMPLETE']);
    });

    test("without --bucket or --param: the stack's own bucket, prefix and parameter values are kept", async () => {
      const run = await deploy('--stack-name', name, '--template', 'new-vpc');

      expect(run.stderr).not.toMatch(/error/i);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        `Template: https://${bucket}.s3.us-east-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml`,
      );
      expect(run.stdout).toMatch(/Environment = \(unchanged\)/);
      expect(parametersOf(await stackOf(name))).toMatchObject({
        QSS3BucketName: bucket,
        Environment: 'prod',
        SettingType: 'String',
      });
    });
  });

  describe('delete', () => {
    test('destroy deletes the stack with the same progress display, exits 0', async () => {
      const run = await destroy('--stack-name', name);

      expect(run.stderr).not.toMatch(/error/i);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        /Stack kc-main \(arn:aws:cloudformation:us-east-1:\d+:stack\/kc-main\/[\w-]+, \w+\) and its 3 nested stack\(s\) will be deleted\./,
      );
      // what holds data, named before the delete
      expect(run.stdout).toMatch(
        /Deleted with the stack[^\n]*Jenkins home[^\n]*:\n(\s+.*\n)*\s+AWS::EFS::FileSystem fs-\w+ \(ClusterStack\/FileSystem\)/,
      );
      expect(run.stdout).toMatch(
        /Kept after the stack is gone[^\n]*\n(\s+.*\n)*\s+AWS::Logs::LogGroup \/kubecfn-fixture\/\S+\/audit \(ClusterStack\/AuditLogGroup\)/,
      );
      expect(run.stdout).toMatch(/Deleting stack kc-main and its 3 nested stack\(s\)/);
      expect(run.stdout).toMatch(progressLine(name, name, 'DELETE_IN_PROGRESS'));
      expect(run.stdout).toMatch(progressLine(name, name, 'DELETE_COMPLETE'));
      expect(run.stdout).toMatch(progressLine('VPCStack', 'VPCStack', 'DELETE_COMPLETE'));
      expect(run.stdout).toMatch(/^kc-main: DELETE_COMPLETE in \d+:\d\d\.$/m);
      await expect(stackOf(name)).rejects.toThrow(/does not exist/);
      expect(await liveStacks(name)).toEqual([]);
    }, 300_000);

    test('destroy again: nothing to delete, exits 0', async () => {
      const run = await destroy('--stack-name', name);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Stack kc-main does not exist: nothing to delete.');
    });
  });
});

describe('existing-vpc fixture: create then destroy removes every nested stack', () => {
  test('no stack of the tree is left', async () => {
    const created = await deploy(
      '--stack-name',
      'kc-existing',
      '--template',
      'existing-vpc',
      '--bucket',
      bucket,
      '--param',
      'VpcId=vpc-0abc',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(progressLine('BastionStack', 'BastionStack', 'CREATE_COMPLETE'));

    const destroyed = await destroy('--stack-name', 'kc-existing');

    expect(destroyed.code).toBe(0);
    expect(destroyed.stdout).toMatch(progressLine('BastionStack', 'BastionStack', 'DELETE_COMPLETE'));
    expect(await liveStacks('kc-existing')).toEqual([]);
  });
});

describe('existing-cluster fixture, launched in another Region than the bucket’s (--bucket-region)', () => {
  test('the template comes from the bucket’s Region and the stack is told where the bucket is', async () => {
    const run = await deploy(
      ...['--stack-name', 'kc-cluster', '--template', 'existing-cluster', '--bucket', bucket],
      ...['--region', 'eu-west-1', '--bucket-region', 'us-east-1', '--param', 'ClusterName=team-a'],
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Template: https://${bucket}.s3.us-east-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-existing-cluster.template.yaml`,
    );
    const west = new CloudFormationClient({
      endpoint: moto.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const stack = (await west.send(new DescribeStacksCommand({ StackName: 'kc-cluster' }))).Stacks![0]!;
    expect(stack.StackId).toMatch(/^arn:aws:cloudformation:eu-west-1:/);
    expect(parametersOf(stack)).toMatchObject({ QSS3BucketRegion: 'us-east-1', ClusterName: 'team-a' });
  });

  test('a --bucket-region that is not a Region is refused offline', async () => {
    const run = await runScript(
      'deploy',
      ['--stack-name', 's', '--template', 'existing-cluster', '--bucket', bucket, '--bucket-region', 'mars'],
      'http://127.0.0.1:9',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--bucket-region must be a region name such as us-east-1 (got "mars")');
  });
});

describe('failures', () => {
  test('a resource moto refuses deep in a nested stack: exit 1 with the reason', async () => {
    const run = await deploy(
      ...['--stack-name', 'kc-refused', '--template', 'new-vpc', '--bucket', bucket, ...zones],
      ...['--param', 'SettingType=Bogus'],
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refused|failed/);
    expect(run.stderr + run.stdout).toContain("Value 'Bogus' at 'type' failed to satisfy constraint");
  });

  test('a parameter the template does not declare is refused offline, with the closest name', async () => {
    // An endpoint nothing listens on: the check must not need it.
    const run = await runScript(
      'deploy',
      [
        '--stack-name',
        'kc-unknown',
        '--template',
        'new-vpc',
        '--bucket',
        bucket,
        '--param',
        'Enviroment=1',
        '--root',
        tree,
        '--yes',
      ],
      'http://127.0.0.1:9',
    );

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'templates/kubecfn-entrypoint-new-vpc.template.yaml declares no parameter Enviroment (did you mean Environment?)',
    );
    expect(run.stderr).toContain('See npm run deploy -- --help for every option.');
    expect(run.stderr).not.toContain('Options:');
  });

  test('a new stack without a parameter that has no default: exit 2 naming it, nothing created', async () => {
    const run = await deploy('--stack-name', 'kc-nozones', '--template', 'new-vpc', '--bucket', bucket);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /a new stack needs AvailabilityZones, which has no default: --param AvailabilityZones=…/,
    );
    await expect(stackOf('kc-nozones')).rejects.toThrow(/does not exist/);
  });

  test('a template that was never published: exit 1, pointing at npm run upload', async () => {
    const run = await deploy(
      '--stack-name',
      'kc-unpublished',
      '--template',
      'new-vpc',
      '--bucket',
      bucket,
      '--prefix',
      'elsewhere/',
      ...zones,
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `cannot read the template at https://${bucket}.s3.us-east-1.amazonaws.com/elsewhere/templates/kubecfn-entrypoint-new-vpc.template.yaml`,
    );
    expect(run.stderr).toContain('npm run upload');
  });

  test.each([
    [['--template', 'new-vpc', '--bucket', bucket], '--stack-name is required'],
    [['--stack-name', 's', '--bucket', bucket], '--template is required'],
    [
      ['--stack-name', 's', '--template', 'old-vpc', '--bucket', bucket],
      '--template must be one of new-vpc, existing-vpc, existing-cluster (got "old-vpc")',
    ],
    [['--stack-name', 's', '--template', 'new-vpc'], '--bucket is required to create a stack'],
    [
      ['--stack-name', 's', '--template', 'new-vpc', '--bucket', bucket, '--param', 'Environment'],
      '--param expects KEY=VALUE',
    ],
    [
      ['--stack-name', 's', '--template', 'new-vpc', '--bucket', bucket, '--param', 'QSS3BucketName=x'],
      'set these with --bucket, --prefix and --region',
    ],
    [['--stack-name', 's', '--template', 'new-vpc', '--bucket', bucket, '--prefix', 'p'], '--prefix must end with "/"'],
    [
      ['--stack-name', 's', '--template', 'new-vpc', '--bucket', bucket, '--role-arn', 'deployer'],
      '--role-arn expects an IAM role ARN',
    ],
    [
      ['--stack-name', 's', '--template', 'new-vpc', '--bucket', bucket, '--output', 'yaml'],
      '--output must be text or json',
    ],
    [
      ['--stack-name', 's', '--template', 'new-vpc', '--bucket', bucket, '--notification-arns', 'topic'],
      '--notification-arns expects SNS topic ARNs',
    ],
    [['--stack-name', 's', 'new-vpc'], "unexpected argument 'new-vpc'"],
  ])('deploy %j: exit 2, a one-line message naming the flag and where the help is', async (args, message) => {
    const run = await deploy(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('See npm run deploy -- --help for every option.');
    expect(run.stderr).not.toContain('Options:');
  });

  test('destroy without --stack-name: exit 2', async () => {
    const run = await destroy();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--stack-name is required');
  });
});

describe('preview and confirmation', () => {
  test('--no-execute-changeset: the preview only; the new stack waits in REVIEW_IN_PROGRESS, a later deploy creates it', async () => {
    const name = 'kc-preview';
    const preview = await deploy(
      '--stack-name',
      name,
      '--template',
      'new-vpc',
      '--bucket',
      bucket,
      ...zones,
      '--no-execute-changeset',
    );

    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/kc-preview\s+Add\s+VPCStack\s+AWS::CloudFormation::Stack/);
    expect(preview.stdout).toMatch(/created and not executed \(--no-execute-changeset\)/);
    expect(preview.stdout).toMatch(
      /aws cloudformation execute-change-set --stack-name kc-preview --change-set-name kubecfn-deploy-/,
    );
    expect(preview.stdout).not.toMatch(/ELAPSED/);
    expect((await stackOf(name)).StackStatus).toBe('REVIEW_IN_PROGRESS');

    const created = await deploy('--stack-name', name, '--template', 'new-vpc', '--bucket', bucket, ...zones);
    expect(created.code).toBe(0);
    expect((await stackOf(name)).StackStatus).toBe('CREATE_COMPLETE');
    expect((await destroy('--stack-name', name)).code).toBe(0);
  });

  test('without a terminal and without --yes: exit 2 before anything is asked of AWS', async () => {
    const run = await runScript(
      'deploy',
      ['--stack-name', 'kc-notty', '--template', 'new-vpc', '--bucket', bucket, ...zones, '--root', tree],
      'http://127.0.0.1:9',
    );

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no terminal to ask on: pass --yes to execute the change set without asking');
  });

  test('on a terminal, answering no: exit 1, the change set and the empty stack are removed', async () => {
    const run = await runScript(
      'deploy',
      [
        '--stack-name',
        'kc-declined',
        '--template',
        'new-vpc',
        '--bucket',
        bucket,
        ...zones,
        '--root',
        tree,
        '--poll',
        '0',
      ],
      moto.endpoint,
      { tty: { input: 'n\n' } },
    );

    expect(run.stdout).toMatch(/Execute change set kubecfn-deploy-\d{8}T\d{9}z on kc-declined\? \[y\/N\]/);
    expect(run.stdout).toContain('Not executed: change set');
    expect(run.code).toBe(1);
    expect(await liveStacks('kc-declined')).toEqual([]);
  });

  test('on a terminal, answering yes: created', async () => {
    const run = await runScript(
      'deploy',
      [
        '--stack-name',
        'kc-confirmed',
        '--template',
        'new-vpc',
        '--bucket',
        bucket,
        ...zones,
        '--root',
        tree,
        '--poll',
        '0',
      ],
      moto.endpoint,
      { tty: { input: 'y\n' } },
    );

    expect(run.stdout).toMatch(/kc-confirmed: CREATE_COMPLETE/);
    expect(run.code).toBe(0);
  });

  test('destroy without a terminal and without --yes: names what holds data, exit 2, the stack stays', async () => {
    const run = await runScript('destroy', ['--stack-name', 'kc-confirmed'], moto.endpoint);

    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/AWS::EFS::FileSystem fs-\w+ \(ClusterStack\/FileSystem\)/);
    expect(run.stdout).toMatch(/AWS::Logs::LogGroup \S+ \(ClusterStack\/AuditLogGroup\)/);
    expect(run.stderr).toContain('no terminal to ask on: pass --yes to delete stack kc-confirmed without asking');
    expect((await stackOf('kc-confirmed')).StackStatus).toBe('CREATE_COMPLETE');
  });

  test('destroy on a terminal: anything but the stack name keeps it (exit 1); the name deletes it', async () => {
    const kept = await runScript('destroy', ['--stack-name', 'kc-confirmed', '--poll', '0'], moto.endpoint, {
      tty: { input: 'y\n' },
    });
    expect(kept.stdout).toContain('Type the stack name (kc-confirmed) to delete it');
    expect(kept.stdout).toContain('Not deleted.');
    expect(kept.code).toBe(1);
    expect((await stackOf('kc-confirmed')).StackStatus).toBe('CREATE_COMPLETE');

    const deleted = await runScript('destroy', ['--stack-name', 'kc-confirmed', '--poll', '0'], moto.endpoint, {
      tty: { input: 'kc-confirmed\n' },
    });
    expect(deleted.stdout).toMatch(/kc-confirmed: DELETE_COMPLETE/);
    expect(deleted.code).toBe(0);
  });
});

describe('AWS CLI conventions', () => {
  test('--parameters-file (CloudFormation format), --parameter-overrides and --tags take several values; --param wins over the file', async () => {
    const file = join(tree, 'params.json');
    writeFileSync(
      file,
      JSON.stringify([
        { ParameterKey: 'AvailabilityZones', ParameterValue: 'us-east-1a,us-east-1b' },
        { ParameterKey: 'Environment', ParameterValue: 'from-file' },
        { ParameterKey: 'SettingType', ParameterValue: 'String' },
      ]),
    );
    const run = await deploy(
      ...['--stack-name', 'kc-conventions', '--template', 'new-vpc', '--bucket', bucket, '--parameters-file', file],
      ...['--parameter-overrides', 'Environment=staging'],
      ...['--tags', 'team=ci', 'cost-center=42', '--output', 'json'],
    );

    expect(run.code).toBe(0);
    // --output json: stdout is one JSON document; the progress went to stderr
    const result = JSON.parse(run.stdout) as {
      StackStatus: string;
      Executed: boolean;
      Changes: { logicalId: string }[];
    };
    expect(result).toMatchObject({ StackName: 'kc-conventions', StackStatus: 'CREATE_COMPLETE', Executed: true });
    expect(result.Changes.map((c) => c.logicalId)).toEqual(expect.arrayContaining(['VPCStack', 'ClusterStack']));
    expect(run.stderr).toMatch(/kc-conventions: CREATE_COMPLETE/);
    const stack = await stackOf('kc-conventions');
    expect(parametersOf(stack)).toMatchObject({ Environment: 'staging', AvailabilityZones: 'us-east-1a,us-east-1b' });
    expect(stack.Tags).toEqual([
      { Key: 'team', Value: 'ci' },
      { Key: 'cost-center', Value: '42' },
    ]);
    expect((await destroy('--stack-name', 'kc-conventions')).code).toBe(0);
  });

  test('AWS_DEFAULT_REGION is honoured when AWS_REGION is not set', async () => {
    const run = await runScript(
      'deploy',
      [
        '--stack-name',
        'kc-region',
        '--template',
        'new-vpc',
        '--bucket',
        bucket,
        ...zones,
        '--root',
        tree,
        '--no-execute-changeset',
      ],
      moto.endpoint,
      { env: { AWS_REGION: undefined, AWS_DEFAULT_REGION: 'eu-west-1' } },
    );

    expect(run.stdout).toContain(`Template: https://${bucket}.s3.eu-west-1.amazonaws.com/`);
    expect(run.stdout).toContain('QSS3BucketRegion = eu-west-1');
  });

  test('no credentials: which step failed and what to do, not the SDK text', async () => {
    const run = await runScript(
      'deploy',
      ['--stack-name', 'kc-nocreds', '--template', 'new-vpc', '--bucket', bucket, ...zones, '--root', tree, '--yes'],
      moto.endpoint,
      {
        env: {
          AWS_ACCESS_KEY_ID: undefined,
          AWS_SECRET_ACCESS_KEY: undefined,
          AWS_SHARED_CREDENTIALS_FILE: join(tree, 'none'),
          AWS_CONFIG_FILE: join(tree, 'none'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'error: reading stack kc-nocreds in us-east-1: no AWS credentials found: pass --profile NAME',
    );
    expect(run.stderr).not.toContain('Could not load credentials from any providers');
  });

  test('an endpoint that does not answer: which step failed and what to check', async () => {
    const run = await runScript(
      'deploy',
      ['--stack-name', 'kc-offline', '--template', 'new-vpc', '--bucket', bucket, ...zones, '--root', tree, '--yes'],
      'http://127.0.0.1:9',
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /error: reading stack kc-offline in us-east-1: cannot reach AWS at \S+ \(ECONNREFUSED\): check the network/,
    );
  });

  test('npm run deploy --stack-name s (without --): says npm took the flags', async () => {
    const run = await new Promise<{ code: number | null; stderr: string }>((ok) => {
      const child = spawn('npm', ['run', '-s', 'deploy', '--stack-name', 's', '--template', 'new-vpc'], {
        cwd: repoRoot,
        env: { ...process.env, npm_lifecycle_event: undefined },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('close', (code) => ok({ code, stderr }));
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'npm took --stack-name, --template for itself: put -- between the script and its flags',
    );
    expect(run.stderr).toContain('npm run deploy -- --stack-name … --template …');
  });

  test('npm run publish is an alias of npm run upload that says so', async () => {
    const run = await runScript('publish', ['--help'], moto.endpoint);

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('npm run publish is now npm run upload');
    expect(run.stdout).toContain('Usage: npm run upload -- --bucket BUCKET');
  });
});
