// npm run test:taskcat's reading of .taskcat.yml (which Region each test runs in, which SSM parameters
// it needs made first) and of taskcat's report (scripts/local/taskcat.ts). The report fixture is
// taskcat 0.9.58's own format, cut down from a run against the local cloud.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readTaskcatReport, taskcatTests } from '../../../scripts/local';

const repoRoot = resolve(__dirname, '..', '..', '..');

describe('taskcatTests', () => {
  const tests = taskcatTests(readFileSync(join(repoRoot, '.taskcat.yml'), 'utf8'));
  const byName = Object.fromEntries(tests.map((t) => [t.name, t]));

  test('gives each test of .taskcat.yml its first Region and its template', () => {
    expect(byName['new-vpc-defaults']).toEqual({
      name: 'new-vpc-defaults',
      region: 'us-east-1',
      template: 'templates/kubecfn-entrypoint-new-vpc.template.yaml',
      ssmParameters: [],
    });
    expect(byName['existing-vpc']).toMatchObject({
      region: 'us-west-2',
      template: 'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
    });
  });

  test('names the SSM parameters a test reads through $[taskcat_ssm_...]', () => {
    expect(byName['existing-vpc']!.ssmParameters).toEqual(
      ['VPCID', 'VPCCIDR', 'PrivateSubnet1ID', 'PrivateSubnet2ID'].map((k) => `/kubecfn/taskcat/existing-vpc/${k}`),
    );
    expect(byName['gitlab-runner-graviton']!.ssmParameters).toEqual(['/kubecfn/taskcat/gitlab-runner-token']);
  });

  test('refuses a test without a Region', () => {
    expect(() => taskcatTests('project: {template: t.yaml}\ntests: {a: {}}\n')).toThrow(
      'test a has no Region (tests.a.regions)',
    );
  });
});

const block = (stack: string, events: string[]) =>
  [
    '-----------------------------------------------------------------------------',
    'Region: us-east-1',
    `StackName: ${stack}`,
    '*****************************************************************************',
    'Events:  ',
    'TimeStamp                         ResourceStatus      ResourceType                LogicalResourceId  ResourceStatusReason',
    ...events,
    '*****************************************************************************',
    '-----------------------------------------------------------------------------',
    'Tested on: Tuesday, 01. December 2026 12:04PM',
    '-----------------------------------------------------------------------------',
    '',
    '',
  ].join('\n');

const index = (status: string) => `<table class=table-fill><tbody><tr>
<td class=test-info><h3>
  new-vpc-defaults
</h3></td>
<td class=text-left>
  us-east-1
</td>
<td class=text-left>
  tCaT-new-vpc-defaults-0bb3c7
</td>
<td class=test-${status === 'CREATE_COMPLETE' ? 'green' : 'red'}>
  ${status}
</td></tr></tbody></table>`;

describe('readTaskcatReport', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kubecfn-taskcat-report-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const root = 'tCaT-new-vpc-defaults-0bb3c7';
  const child = `${root}-VPCStack-V9V6WABPQ8L9B`;
  const write = (status: string, logs: string) => {
    writeFileSync(join(dir, 'index.html'), index(status));
    writeFileSync(join(dir, `${root}-us-east-1-cfnlogs.txt`), logs);
  };

  test('reads the stack, its status, the root CREATE_COMPLETE and each stack once', () => {
    write(
      'CREATE_COMPLETE',
      block(root, [
        `2026-12-01 12:04:30+00:00  CREATE_COMPLETE     AWS::CloudFormation::Stack  ${root}`,
        `2026-12-01 12:01:35+00:00  CREATE_IN_PROGRESS  AWS::CloudFormation::Stack  ${root}  User Initiated`,
      ]) +
        block(child, [`2026-12-01 12:01:35+00:00  CREATE_COMPLETE     AWS::CloudFormation::Stack  ${child}`]) +
        block(child, [`2026-12-01 12:01:35+00:00  CREATE_COMPLETE     AWS::CloudFormation::Stack  ${child}`]),
    );
    expect(readTaskcatReport(dir, 'new-vpc-defaults')).toEqual({
      stackName: root,
      reportStatus: 'CREATE_COMPLETE',
      created: true,
      stacks: 2,
      failedEvents: [],
    });
  });

  test("does not take a nested stack's CREATE_COMPLETE for the root's, and lists failed events", () => {
    write(
      'CREATE_FAILED',
      block(root, [
        `2026-12-01 12:04:30+00:00  CREATE_FAILED       AWS::CloudFormation::Stack  ${root}  The following resource(s) failed to create: [VPCStack].`,
        `2026-12-01 12:04:30+00:00  CREATE_COMPLETE     AWS::CloudFormation::Stack  Other`,
      ]) + block(child, [`2026-12-01 12:01:35+00:00  CREATE_COMPLETE     AWS::CloudFormation::Stack  ${child}`]),
    );
    const verdict = readTaskcatReport(dir, 'new-vpc-defaults');
    expect(verdict).toMatchObject({ reportStatus: 'CREATE_FAILED', created: false });
    expect(verdict.failedEvents).toEqual([
      `2026-12-01 12:04:30+00:00 CREATE_FAILED AWS::CloudFormation::Stack ${root} The following resource(s) failed to create: [VPCStack].`,
    ]);
  });

  test('finds nothing without a report', () => {
    expect(readTaskcatReport(dir, 'new-vpc-defaults')).toEqual({ created: false, stacks: 0, failedEvents: [] });
  });
});
