/**
 * A hand-written aws-auth as clusters carry it before any Custom::AwsAuth touches it: EKS's own
 * node-role entry (groups first, unindented nested list), comments, odd spacing before a trailing
 * comment, a user with a path. Every test checks these bytes survive.
 */
export const HAND_WRITTEN_MAP_ROLES = `# Nodes: mapped by hand when the cluster was made. Keep this entry first.
- groups:
  - system:bootstrappers
  - system:nodes
  rolearn: arn:aws:iam::111122223333:role/eks-node-role   # node group instance role
  username: system:node:{{EC2PrivateDNSName}}
`;

export const HAND_WRITTEN_MAP_USERS = `- userarn: arn:aws:iam::111122223333:user/ops/alice
  username: alice
  groups:
    - ops-readers # read-only, bound in rbac/ops.yaml
`;

export const NODE_ROLE = 'arn:aws:iam::111122223333:role/eks-node-role';
export const ALICE = 'arn:aws:iam::111122223333:user/ops/alice';

/** The `data` of the hand-written aws-auth. */
export const handWrittenData = () => ({ mapRoles: HAND_WRITTEN_MAP_ROLES, mapUsers: HAND_WRITTEN_MAP_USERS });

/** A role ARN per test owner: `role(3)` → `arn:aws:iam::222233334444:role/team-3`. */
export const role = (n: number | string) => `arn:aws:iam::222233334444:role/team-${n}`;
export const user = (n: number | string) => `arn:aws:iam::222233334444:user/dev-${n}`;
