// The local cloud's EKS authenticator: what stands behind an EKS API server's bearer tokens.
//
// A token is `k8s-aws-v1.` + base64url(presigned STS GetCallerIdentity URL, signed over the
// `x-k8s-aws-id: <cluster name>` header). As EKS does, the authenticator checks the URL's form and
// age, asks STS who signed it (here: the engine's check of the signature against moto's IAM users
// and STS sessions, sts_identity.py), and maps the principal to a Kubernetes user:
// - by the cluster's access entries (authentication mode API or API_AND_CONFIG_MAP), with the
//   groups the entry names and the access policies associated with it (cluster or namespace
//   scope), each policy bound to the Kubernetes role EKS defines it as;
// - else by kube-system/aws-auth (mode CONFIG_MAP or API_AND_CONFIG_MAP): mapRoles, mapUsers;
// - else it refuses the token: the client gets 401 Unauthorized, as in EKS.
// The access entries come from a JSON file the engine keeps (`accessFile`, see EksAccessState).
// Each EKS cluster of the local cloud has a control plane and an authenticator of its own
// (`clusterName`): a token signed for another cluster's name fails STS's check, as in EKS.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { api as apiCall } from '../cluster/cluster';
import type { AuthenticatedUser, TokenAuthenticator } from '../cluster/token-webhook';

/** An access policy associated with an access entry, as AssociateAccessPolicy records it. */
export interface AccessPolicyAssociation {
  policyArn: string;
  accessScope: { type: 'cluster' | 'namespace'; namespaces?: string[] };
}

/** An access entry, as CreateAccessEntry records it. */
export interface AccessEntry {
  principalArn: string;
  type?: string;
  username?: string;
  kubernetesGroups?: string[];
  accessPolicies?: AccessPolicyAssociation[];
}

/** What the engine writes to the access file: every EKS cluster's authentication mode and access entries, by name. */
export interface EksAccessState {
  clusters: Record<string, { authenticationMode: string; accessEntries: AccessEntry[] }>;
}

/** The Kubernetes role each EKS access policy grants (EKS's own definitions, by their closest built-in role). */
export const ACCESS_POLICY_ROLES: Record<string, string> = {
  AmazonEKSClusterAdminPolicy: 'cluster-admin',
  AmazonEKSAdminPolicy: 'admin',
  AmazonEKSEditPolicy: 'edit',
  AmazonEKSViewPolicy: 'view',
};

const STS_HOSTS = /^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/;
const TOKEN_PREFIX = 'k8s-aws-v1.';
const MAX_AGE_MS = 15 * 60_000;

/** An API server the authenticator reads aws-auth from and writes policy bindings to. */
export interface AdminAccess {
  server: string;
  caData: string;
  token: string;
}

export interface EksAuthenticator {
  authenticate: TokenAuthenticator;
  /**
   * The control plane whose aws-auth and RBAC the authenticator uses (known once it started). Binds
   * each access policy's cluster-wide group to its role at once, as part of the control plane
   * (EKS's access policies exist before any stack does; namespace-scoped grants are bound on first use).
   */
  attach(admin: AdminAccess): Promise<void>;
}

/**
 * @example
 * const eks = createEksAuthenticator({ stsVerifyEndpoint: aws.stsVerifyEndpoint, accessFile, clusterName: 'prod' });
 * const cluster = await startLocalCluster({ authenticate: eks.authenticate });
 * await eks.attach(cluster);
 */
