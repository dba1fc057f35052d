/**
 * In-place edits of aws-auth's YAML lists: what is not ours keeps its bytes, whatever its style.
 */
import { parse } from 'yaml';
import { YamlList, YamlListError } from '../../../../functions/src/resources/aws-auth/yaml-list';
import { HAND_WRITTEN_MAP_ROLES, HAND_WRITTEN_MAP_USERS, NODE_ROLE } from './fixtures';

const ours = (n: number) => ({
  rolearn: `arn:aws:iam::222233334444:role/team-${n}`,
  username: `team-${n}`,
  groups: [`team-${n}`],
});

describe('parse', () => {
  test('reads every entry, and the source of scalar entries (leading zeros kept)', () => {
    const list = YamlList.parse('- "111122223333" # prod\n- 012345678901\n', 'data.mapAccounts');
    expect(list.entries).toEqual([
      { value: '111122223333', source: '111122223333' },
      { value: 12345678901, source: '012345678901' },
    ]);
  });

  test('reads an absent value, an empty one and a comment-only one as an empty list', () => {
    for (const text of [undefined, '', '\n', '# nothing yet\n']) expect(YamlList.parse(text, 'x').entries).toEqual([]);
  });

  test('refuses text that is not valid YAML, naming the value', () => {
    expect(() => YamlList.parse('- rolearn: a\n- groups: [\n', 'ConfigMap kube-system/aws-auth data.mapRoles')).toThrow(
      new YamlListError(
        'ConfigMap kube-system/aws-auth data.mapRoles is not valid YAML (Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1)',
      ),
    );
  });

  test('refuses a map or a single value', () => {
    expect(() => YamlList.parse('rolearn: a\n', 'data.mapRoles')).toThrow(
      'data.mapRoles is not a YAML list (found a map)',
    );
    expect(() => YamlList.parse('arn:aws:iam::1:role/x', 'data.mapRoles')).toThrow(
      'data.mapRoles is not a YAML list (found a single value)',
    );
  });
});

