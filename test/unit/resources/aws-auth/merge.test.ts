/**
 * The ownership rules of the merge, on aws-auth content as read (no cluster: the integration
 * suite runs the same merge against the real API server, concurrently).
 */
import { parse } from 'yaml';
import { ResourceError } from '../../../../functions/src/runtime';
import {
  mergeAwsAuth,
  OWNERS_ANNOTATION,
  type AwsAuthContent,
  type MergeResult,
} from '../../../../functions/src/resources/aws-auth/merge';
import type { Mappings } from '../../../../functions/src/resources/aws-auth/mappings';
import {
  ALICE,
  HAND_WRITTEN_MAP_ROLES,
  HAND_WRITTEN_MAP_USERS,
  handWrittenData,
  NODE_ROLE,
  role,
  user,
} from './fixtures';

const none: Mappings = { mapRoles: [], mapUsers: [], mapAccounts: [] };
const roles = (...n: number[]): Mappings => ({
  ...none,
  mapRoles: n.map((i) => ({ rolearn: role(i), username: `team-${i}`, groups: [`team-${i}`] })),
});

/** Applies one owner's wish to the content, as one successful write would. */
const apply = (
  content: AwsAuthContent,
  owner: string,
  wanted: Mappings | undefined,
): AwsAuthContent & { result: MergeResult } => {
  const result = mergeAwsAuth(content, owner, wanted);
  return { data: result.data, ownersAnnotation: result.ownersAnnotation, result };
};

const rolesIn = (content: AwsAuthContent) =>
  (parse(content.data?.mapRoles ?? '') ?? []).map((e: { rolearn: string }) => e.rolearn);
const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
};

