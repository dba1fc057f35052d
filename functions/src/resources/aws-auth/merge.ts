/**
 * The merge: given aws-auth as read and what one owner (a `Custom::AwsAuth` resource, named by its
 * physical id) wants mapped, the new `data` and ownership record. Pure, so it can be retried on a
 * fresh read after every write conflict, and tested without a cluster.
 *
 * Ownership is recorded in one annotation on the ConfigMap, {@link OWNERS_ANNOTATION}: a JSON map
 * from owner id to the identities (ARNs, account ids) that owner manages. EKS reads only `data`,
 * so the record changes nothing it sees. The rules:
 *
 * - an identity nobody maps yet: the owner's entry is appended, and the owner claims it;
 * - an identity another owner claims with the same username and groups: the owner claims it too
 *   (the entry is shared; it stays until its last claimant lets go);
 * - an identity mapped differently, by another owner or by an entry no owner claims (hand-written,
 *   EKS's node-role entry, another tool): refused, naming the other owner and its mapping;
 * - an identity already mapped the same way by an entry no owner claims: left as it is and not
 *   claimed — the entry was there first, so removing this resource never removes it;
 * - an identity the owner claims alone and now maps differently: its entry is rewritten in place;
 * - an identity the owner no longer wants: its claim is dropped, and the entry removed once no
 *   owner claims it.
 *
 * Entries nobody claims are never changed, and every entry that is not removed or rewritten keeps
 * its bytes (see {@link YamlList}).
 */
import { ResourceError } from '../../runtime';
import {
  ARN_KEY,
  describeTarget,
  identityKey,
  MAPPING_KINDS,
  PROPERTY_OF,
  readEntry,
  sameTarget,
  type MappingKind,
  type Mappings,
  type MappingTarget,
} from './mappings';
import { YamlList, YamlListError } from './yaml-list';

/** Annotation on `kube-system/aws-auth` recording which owner manages which entries. */
export const OWNERS_ANNOTATION = 'kubecfn.io/aws-auth-owners';

/** Owner id → the identities it manages, per kind (ARNs as the owner wrote them). */
export type Owners = Record<string, Partial<Record<MappingKind, string[]>>>;

/** What the merge reads: the ConfigMap's `data` and its ownership annotation (both may be absent). */
export interface AwsAuthContent {
  data?: Record<string, string>;
  ownersAnnotation?: string;
}

export interface MergeResult {
  /** The new `data` (keys other than the three mapping keys copied as they were). */
  data: Record<string, string>;
  /** The new annotation value; undefined when no owner remains. */
  ownersAnnotation: string | undefined;
  /** False when nothing would change (no write needed). */
  changed: boolean;
  /** Counts for the logs: entries appended, rewritten and removed. */
  appended: number;
  rewritten: number;
  removed: number;
}

const CONFIG_MAP = 'ConfigMap kube-system/aws-auth';

/** Reads the ownership annotation. @throws ResourceError when it is not what this code writes. */
export function parseOwners(annotation: string | undefined): Owners {
  if (annotation === undefined || annotation.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(annotation);
  } catch {
    json = undefined;
  }
  const valid =
    json !== null &&
    typeof json === 'object' &&
    !Array.isArray(json) &&
    Object.values(json).every(
      (claims) =>
        claims !== null &&
        typeof claims === 'object' &&
        !Array.isArray(claims) &&
        Object.entries(claims).every(
          ([k, v]) =>
            MAPPING_KINDS.includes(k as MappingKind) && Array.isArray(v) && v.every((x) => typeof x === 'string'),
        ),
    );
  if (!valid) {
    throw new ResourceError(
      `${CONFIG_MAP}: annotation ${OWNERS_ANNOTATION} is not the JSON map of owner id to {mapRoles, mapUsers, mapAccounts} lists that Custom::AwsAuth writes; ` +
        'it records which entries each stack manages, so it is not overwritten: restore it, or remove it (the entries then count as hand-written)',
    );
  }
  return json as Owners;
}

/**
 * Merges `wanted` (undefined: the owner lets go of everything, as on Delete) into `current`.
 *
 * @throws ResourceError naming the property and the other owner when an identity is mapped
 * differently elsewhere, or naming the data key when aws-auth cannot be read.
 * @example
 * const result = mergeAwsAuth({ data: cm.data, ownersAnnotation: cm.metadata?.annotations?.[OWNERS_ANNOTATION] }, physicalId, mappings);
 * if (result.changed) await replace({ ...cm, data: result.data });
 */