describe('block lists', () => {
  test('given the hand-written node-role entry, when entries are appended, then its bytes are a prefix of the result', () => {
    const text = YamlList.parse(HAND_WRITTEN_MAP_ROLES, 'x').edit({ append: [ours(1), ours(2)] })!;
    expect(text).toBe(
      HAND_WRITTEN_MAP_ROLES +
        '- rolearn: arn:aws:iam::222233334444:role/team-1\n  username: team-1\n  groups:\n    - team-1\n' +
        '- rolearn: arn:aws:iam::222233334444:role/team-2\n  username: team-2\n  groups:\n    - team-2\n',
    );
    expect(parse(text)[0]).toEqual({
      groups: ['system:bootstrappers', 'system:nodes'],
      rolearn: NODE_ROLE,
      username: 'system:node:{{EC2PrivateDNSName}}',
    });
  });

  test('when appended entries are removed again, then the text is byte-for-byte what it was', () => {
    const added = YamlList.parse(HAND_WRITTEN_MAP_ROLES, 'x').edit({ append: [ours(1), ours(2), ours(3)] })!;
    const back = YamlList.parse(added, 'x').edit({ remove: new Set([1, 2, 3]) });
    expect(back).toBe(HAND_WRITTEN_MAP_ROLES);
  });

  test('when an entry in the middle is rewritten, then it keeps its place and its neighbours their bytes', () => {
    const text = `- a\n# the middle one\n- b   # was b\n- c\n`;
    expect(YamlList.parse(text, 'x').edit({ replace: new Map([[1, 'B']]) })).toBe(`- a\n# the middle one\n- B\n- c\n`);
  });

  test('when an entry is removed, then its lines go and a comment above it stays', () => {
    const text = `${HAND_WRITTEN_MAP_USERS}# team one\n- userarn: x\n  username: x\n  groups: [x]\n- userarn: y\n  username: y\n  groups: [y]\n`;
    expect(YamlList.parse(text, 'x').edit({ remove: new Set([1]) })).toBe(
      `${HAND_WRITTEN_MAP_USERS}# team one\n- userarn: y\n  username: y\n  groups: [y]\n`,
    );
  });

  test('new entries take the indentation of the list they join', () => {
    expect(YamlList.parse('  - a\n  - b\n', 'x').edit({ append: [{ k: 'c', l: ['x'] }], remove: new Set([0]) })).toBe(
      '  - b\n  - k: c\n    l:\n      - x\n',
    );
  });

  test('text without a final newline gets one before an appended entry', () => {
    expect(YamlList.parse('- a\n- b', 'x').edit({ append: ['c'], replace: new Map([[1, 'B']]) })).toBe(
      '- a\n- B\n- c\n',
    );
  });

  test('an entry whose "- " stands on its own line is removed with that line', () => {
    expect(YamlList.parse('-\n  rolearn: a\n  username: b\n- c\n', 'x').edit({ remove: new Set([0]) })).toBe('- c\n');
  });

  test('strings that YAML 1.1 (which EKS reads aws-auth with) takes for booleans or numbers are quoted', () => {
    const text = YamlList.parse('', 'x').edit({
      append: [{ rolearn: 'r', username: 'on', groups: ['yes', 'n', '1:30', 'system:nodes'] }],
    });
    expect(text).toBe(
      '- rolearn: r\n  username: "on"\n  groups:\n    - "yes"\n    - "n"\n    - "1:30"\n    - system:nodes\n',
    );
  });

  test('account ids are written quoted, so they stay strings', () => {
    expect(YamlList.parse('', 'x').edit({ append: ['012345678901'] })).toBe('- "012345678901"\n');
  });

  test('when the last entry goes and nothing else is left, then the key can be dropped; comments keep it', () => {
    expect(YamlList.parse('- "111122223333"\n', 'x').edit({ remove: new Set([0]) })).toBeUndefined();
    expect(YamlList.parse('# accounts\n- "111122223333"\n', 'x').edit({ remove: new Set([0]) })).toBe('# accounts\n');
  });

  test('a comment-only value gets the entries after its comments', () => {
    expect(YamlList.parse('# accounts', 'x').edit({ append: ['111122223333'] })).toBe('# accounts\n- "111122223333"\n');
  });

  test('no edit returns the text unchanged', () => {
    expect(YamlList.parse(HAND_WRITTEN_MAP_ROLES, 'x').edit({})).toBe(HAND_WRITTEN_MAP_ROLES);
  });
});

describe('flow lists (JSON, as other tools write aws-auth)', () => {
  const json =
    '[{"rolearn":"arn:aws:iam::111122223333:role/a","username":"a","groups":["a"]}, {"rolearn":"arn:aws:iam::111122223333:role/b","username":"b","groups":["b"]}]';

  test('appended entries are written as JSON with the list’s own separator, and removing them restores the text', () => {
    const text = YamlList.parse(json, 'x').edit({ append: [ours(1)] })!;
    expect(text).toBe(`${json.slice(0, -1)}, ${JSON.stringify(ours(1))}]`);
    expect(YamlList.parse(text, 'x').edit({ remove: new Set([2]) })).toBe(json);
  });

  test('an empty [] gets JSON entries inside, and goes back to [] when they leave', () => {
    const text = YamlList.parse('[]\n', 'x').edit({ append: [ours(1)] })!;
    expect(text).toBe(`[${JSON.stringify(ours(1))}]\n`);
    expect(YamlList.parse(text, 'x').edit({ remove: new Set([0]) })).toBe('[]\n');
  });

  test('a rewritten entry keeps its place; the others their bytes', () => {
    const text = YamlList.parse(json, 'x').edit({ replace: new Map([[0, ours(9)]]) })!;
    expect(text).toBe(
      `[${JSON.stringify(ours(9))}, ${json.slice(json.indexOf('{"rolearn":"arn:aws:iam::111122223333:role/b"'))}`,
    );
  });
});
