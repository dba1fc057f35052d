/**
 * The three kinds of aws-auth mapping, as EKS's authenticator reads them, and what makes two
 * mappings "the same". Shared by the property schema and the merge.
 */

/** A `mapRoles` entry: an IAM role ARN (without a path) mapped to a Kubernetes user and groups. */
export interface RoleMapping {
  rolearn: string;
  username: string;
  groups: string[];
}

/** A `mapUsers` entry: an IAM user ARN mapped to a Kubernetes user and groups. */
export interface UserMapping {
  userarn: string;
  username: string;
  groups: string[];
}

/** Everything one `Custom::AwsAuth` resource maps. */
export interface Mappings {
  mapRoles: RoleMapping[];
  mapUsers: UserMapping[];
  /** 12-digit account ids: every IAM identity of the account maps to its own ARN as username. */
  mapAccounts: string[];
}

export type MappingKind = keyof Mappings;
export const MAPPING_KINDS: readonly MappingKind[] = ['mapRoles', 'mapUsers', 'mapAccounts'];

/** The resource property for each kind, for messages (`MapRoles[2]: ...`). */
export const PROPERTY_OF: Readonly<Record<MappingKind, string>> = {
  mapRoles: 'MapRoles',
  mapUsers: 'MapUsers',
  mapAccounts: 'MapAccounts',
};

/** The key that identifies an entry of each kind (aws-auth's own, lowercase). */
export const ARN_KEY = { mapRoles: 'rolearn', mapUsers: 'userarn' } as const;

/**
 * The identity an entry maps, in the form entries are matched by: ARNs compare without regard to
 * case (EKS's authenticator lower-cases both sides), account ids as written.
 */
export const identityKey = (kind: MappingKind, id: string) =>
  kind === 'mapAccounts' ? id.trim() : id.trim().toLowerCase();

/** Username and groups of a mapping read from aws-auth; either may be missing in a hand-written entry. */
export interface MappingTarget {
  username?: string;
  groups?: string[];
}

/**
 * Reads an entry as EKS does: it decodes aws-auth through JSON, whose field names match without
 * regard to case, so `roleARN:` and `rolearn:` are the same key. Undefined when the entry carries
 * no ARN of this kind (an SSO mapping, a malformed entry): such entries are never touched.
 */
export function readEntry(
  kind: Exclude<MappingKind, 'mapAccounts'>,
  value: unknown,
): ({ arn: string } & MappingTarget) | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const field = (name: string) => {
    let found: unknown;
    for (const [k, v] of Object.entries(value)) if (k.toLowerCase() === name) found = v;
    return found;
  };
  const arn = field(ARN_KEY[kind]);
  if (typeof arn !== 'string' || arn.trim() === '') return undefined;
  const username = field('username');
  const groups = field('groups');
  return {
    arn,
    ...(typeof username === 'string' ? { username } : {}),
    ...(Array.isArray(groups) ? { groups: groups.map(String) } : {}),
  };
}

/** Same username, same set of groups (their order does not matter to RBAC). */
export function sameTarget(a: MappingTarget, b: MappingTarget): boolean {
  const set = (g: string[] | undefined) => JSON.stringify([...new Set(g ?? [])].sort());
  return (a.username ?? '') === (b.username ?? '') && set(a.groups) === set(b.groups);
}

/** `username admin groups [system:masters]`, for messages. */
export function describeTarget(t: MappingTarget): string {
  const user = t.username === undefined || t.username === '' ? 'no username' : `username ${t.username}`;
  const groups = t.groups === undefined || t.groups.length === 0 ? 'no groups' : `groups [${t.groups.join(', ')}]`;
  return `${user} ${groups}`;
}