export function mergeAwsAuth(current: AwsAuthContent, ownerId: string, wanted: Mappings | undefined): MergeResult {
  const owners = parseOwners(current.ownersAnnotation);
  const data: Record<string, string> = { ...(current.data ?? {}) };
  const myClaims: Partial<Record<MappingKind, string[]>> = {};
  const problems: string[] = [];
  let changed = false;
  let appended = 0;
  let rewritten = 0;
  let removed = 0;

  for (const kind of MAPPING_KINDS) {
    let list: YamlList;
    try {
      list = YamlList.parse(current.data?.[kind], `${CONFIG_MAP} data.${kind}`);
    } catch (error) {
      if (!(error instanceof YamlListError)) throw error;
      throw new ResourceError(
        `${error.message}; Custom::AwsAuth does not overwrite what it cannot read: fix it by hand`,
      );
    }

    // Who claims what, and where each identity's entries are (the last one is the one EKS uses).
    const claimedBy = new Map<string, string[]>();
    for (const [owner, claims] of Object.entries(owners)) {
      if (owner === ownerId) continue;
      for (const id of claims[kind] ?? [])
        claimedBy.set(identityKey(kind, id), [...(claimedBy.get(identityKey(kind, id)) ?? []), owner]);
    }
    const mine = new Set((owners[ownerId]?.[kind] ?? []).map((id) => identityKey(kind, id)));
    const entriesOf = new Map<string, number[]>();
    const targetAt = new Map<number, MappingTarget>();
    list.entries.forEach((entry, i) => {
      let key: string | undefined;
      if (kind === 'mapAccounts') {
        if (entry.source !== undefined) key = identityKey(kind, entry.source);
      } else {
        const read = readEntry(kind, entry.value);
        if (read) {
          key = identityKey(kind, read.arn);
          targetAt.set(i, read);
        }
      }
      if (key !== undefined) entriesOf.set(key, [...(entriesOf.get(key) ?? []), i]);
    });

    const remove = new Set<number>();
    const replace = new Map<number, unknown>();
    const append: unknown[] = [];
    const claims: string[] = [];
    const wantedKeys = new Set<string>();

    const items: Array<{ id: string; target: MappingTarget; entry: unknown }> =
      kind === 'mapAccounts'
        ? (wanted?.mapAccounts ?? []).map((id) => ({ id, target: {}, entry: id }))
        : (wanted?.[kind] ?? []).map((m) => {
            const id = 'rolearn' in m ? m.rolearn : m.userarn;
            return {
              id,
              target: { username: m.username, groups: m.groups },
              entry: { [ARN_KEY[kind]]: id, username: m.username, groups: m.groups },
            };
          });

    items.forEach(({ id, target, entry }, index) => {
      const key = identityKey(kind, id);
      wantedKeys.add(key);
      const at = entriesOf.get(key) ?? [];
      const others = claimedBy.get(key) ?? [];
      if (at.length === 0) {
        append.push(entry);
        claims.push(id);
        return;
      }
      const effective = at[at.length - 1]!;
      const existing = targetAt.get(effective) ?? {};
      if (kind === 'mapAccounts' || sameTarget(existing, target)) {
        // Shared with other owners, or ours already: claim. Unclaimed (hand-written): leave it be.
        if (others.length > 0 || mine.has(key)) claims.push(id);
        return;
      }
      if (others.length > 0 || !mine.has(key)) {
        const by =
          others.length > 0
            ? others.join(', ')
            : 'an entry no Custom::AwsAuth manages (written by hand, by EKS or by another tool)';
        problems.push(
          `${PROPERTY_OF[kind]}[${index}]: ${id} is already mapped by ${by} as ${describeTarget(existing)}, not as ${describeTarget(target)}`,
        );
        return;
      }
      // Ours alone: rewrite the entry EKS uses in place, drop our duplicates.
      replace.set(effective, entry);
      for (const i of at.slice(0, -1)) remove.add(i);
      claims.push(id);
    });

    for (const key of mine) {
      if (wantedKeys.has(key) || claimedBy.has(key)) continue;
      for (const i of entriesOf.get(key) ?? []) remove.add(i);
    }

    if (claims.length > 0) myClaims[kind] = claims;
    if (remove.size > 0 || replace.size > 0 || append.length > 0) {
      const text = list.edit({ remove, replace, append });
      if (text === undefined) delete data[kind];
      else data[kind] = text;
      changed = true;
      appended += append.length;
      rewritten += replace.size;
      removed += remove.size;
    }
  }

  if (problems.length > 0) throw new ResourceError(problems.join('; '));

  // The owner keeps its place in the record, so an unchanged claim leaves the annotation unchanged.
  const nextOwners: Owners = {};
  const keep = Object.keys(myClaims).length > 0;
  for (const [owner, claims] of Object.entries(owners)) {
    if (owner !== ownerId) nextOwners[owner] = claims;
    else if (keep) nextOwners[owner] = myClaims;
  }
  if (keep) nextOwners[ownerId] = myClaims;
  const ownersAnnotation = Object.keys(nextOwners).length > 0 ? JSON.stringify(nextOwners) : undefined;
  if (ownersAnnotation !== (current.ownersAnnotation?.trim() ? current.ownersAnnotation : undefined)) changed = true;
  return { data, ownersAnnotation, changed, appended, rewritten, removed };
}