export function createEksAuthenticator(opts: {
  stsVerifyEndpoint: string;
  accessFile: string;
  /**
   * The EKS cluster this control plane stands for: only tokens signed for its name, mapped by its
   * access entries and aws-auth. Default: any cluster of the access file (a control plane shared by
   * every cluster name, for harnesses).
   */
  clusterName?: string;
  now?: () => number;
  /** Receives one line per refused token, with the reason (EKS writes these to its authenticator log). */
  log?: (line: string) => void;
}): EksAuthenticator {
  let admin: AdminAccess | undefined;
  const bound = new Set<string>();
  const now = opts.now ?? Date.now;

  const api = (method: string, path: string, body?: unknown) => {
    if (!admin) throw new Error('the EKS authenticator is not attached to a control plane yet');
    return apiCall(admin.server, admin.caData, admin.token, method, path, body);
  };

  /** The RBAC binding that gives a policy group its role: cluster-wide, or in one namespace. */
  const ensureBinding = async (policy: string, namespace?: string): Promise<string> => {
    const group = namespace ? `eks-access-policy:${policy}:${namespace}` : `eks-access-policy:${policy}`;
    if (bound.has(group)) return group;
    const name = `eks-access-policy-${policy}`.toLowerCase();
    const binding = {
      metadata: { name, labels: { 'kubecfn.io/emulates': 'eks-access-policy' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ACCESS_POLICY_ROLES[policy] },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
    };
    const res = namespace
      ? await api('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          ...binding,
        })
      : await api('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          ...binding,
        });
    // 404: the namespace does not exist yet; the grant applies once it does (tried again next time).
    if (res.status === 201 || res.status === 409) bound.add(group);
    // EKS's authorizer applies an access policy at once; RBAC's applies a new binding once its cache
    // has it. So the token is answered once RBAC grants the group what every one of these roles grants.
    if (res.status === 201) await untilGranted(group, namespace);
    return group;
  };

  const untilGranted = async (group: string, namespace?: string) => {
    const review = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'kubecfn:eks-access-policy-check',
        groups: [group],
        resourceAttributes: { verb: 'get', resource: 'pods', ...(namespace ? { namespace } : {}) },
      },
    };
    for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
      const res = await api('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', review);
      if (res.status === 201 && (JSON.parse(res.text) as { status?: { allowed?: boolean } }).status?.allowed) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const decide: TokenAuthenticator = async (token) => {
    if (!token.startsWith(TOKEN_PREFIX)) return { error: 'token is not an EKS token (k8s-aws-v1.)' };
    let url: URL;
    try {
      url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    } catch {
      return { error: 'input token was not properly formatted: not a URL' };
    }
    const q = url.searchParams;
    if (url.protocol !== 'https:' || !STS_HOSTS.test(url.hostname) || url.pathname !== '/') {
      return { error: `input token was not properly formatted: unexpected host or path ${url.host}${url.pathname}` };
    }
    if (q.get('Action') !== 'GetCallerIdentity') {
      return { error: 'input token was not properly formatted: only GetCallerIdentity is accepted' };
    }
    const signed = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
    if (!signed.includes('x-k8s-aws-id')) {
      return { error: 'client did not sign the x-k8s-aws-id header in the pre-signed URL' };
    }
    const expires = Number(q.get('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 0 || expires > 900) {
      return { error: 'X-Amz-Expires parameter out of range' };
    }
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('X-Amz-Date') ?? '');
    if (!date) return { error: 'input token was not properly formatted: malformed X-Amz-Date' };
    const signedAt = Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!);
    if (now() - signedAt > MAX_AGE_MS) return { error: 'X-Amz-Date parameter is expired (15 minute expiration)' };
    if (signedAt - now() > 5 * 60_000) return { error: 'X-Amz-Date parameter is in the future' };

    const state = readAccessState(opts.accessFile);
    let refusal = opts.clusterName
      ? `EKS cluster ${opts.clusterName} has no authentication configuration yet`
      : 'no EKS cluster is served by this control plane';
    const clusters = Object.entries(state.clusters).filter(([name]) => !opts.clusterName || name === opts.clusterName);
    for (const [clusterName, cluster] of clusters) {
      const identity = await verifyWithSts(opts.stsVerifyEndpoint, url.toString(), clusterName);
      if ('error' in identity) {
        refusal = `sts getCallerIdentity failed: ${identity.error}`;
        continue;
      }
      const user = await mapPrincipal(identity.arn, identity.userId, cluster, api, ensureBinding);
      return (
        user ?? { error: `ARN is not mapped: ${identity.arn} (no access entry or aws-auth mapping on ${clusterName})` }
      );
    }
    return { error: refusal };
  };

  const authenticate: TokenAuthenticator = async (token) => {
    try {
      const result = await decide(token);
      if ('error' in result) opts.log?.(`refused: ${result.error}`);
      return result;
    } catch (err) {
      opts.log?.(`failed: ${(err as Error).stack ?? err}`);
      throw err;
    }
  };

  return {
    authenticate,
    attach: async (a) => {
      admin = a;
      for (const policy of Object.keys(ACCESS_POLICY_ROLES)) await ensureBinding(policy);
    },
  };
}