describe('create', () => {
  test('given no aws-auth, when an owner maps roles, users and accounts, then they are written and claimed', () => {
    const wanted: Mappings = {
      mapRoles: [{ rolearn: role(1), username: 'team-1', groups: ['team-1'] }],
      mapUsers: [{ userarn: user(1), username: 'dev-1', groups: ['devs'] }],
      mapAccounts: ['012345678901'],
    };
    const { data, ownersAnnotation, result } = apply({}, 'stack-A-1', wanted);
    expect(result.changed).toBe(true);
    expect(data).toEqual({
      mapRoles: `- rolearn: ${role(1)}\n  username: team-1\n  groups:\n    - team-1\n`,
      mapUsers: `- userarn: ${user(1)}\n  username: dev-1\n  groups:\n    - devs\n`,
      mapAccounts: '- "012345678901"\n',
    });
    expect(JSON.parse(ownersAnnotation!)).toEqual({
      'stack-A-1': { mapRoles: [role(1)], mapUsers: [user(1)], mapAccounts: ['012345678901'] },
    });
  });

  test('given a hand-written aws-auth, when owners add entries, then the hand-written text is kept and other data keys untouched', () => {
    let content: AwsAuthContent = { data: { ...handWrittenData(), other: 'kept as is' } };
    content = apply(content, 'stack-A-1', roles(1));
    content = apply(content, 'stack-B-2', roles(2, 3));
    expect(content.data!.mapRoles!.startsWith(HAND_WRITTEN_MAP_ROLES)).toBe(true);
    expect(content.data!.mapUsers).toBe(HAND_WRITTEN_MAP_USERS);
    expect(content.data!.other).toBe('kept as is');
    expect(rolesIn(content)).toEqual([NODE_ROLE, role(1), role(2), role(3)]);
    expect(JSON.parse(content.ownersAnnotation!)).toEqual({
      'stack-A-1': { mapRoles: [role(1)] },
      'stack-B-2': { mapRoles: [role(2), role(3)] },
    });
  });

  test('given an identity another owner maps the same way (groups in any order), then it is shared, not duplicated', () => {
    const a = apply({}, 'stack-A-1', {
      ...none,
      mapRoles: [{ rolearn: role(1), username: 'ops', groups: ['x', 'y'] }],
    });
    const b = apply(a, 'stack-B-2', {
      ...none,
      mapRoles: [
        { rolearn: role(1).toUpperCase().replace('ARN:AWS:IAM', 'arn:aws:iam'), username: 'ops', groups: ['y', 'x'] },
      ],
    });
    expect(b.data).toEqual(a.data);
    expect(Object.keys(JSON.parse(b.ownersAnnotation!))).toEqual(['stack-A-1', 'stack-B-2']);
  });

  test('given an identity another owner maps differently, then FAILED names the property, the other owner and both mappings', () => {
    const a = apply({}, 'stack-A-1', roles(1, 2));
    const error = errorOf(() =>
      mergeAwsAuth(a, 'stack-B-2', {
        ...none,
        mapRoles: [
          { rolearn: role(5), username: 'x', groups: ['x'] },
          { rolearn: role(2), username: 'ops', groups: ['ops', 'dev'] },
        ],
      }),
    );
    expect(error).toEqual(
      new ResourceError(
        `MapRoles[1]: ${role(2)} is already mapped by stack-A-1 as username team-2 groups [team-2], not as username ops groups [ops, dev]`,
      ),
    );
  });

  test('given the hand-written node role, when an owner maps it differently, then FAILED says no Custom::AwsAuth manages that entry', () => {
    const error = errorOf(() =>
      mergeAwsAuth({ data: handWrittenData() }, 'stack-A-1', {
        ...none,
        mapRoles: [{ rolearn: NODE_ROLE, username: 'node', groups: ['system:masters'] }],
      }),
    );
    expect(error).toEqual(
      new ResourceError(
        `MapRoles[0]: ${NODE_ROLE} is already mapped by an entry no Custom::AwsAuth manages (written by hand, by EKS or by another tool) as username system:node:{{EC2PrivateDNSName}} groups [system:bootstrappers, system:nodes], not as username node groups [system:masters]`,
      ),
    );
  });

  test('given the hand-written node role, when an owner maps it the same way, then nothing changes and the entry is not claimed', () => {
    const wanted: Mappings = {
      ...none,
      mapRoles: [
        {
          rolearn: NODE_ROLE,
          username: 'system:node:{{EC2PrivateDNSName}}',
          groups: ['system:nodes', 'system:bootstrappers'],
        },
      ],
    };
    const { result } = apply({ data: handWrittenData() }, 'stack-A-1', wanted);
    expect(result).toEqual({
      data: handWrittenData(),
      ownersAnnotation: undefined,
      changed: false,
      appended: 0,
      rewritten: 0,
      removed: 0,
    });
  });

  test('entries are matched as EKS matches them: key names and ARNs without regard to case', () => {
    const data = {
      mapUsers: `- userARN: ${ALICE.toUpperCase().replace('ARN:AWS:IAM', 'arn:aws:iam')}\n  UserName: alice\n  Groups: [ops-readers]\n`,
    };
    const error = errorOf(() =>
      mergeAwsAuth({ data }, 'stack-A-1', {
        ...none,
        mapUsers: [{ userarn: ALICE, username: 'bob', groups: ['ops-readers'] }],
      }),
    );
    expect((error as Error).message).toMatch(
      /^MapUsers\[0\]: arn:aws:iam::111122223333:user\/ops\/alice is already mapped by an entry no Custom::AwsAuth manages .* as username alice groups \[ops-readers\], not as username bob/,
    );
  });

  test('an account id written by hand with a leading zero is recognised, not added again', () => {
    const { result } = apply({ data: { mapAccounts: '- 012345678901\n' } }, 'stack-A-1', {
      ...none,
      mapAccounts: ['012345678901'],
    });
    expect(result.changed).toBe(false);
  });

  test('mapping nothing into an absent aws-auth changes nothing', () => {
    expect(apply({}, 'stack-A-1', none).result.changed).toBe(false);
  });
});

