// `npm run deploy` and `npm run destroy` against moto server: create with nested stacks, update
// through a change set, "no changes", a refused stack, delete, delete again. The scripts run as a
// user runs them (npx tsx, AWS_ENDPOINT_URL) and are judged by exit code and output.
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
import { rmSync } from 'node:fs';
import { startMoto, type MotoServer } from '../../scripts/local';
import { fixtureTree, runScript } from './helpers';

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
  const published = await runScript('publish', ['--bucket', bucket, '--create-bucket', '--root', tree], moto.endpoint);
  expect(published.code).toBe(0);
});

afterAll(async () => {
  await moto?.stop();
  if (tree) rmSync(tree, { recursive: true, force: true });
});

const deploy = (...args: string[]) => runScript('deploy', args, moto.endpoint);
const destroy = (...args: string[]) => runScript('destroy', args, moto.endpoint);

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
        ...['--stack-name', name, '--template', 'new-vpc', '--bucket', bucket],
        ...['--param', 'Environment=dev', '--param', 'SettingType=String', '--tag', 'team=ci'],
      );

      expect(run.stderr).not.toMatch(/error/i);
      expect(run.code).toBe(0);
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
      expect((await cfn.send(new ListChangeSetsCommand({ StackName: name }))).Summaries ?? []).toEqual([]);
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
      expect(run.stdout).toMatch(/Updating stack kc-main through change set kubecfn-deploy-\d{8}T\d{9}z/);
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
      expect(changeSets.map((c) => [c.ChangeSetName?.slice(0, 15), c.ExecutionStatus])).toEqual([
        ['kubecfn-deploy-', 'EXECUTE_COMPLETE'],
      ]);
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
        /Deleting stack kc-main \(arn:aws:cloudformation:us-east-1:\d+:stack\/kc-main\/[\w-]+\) and its \d+ nested stack\(s\)/,
      );
      expect(run.stdout).toMatch(progressLine(name, name, 'DELETE_IN_PROGRESS'));
      expect(run.stdout).toMatch(progressLine(name, name, 'DELETE_COMPLETE'));
      expect(run.stdout).toMatch(progressLine('VPCStack', 'VPCStack', 'DELETE_COMPLETE'));
      expect(run.stdout).toMatch(/^kc-main: DELETE_COMPLETE in \d+:\d\d\.$/m);
      await expect(stackOf(name)).rejects.toThrow(/does not exist/);
      expect(await liveStacks(name)).toEqual([]);
    });

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
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(progressLine('BastionStack', 'BastionStack', 'CREATE_COMPLETE'));

    const destroyed = await destroy('--stack-name', 'kc-existing');

    expect(destroyed.code).toBe(0);
    expect(destroyed.stdout).toMatch(progressLine('BastionStack', 'BastionStack', 'DELETE_COMPLETE'));
    expect(await liveStacks('kc-existing')).toEqual([]);
  });
});

describe('failures', () => {
  test('a resource moto refuses deep in a nested stack: exit 1 with the reason', async () => {
    const run = await deploy(
      '--stack-name',
      'kc-refused',
      '--template',
      'new-vpc',
      '--bucket',
      bucket,
      '--param',
      'SettingType=Bogus',
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('CloudFormation refused to create stack kc-refused');
    expect(run.stderr).toContain("Value 'Bogus' at 'type' failed to satisfy constraint");
  });

  test('a parameter the template does not declare is refused before anything is created', async () => {
    const run = await deploy(
      '--stack-name',
      'kc-unknown',
      '--template',
      'new-vpc',
      '--bucket',
      bucket,
      '--param',
      'Nope=1',
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the template declares no parameter Nope');
    await expect(stackOf('kc-unknown')).rejects.toThrow(/does not exist/);
  });

  test('a template that was never published: exit 1, pointing at npm run publish', async () => {
    const run = await deploy(
      '--stack-name',
      'kc-unpublished',
      '--template',
      'new-vpc',
      '--bucket',
      bucket,
      '--prefix',
      'elsewhere/',
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `cannot read the template at https://${bucket}.s3.us-east-1.amazonaws.com/elsewhere/templates/kubecfn-entrypoint-new-vpc.template.yaml`,
    );
    expect(run.stderr).toContain('npm run publish');
  });

  test.each([
    [['--template', 'new-vpc', '--bucket', bucket], '--stack-name is required'],
    [['--stack-name', 's', '--bucket', bucket], '--template is required'],
    [
      ['--stack-name', 's', '--template', 'old-vpc', '--bucket', bucket],
      '--template must be new-vpc or existing-vpc (got "old-vpc")',
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
  ])('deploy %j: exit 2 and a message naming the flag', async (args, message) => {
    const run = await deploy(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  test('destroy without --stack-name: exit 2', async () => {
    const run = await destroy();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--stack-name is required');
  });
});
