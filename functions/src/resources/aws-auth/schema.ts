/**
 * Properties of `Custom::AwsAuth`, and the checks that keep a bad mapping out of aws-auth: a
 * malformed ARN there does not fail anything — it silently never matches, and whoever relied on
 * it is locked out. So every ARN, username template and account id is checked here, and every
 * message names the property and what was expected.
 */
import * as z from 'zod';
import { parseYaml11, prop, shapeOf, yamlProblem } from '../../runtime';
import { identityKey, type MappingKind } from './mappings';

const PARTITIONS = 'aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc';
/** IAM role and user names: 1–64 of these characters. */
const NAME = /^[\w+=,.@-]{1,64}$/;
const IAM_ARN = new RegExp(`^arn:(${PARTITIONS}):(iam|sts)::(\\d{12}):([a-z-]+)/(.+)$`);

/** Placeholders EKS's authenticator fills in a username; anything else in `{{ }}` is a mistake. */
export const USERNAME_TEMPLATES = [
  'AccountID',
  'SessionName',
  'SessionNameRaw',
  'EC2PrivateDNSName',
  'AccessKeyID',
] as const;

const preview = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * Why `value` is not a role ARN aws-auth can match, or undefined when it is one.
 *
 * @example
 * roleArnProblem('arn:aws:iam::111122223333:role/team/admin');
 * // 'expected a role ARN without a path: ... so use arn:aws:iam::111122223333:role/admin'
 */
export function roleArnProblem(value: string): string | undefined {
  const m = IAM_ARN.exec(value);
  if (!m) return `expected an IAM role ARN like arn:aws:iam::111122223333:role/NAME, got ${preview(value)}`;
  const [, partition, service, account, type, rest] = m as unknown as [string, string, string, string, string, string];
  if (service === 'sts' && type === 'assumed-role') {
    const role = rest.split('/')[0];
    return `expected an IAM role ARN, got an STS assumed-role (session) ARN; map the role itself: arn:${partition}:iam::${account}:role/${role}`;
  }
  if (service !== 'iam' || type !== 'role') {
    return type === 'user'
      ? `expected an IAM role ARN, got a user ARN (${preview(value)}); map IAM users under MapUsers`
      : `expected an IAM role ARN like arn:aws:iam::111122223333:role/NAME, got ${preview(value)}`;
  }
  const parts = rest.split('/');
  const name = parts[parts.length - 1]!;
  if (parts.length > 1) {
    // The authenticator compares against the caller's ARN with its path removed, so a path never matches.
    return `expected a role ARN without a path: aws-auth matches role ARNs with the path removed, so use arn:${partition}:iam::${account}:role/${name}`;
  }
  if (!NAME.test(name)) return `expected a role name of 1-64 letters, digits and +=,.@_-, got ${preview(name)}`;
  return undefined;
}

/** Why `value` is not a user ARN aws-auth can match, or undefined when it is one. */
export function userArnProblem(value: string): string | undefined {
  const m = IAM_ARN.exec(value);
  if (!m) return `expected an IAM user ARN like arn:aws:iam::111122223333:user/NAME, got ${preview(value)}`;
  const [, , service, , type, rest] = m as unknown as [string, string, string, string, string, string];
  if (service !== 'iam' || type !== 'user') {
    return type === 'role' || type === 'assumed-role'
      ? `expected an IAM user ARN, got a role ARN (${preview(value)}); map IAM roles under MapRoles`
      : `expected an IAM user ARN like arn:aws:iam::111122223333:user/NAME, got ${preview(value)}`;
  }
  const name = rest.split('/').pop()!;
  if (!NAME.test(name) || rest.split('/').some((p, i, all) => p === '' && i < all.length - 1)) {
    return `expected a user name of 1-64 letters, digits and +=,.@_- (after an optional /path/), got ${preview(rest)}`;
  }
  return undefined;
}

/**
 * Why `username` is not usable, or undefined.
 *
 * @example
 * usernameProblem('system:node:{{EC2PrivateDNSName}}', 'mapRoles'); // undefined
 */
export function usernameProblem(username: string, kind: Exclude<MappingKind, 'mapAccounts'>): string | undefined {
  for (const m of username.matchAll(/\{\{([^}]*)\}\}/g)) {
    const name = m[1]!;
    if (!(USERNAME_TEMPLATES as readonly string[]).includes(name)) {
      return `unknown placeholder {{${name}}}; EKS fills in ${USERNAME_TEMPLATES.map((t) => `{{${t}}}`).join(', ')}`;
    }
    if (name === 'EC2PrivateDNSName' && kind === 'mapUsers') {
      return '{{EC2PrivateDNSName}} is filled in only for roles assumed by EC2 instances (MapRoles), never for IAM users';
    }
  }
  return undefined;
}

