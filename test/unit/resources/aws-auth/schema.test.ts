/**
 * The properties as CloudFormation sends them, through the runtime's parser: each bad input is
 * refused with a message naming the property and what was expected.
 */
import { parseProperties, PropertyError } from '../../../../functions/src/runtime';
import { awsAuthSchema } from '../../../../functions/src/resources/aws-auth/schema';

const parse = (props: Record<string, unknown>) =>
  parseProperties(awsAuthSchema, {
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    ClusterName: 'ci',
    ...props,
  });
const problems = (props: Record<string, unknown>) => {
  try {
    parse(props);
  } catch (error) {
    if (error instanceof PropertyError) return error.problems;
    throw error;
  }
  throw new Error('expected the properties to be refused');
};

const ROLE = 'arn:aws:iam::111122223333:role/admin';
const USER = 'arn:aws:iam::111122223333:user/ops/alice';

describe('accepted forms', () => {
  test('lists of maps, defaults to empty lists', () => {
    expect(parse({ MapRoles: [{ rolearn: ROLE, username: 'admin', groups: ['system:masters'] }] })).toEqual({
      ClusterName: 'ci',
      MapRoles: [{ rolearn: ROLE, username: 'admin', groups: ['system:masters'] }],
      MapUsers: [],
      MapAccounts: [],
    });
  });

  test('a YAML string (as copied from an aws-auth) and a JSON string', () => {
    const yaml = `- rolearn: ${ROLE}\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n`;
    const json = JSON.stringify([{ userarn: USER, username: 'alice', groups: 'ops-readers,devs' }]);
    expect(parse({ MapRoles: yaml, MapUsers: json, MapAccounts: '111122223333, 012345678901' })).toEqual({
      ClusterName: 'ci',
      MapRoles: [
        {
          rolearn: ROLE,
          username: 'system:node:{{EC2PrivateDNSName}}',
          groups: ['system:bootstrappers', 'system:nodes'],
        },
      ],
      MapUsers: [{ userarn: USER, username: 'alice', groups: ['ops-readers', 'devs'] }],
      MapAccounts: ['111122223333', '012345678901'],
    });
  });

  test('other partitions and every username placeholder EKS fills in', () => {
    const username = '{{AccountID}}:{{SessionName}}:{{SessionNameRaw}}:{{AccessKeyID}}';
    expect(
      parse({
        MapRoles: [
          { rolearn: 'arn:aws-cn:iam::111122223333:role/x', username, groups: ['g'] },
          { rolearn: 'arn:aws-us-gov:iam::111122223333:role/y', username: 'y', groups: ['g'] },
        ],
      }).MapRoles,
    ).toHaveLength(2);
  });

  test('an empty string maps nothing', () => {
    expect(parse({ MapRoles: '', MapUsers: '', MapAccounts: '' })).toEqual({
      ClusterName: 'ci',
      MapRoles: [],
      MapUsers: [],
      MapAccounts: [],
    });
  });
});

describe('refused', () => {
  test('ClusterName missing', () => {
    expect(problems({ ClusterName: undefined })).toEqual(['ClusterName: required property is missing']);
  });

  test('malformed ARNs, wrong kinds and role paths', () => {
    expect(
      problems({
        MapRoles: [
          { rolearn: 'arn:aws:iam::1111:role/x', username: 'a', groups: ['g'] },
          { rolearn: USER, username: 'a', groups: ['g'] },
          { rolearn: 'arn:aws:iam::111122223333:role/team/admin', username: 'a', groups: ['g'] },
          { rolearn: 'arn:aws:sts::111122223333:assumed-role/admin/session', username: 'a', groups: ['g'] },
        ],
        MapUsers: [{ userarn: ROLE, username: 'a', groups: ['g'] }],
      }),
    ).toEqual([
      'MapRoles[0].rolearn: expected an IAM role ARN like arn:aws:iam::111122223333:role/NAME, got "arn:aws:iam::1111:role/x"',
      `MapRoles[1].rolearn: expected an IAM role ARN, got a user ARN ("${USER}"); map IAM users under MapUsers`,
      'MapRoles[2].rolearn: expected a role ARN without a path: aws-auth matches role ARNs with the path removed, so use arn:aws:iam::111122223333:role/admin',
      'MapRoles[3].rolearn: expected an IAM role ARN, got an STS assumed-role (session) ARN; map the role itself: arn:aws:iam::111122223333:role/admin',
      `MapUsers[0].userarn: expected an IAM user ARN, got a role ARN ("${ROLE}"); map IAM roles under MapRoles`,
    ]);
  });

  test('groups missing or empty, username missing', () => {
    expect(
      problems({
        MapRoles: [
          { rolearn: ROLE, username: 'a' },
          { rolearn: ROLE.replace('admin', 'b'), groups: [] },
        ],
      }),
    ).toEqual([
      'MapRoles[0].groups: required property is missing',
      'MapRoles[1].username: required property is missing',
      'MapRoles[1].groups: expected at least one Kubernetes group, e.g. [system:bootstrappers, system:nodes]',
    ]);
  });

  test('capitalised keys are not aws-auth keys', () => {
    expect(problems({ MapRoles: [{ RoleArn: ROLE, Username: 'a', Groups: ['g'] }] })).toEqual([
      "MapRoles[0].RoleArn: unknown key; expected rolearn, username, groups (aws-auth's own lowercase keys)",
      "MapRoles[0].Username: unknown key; expected rolearn, username, groups (aws-auth's own lowercase keys)",
      "MapRoles[0].Groups: unknown key; expected rolearn, username, groups (aws-auth's own lowercase keys)",
    ]);
  });

  test('unknown and misplaced username placeholders', () => {
    expect(
      problems({
        MapRoles: [{ rolearn: ROLE, username: 'system:node:{{PrivateDNSName}}', groups: ['g'] }],
        MapUsers: [{ userarn: USER, username: '{{EC2PrivateDNSName}}', groups: ['g'] }],
      }),
    ).toEqual([
      'MapRoles[0].username: unknown placeholder {{PrivateDNSName}}; EKS fills in {{AccountID}}, {{SessionName}}, {{SessionNameRaw}}, {{EC2PrivateDNSName}}, {{AccessKeyID}}',
      'MapUsers[0].username: {{EC2PrivateDNSName}} is filled in only for roles assumed by EC2 instances (MapRoles), never for IAM users',
    ]);
  });

  test('the same identity twice in one property (ARNs compare without regard to case)', () => {
    expect(
      problems({
        MapRoles: [
          { rolearn: ROLE, username: 'a', groups: ['g'] },
          { rolearn: ROLE.replace('admin', 'Admin'), username: 'b', groups: ['g'] },
        ],
      }),
    ).toEqual([
      'MapRoles[1]: arn:aws:iam::111122223333:role/Admin is listed twice (also at [0]); map each identity once',
    ]);
  });

  test('account ids that are not 12 digits, and numbers that lost a leading zero', () => {
    expect(problems({ MapAccounts: ['11112222333', 12345678901] })).toEqual([
      'MapAccounts[0]: expected a 12-digit AWS account id, got "11112222333"',
      'MapAccounts[1]: expected a 12-digit AWS account id, got the number 12345678901; quote account ids ("012345678901"): as numbers they lose leading zeros',
    ]);
  });

  test('a string that is not a list, and a list of strings for MapRoles', () => {
    expect(problems({ MapRoles: `rolearn: ${ROLE}`, MapUsers: [USER] })).toEqual([
      'MapRoles: expected a list of {rolearn, username, groups} maps, got a map',
      'MapUsers[0]: expected a map with userarn, username, groups, got text',
    ]);
  });
});