function readAccessState(file: string): EksAccessState {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as Partial<EksAccessState>;
    return { clusters: state.clusters ?? {} };
  } catch {
    return { clusters: {} };
  }
}

async function verifyWithSts(
  endpoint: string,
  url: string,
  clusterName: string,
): Promise<{ arn: string; userId: string } | { error: string }> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, headers: { 'x-k8s-aws-id': clusterName } }),
  });
  const body = (await res.json()) as { Arn?: string; UserId?: string; Code?: string; Message?: string };
  return res.ok && body.Arn ? { arn: body.Arn, userId: body.UserId ?? '' } : { error: `${body.Code}: ${body.Message}` };
}

/** arn:aws:sts::A:assumed-role/R/S → arn:aws:iam::A:role/R; a user or role ARN loses its path. */
export function canonicalPrincipal(arn: string): string {
  const assumed = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\/.+$/.exec(arn);
  if (assumed) return `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  const iam = /^arn:([^:]+):iam::(\d+):(role|user)\/(?:.*\/)?([^/]+)$/.exec(arn);
  return iam ? `arn:${iam[1]}:iam::${iam[2]}:${iam[3]}/${iam[4]}` : arn;
}

/** EKS's username templates: {{SessionName}}, {{SessionNameRaw}}, {{AccountID}}. */
function expand(template: string, arn: string): string {
  const assumed = /^arn:[^:]+:sts::(\d+):assumed-role\/[^/]+\/(.+)$/.exec(arn);
  const account = /^arn:[^:]+:[a-z]+::(\d+):/.exec(arn)?.[1] ?? '';
  const session = assumed?.[2] ?? '';
  return template
    .replaceAll('{{SessionName}}', session.replaceAll('@', '-'))
    .replaceAll('{{SessionNameRaw}}', session)
    .replaceAll('{{AccountID}}', account);
}

async function mapPrincipal(
  arn: string,
  userId: string,
  cluster: EksAccessState['clusters'][string],
  api: (method: string, path: string, body?: unknown) => Promise<{ status: number; text: string }>,
  ensureBinding: (policy: string, namespace?: string) => Promise<string>,
): Promise<AuthenticatedUser | undefined> {
  const principal = canonicalPrincipal(arn);
  const mode = cluster.authenticationMode || 'CONFIG_MAP';
  const extra = { arn: [arn], canonicalArn: [principal], sessionName: [arn.split('/').at(-1) ?? ''] };
  if (mode === 'API' || mode === 'API_AND_CONFIG_MAP') {
    const entry = cluster.accessEntries.find((e) => canonicalPrincipal(e.principalArn) === principal);
    if (entry) {
      const groups = [...(entry.kubernetesGroups ?? [])];
      for (const association of entry.accessPolicies ?? []) {
        const policy = association.policyArn.split('/').at(-1) ?? '';
        if (!ACCESS_POLICY_ROLES[policy]) continue;
        if (association.accessScope.type === 'namespace') {
          for (const ns of association.accessScope.namespaces ?? []) groups.push(await ensureBinding(policy, ns));
        } else {
          groups.push(await ensureBinding(policy));
        }
      }
      return {
        username: entry.username ? expand(entry.username, arn) : arn,
        uid: `aws-iam-authenticator:${userId}`,
        groups,
        extra,
      };
    }
  }
  if (mode === 'CONFIG_MAP' || mode === 'API_AND_CONFIG_MAP') {
    const res = await api('GET', '/api/v1/namespaces/kube-system/configmaps/aws-auth');
    if (res.status === 200) {
      const data = (JSON.parse(res.text) as { data?: Record<string, string> }).data ?? {};
      const kind = principal.includes(':role/') ? 'mapRoles' : 'mapUsers';
      const key = kind === 'mapRoles' ? 'rolearn' : 'userarn';
      const mappings = (parse(data[kind] ?? '[]', { version: '1.1' }) ?? []) as Array<Record<string, unknown>>;
      const match = mappings.find(
        (m) => typeof m[key] === 'string' && canonicalPrincipal(m[key] as string) === principal,
      );
      if (match) {
        return {
          username: expand(String(match.username ?? arn), arn),
          uid: `aws-iam-authenticator:${userId}`,
          groups: Array.isArray(match.groups) ? match.groups.map(String) : [],
          extra,
        };
      }
    }
  }
  return undefined;
}