/** A list property given natively or as a YAML/JSON string (never split at commas: entries are maps). */
function listOfMaps(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return [];
  try {
    const parsed: unknown = parseYaml11(value);
    return parsed ?? [];
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `expected a YAML or JSON list: ${yamlProblem(error, value)}` });
    return z.NEVER;
  }
}

/** Rejects keys aws-auth does not have, saying which keys it does have. */
function onlyKeys(known: readonly string[]) {
  return (value: unknown, ctx: z.RefinementCtx): unknown => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `unknown key; expected ${known.join(', ')} (aws-auth's own lowercase keys)`,
          });
        }
      }
    }
    return value;
  };
}

const groupsSchema = prop
  .list(prop.string({ minLength: 1 }))
  .refine(
    (groups) => groups.length > 0,
    'expected at least one Kubernetes group, e.g. [system:bootstrappers, system:nodes]',
  );

const check = (problem: (value: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
  const p = problem(value);
  if (p) ctx.addIssue({ code: 'custom', message: p });
};

const roleEntry = z.preprocess(
  onlyKeys(['rolearn', 'username', 'groups']),
  z.object(
    {
      rolearn: prop.string({ minLength: 1 }).superRefine(check(roleArnProblem)),
      username: prop.string({ minLength: 1 }).superRefine(check((u) => usernameProblem(u, 'mapRoles'))),
      groups: groupsSchema,
    },
    { error: (iss) => `expected a map with rolearn, username, groups, got ${shapeOf(iss.input)}` },
  ),
);

const userEntry = z.preprocess(
  onlyKeys(['userarn', 'username', 'groups']),
  z.object(
    {
      userarn: prop.string({ minLength: 1 }).superRefine(check(userArnProblem)),
      username: prop.string({ minLength: 1 }).superRefine(check((u) => usernameProblem(u, 'mapUsers'))),
      groups: groupsSchema,
    },
    { error: (iss) => `expected a map with userarn, username, groups, got ${shapeOf(iss.input)}` },
  ),
);

/** Rejects an identity listed twice in one property: which of the two would EKS use? */
function unique<T>(kind: MappingKind, idOf: (entry: T) => string) {
  return (entries: T[], ctx: z.RefinementCtx) => {
    const seen = new Map<string, number>();
    entries.forEach((entry, i) => {
      const id = idOf(entry);
      const key = identityKey(kind, id);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `${id} is listed twice (also at [${first}]); map each identity once`,
        });
    });
  };
}

const accountId = z
  .union([z.string(), z.number()], { error: (iss) => `expected a 12-digit AWS account id, got ${shapeOf(iss.input)}` })
  .transform((v, ctx) => {
    const text = String(v).trim();
    if (/^\d{12}$/.test(text)) return text;
    ctx.addIssue({
      code: 'custom',
      message:
        typeof v === 'number'
          ? `expected a 12-digit AWS account id, got the number ${v}; quote account ids ("012345678901"): as numbers they lose leading zeros`
          : `expected a 12-digit AWS account id, got ${preview(v)}`,
    });
    return z.NEVER;
  });

/**
 * The properties. Each mapping list also accepts a YAML or JSON string (a template parameter, or
 * a block copied from an existing aws-auth).
 */
export const awsAuthSchema = z.strictObject({
  /** Name of the EKS cluster whose `kube-system/aws-auth` is edited. Changing it replaces the resource. */
  ClusterName: prop.string({ minLength: 1 }),
  /** `mapRoles` entries: `{rolearn, username, groups}`. Default: none. */
  MapRoles: z
    .preprocess(
      listOfMaps,
      z.array(roleEntry, {
        error: (iss) => `expected a list of {rolearn, username, groups} maps, got ${shapeOf(iss.input)}`,
      }),
    )
    .superRefine(unique('mapRoles', (e: { rolearn: string }) => e.rolearn))
    .default([]),
  /** `mapUsers` entries: `{userarn, username, groups}`. Default: none. */
  MapUsers: z
    .preprocess(
      listOfMaps,
      z.array(userEntry, {
        error: (iss) => `expected a list of {userarn, username, groups} maps, got ${shapeOf(iss.input)}`,
      }),
    )
    .superRefine(unique('mapUsers', (e: { userarn: string }) => e.userarn))
    .default([]),
  /** `mapAccounts` entries: 12-digit account ids (a list, a YAML/JSON string or a comma-separated string). Default: none. */
  MapAccounts: prop
    .list(accountId)
    .superRefine(unique('mapAccounts', (e: string) => e))
    .default([]),
});

export type AwsAuthProperties = z.infer<typeof awsAuthSchema>;