describe('update', () => {
  test('given an owner alone on its entry, when its mapping changes, then the entry is rewritten in place', () => {
    let content = apply({ data: handWrittenData() }, 'stack-A-1', roles(1, 2));
    content = apply(content, 'stack-B-2', roles(3));
    const before = content.data!.mapRoles!;
    content = apply(content, 'stack-A-1', {
      ...none,
      mapRoles: [
        { rolearn: role(1), username: 'renamed', groups: ['g'] },
        { rolearn: role(2), username: 'team-2', groups: ['team-2'] },
      ],
    });
    expect(content.result.rewritten).toBe(1);
    expect(content.data!.mapRoles).toBe(
      before.replace(
        `- rolearn: ${role(1)}\n  username: team-1\n  groups:\n    - team-1\n`,
        `- rolearn: ${role(1)}\n  username: renamed\n  groups:\n    - g\n`,
      ),
    );
  });

  test('when an owner drops an identity, then only that entry goes', () => {
    let content = apply({ data: handWrittenData() }, 'stack-A-1', roles(1, 2));
    content = apply(content, 'stack-B-2', roles(3));
    content = apply(content, 'stack-A-1', roles(2));
    expect(rolesIn(content)).toEqual([NODE_ROLE, role(2), role(3)]);
    expect(JSON.parse(content.ownersAnnotation!)).toEqual({
      'stack-A-1': { mapRoles: [role(2)] },
      'stack-B-2': { mapRoles: [role(3)] },
    });
  });

  test('given a shared entry, when one owner wants it mapped differently, then FAILED names the other owner', () => {
    const a = apply({}, 'stack-A-1', roles(1));
    const b = apply(a, 'stack-B-2', roles(1));
    expect(() =>
      mergeAwsAuth(b, 'stack-A-1', { ...none, mapRoles: [{ rolearn: role(1), username: 'x', groups: ['x'] }] }),
    ).toThrow(
      `MapRoles[0]: ${role(1)} is already mapped by stack-B-2 as username team-1 groups [team-1], not as username x groups [x]`,
    );
  });

  test('given an owned entry removed by hand, when the owner updates, then it is written again', () => {
    const a = apply({}, 'stack-A-1', roles(1));
    const b = apply({ ...a, data: {} }, 'stack-A-1', roles(1));
    expect(b.data).toEqual(a.data);
    expect(b.result.appended).toBe(1);
  });

  test('an unchanged owner leaves the annotation byte-for-byte (no needless write)', () => {
    const a = apply(apply({}, 'stack-A-1', roles(1)), 'stack-B-2', roles(2));
    expect(apply(a, 'stack-A-1', roles(1)).result.changed).toBe(false);
  });
});

describe('delete', () => {
  test('when every owner lets go, then aws-auth is byte-for-byte the hand-written one and the annotation is gone', () => {
    let content: AwsAuthContent = { data: handWrittenData() };
    content = apply(content, 'stack-A-1', {
      ...roles(1),
      mapUsers: [{ userarn: user(1), username: 'u', groups: ['g'] }],
      mapAccounts: ['111122223333'],
    });
    content = apply(content, 'stack-B-2', roles(2, 1));
    content = apply(content, 'stack-A-1', undefined);
    expect(rolesIn(content)).toEqual([NODE_ROLE, role(1), role(2)]); // role 1 is still B's
    content = apply(content, 'stack-B-2', undefined);
    expect(content.data).toEqual(handWrittenData());
    expect(content.ownersAnnotation).toBeUndefined();
  });

  test('a hand-written entry an owner also mapped the same way survives that owner’s delete', () => {
    const wanted: Mappings = { ...none, mapUsers: [{ userarn: ALICE, username: 'alice', groups: ['ops-readers'] }] };
    const content = apply(apply({ data: handWrittenData() }, 'stack-A-1', wanted), 'stack-A-1', undefined);
    expect(content.data).toEqual(handWrittenData());
  });

  test('an owner that owns nothing deletes nothing', () => {
    expect(apply({ data: handWrittenData() }, 'stack-A-1', undefined).result.changed).toBe(false);
  });
});

describe('unreadable aws-auth', () => {
  test('an ownership annotation that is not ours is refused, not overwritten', () => {
    expect(() => mergeAwsAuth({ ownersAnnotation: '{"x": ["not", "a", "map"]}' }, 'stack-A-1', roles(1))).toThrow(
      `ConfigMap kube-system/aws-auth: annotation ${OWNERS_ANNOTATION} is not the JSON map of owner id to {mapRoles, mapUsers, mapAccounts} lists that Custom::AwsAuth writes;`,
    );
  });

  test('data that is not a YAML list is refused, naming the key', () => {
    expect(() => mergeAwsAuth({ data: { mapRoles: 'rolearn: x\n' } }, 'stack-A-1', roles(1))).toThrow(
      new ResourceError(
        'ConfigMap kube-system/aws-auth data.mapRoles is not a YAML list (found a map); Custom::AwsAuth does not overwrite what it cannot read: fix it by hand',
      ),
    );
  });
});
