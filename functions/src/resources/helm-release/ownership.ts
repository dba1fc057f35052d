/**
 * Whose a release is. Every `helm upgrade --install` of a HelmRelease writes release labels (helm
 * `--labels`, kept on each revision's storage Secret): the owner (a hash of the stack and logical
 * id), the request that made the revision, and `adopted` when the resource took over a release
 * that existed before it. From them:
 * - a Create (or a replacement) refuses a release of the same name it does not own, unless `Adopt`;
 * - the cleanup of a failed Create uninstalls only a release whose first revision that very
 *   request installed (never one that existed before, nor one it adopted);
 * - a Delete uninstalls only a release this resource owns (or one without any kubecfn owner:
 *   installed by a kubecfn version before these labels, under this resource's physical id);
 * - a release stuck in a pending state is recovered only when it is this resource's.
 */
import { KubeApiError, withKubeClient, type ClusterAccess } from '../../kube';
import { shortHash, type CloudFormationEvent } from '../../runtime';
import type { ReleaseTarget } from './target';

export const OWNER_LABEL = 'kubecfn.io/owner';
export const REQUEST_LABEL = 'kubecfn.io/request';
export const ADOPTED_LABEL = 'kubecfn.io/adopted';
/**
 * A hash of what a revision was made from: the chart's source and version, the values files'
 * contents, SkipCrds. An Update that finds the deployed revision made from exactly the same (a
 * rollback to the properties of before a failed update) leaves the release as it is.
 */
export const INPUTS_LABEL = 'kubecfn.io/inputs';

/** The owner label's value: stable for a resource (stack and logical id), a valid label value. */
export const ownerLabelOf = (event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>) =>
  shortHash(`${event.StackId}|${event.LogicalResourceId}`, 20);

/** The request label's value: the request that made a revision. */
export const requestLabelOf = (event: Pick<CloudFormationEvent, 'RequestId'>) => shortHash(event.RequestId, 20);

/** One revision of a release, as its storage Secret's labels tell it. */
export interface Revision {
  revision: number;
  status: string;
  labels: Record<string, string>;
}

/**
 * The release's revisions, oldest first (what helm keeps of its history), read from its storage
 * Secrets' metadata; empty when there is no release of that name.
 */
export async function revisionsOf(
  access: ClusterAccess,
  target: ReleaseTarget,
  signal?: AbortSignal,
): Promise<Revision[]> {
  return withKubeClient(access, async (client) => {
    let list: { items?: Array<{ metadata: { labels?: Record<string, string> } }> };
    try {
      list = await client.request('GET', `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/secrets`, {
        query: { labelSelector: `owner=helm,name=${target.name}` },
        // Metadata only: a release's Secret holds its whole rendered manifest.
        accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
        signal,
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return [];
      throw error;
    }
    return (list.items ?? [])
      .map((s) => s.metadata.labels ?? {})
      .map((labels) => ({ revision: Number(labels.version), status: labels.status ?? '', labels }))
      .filter((r) => Number.isFinite(r.revision))
      .sort((a, b) => a.revision - b.revision);
  });
}

/** How this resource stands to a release of its name. */
export type ReleaseClaim =
  /** No such release: this request installs it. */
  | { kind: 'absent' }
  /** This resource's (its owner label), or one without any kubecfn owner under this resource's id (Update only). */
  | { kind: 'ours'; adopted: boolean }
  /** Someone else's: another kubecfn resource's (`owner`), or installed outside kubecfn. */
  | { kind: 'foreign'; owner?: string };

export function claimOf(revisions: readonly Revision[], owner: string, legacyIsOurs: boolean): ReleaseClaim {
  const latest = revisions.at(-1);
  if (!latest) return { kind: 'absent' };
  const labelled = latest.labels[OWNER_LABEL];
  if (labelled === owner) return { kind: 'ours', adopted: latest.labels[ADOPTED_LABEL] === 'true' };
  if (!labelled && legacyIsOurs) return { kind: 'ours', adopted: false };
  return { kind: 'foreign', ...(labelled ? { owner: labelled } : {}) };
}

/**
 * True when `request` installed the release: its oldest revision is the first, labelled with that
 * request (not adopted). helm keeps only the last revisions (10 by default): when every revision
 * kept is that request's, its first may have been pruned by its own retries (an admission webhook
 * that could not be called), and it still counts as that request's install.
 */
export function installedBy(revisions: readonly Revision[], owner: string, request: string): boolean {
  const byRequest = (r: Revision) =>
    r.labels[OWNER_LABEL] === owner && r.labels[REQUEST_LABEL] === request && r.labels[ADOPTED_LABEL] !== 'true';
  const first = revisions[0];
  return !!first && byRequest(first) && (first.revision === 1 || revisions.every(byRequest));
}

/** The labels an upgrade writes. */
export function labelsFor(event: CloudFormationEvent, adopted: boolean, inputs?: string): Record<string, string> {
  return {
    [OWNER_LABEL]: ownerLabelOf(event),
    [REQUEST_LABEL]: requestLabelOf(event),
    ...(adopted ? { [ADOPTED_LABEL]: 'true' } : {}),
    ...(inputs ? { [INPUTS_LABEL]: inputs } : {}),
  };
}

/**
 * The deployed revision, when it is the release's latest and was made by this resource from
 * `inputs` (see {@link INPUTS_LABEL}) and nothing changed it since: no later revision, and no
 * other deployed revision of the request that made it (a `helm upgrade` by hand keeps the labels
 * of the revision it supersedes, so its revision would have a twin). Undefined otherwise.
 */
export function unchangedRevision(revisions: readonly Revision[], owner: string, inputs: string): Revision | undefined {
  const latest = revisions.at(-1);
  if (!latest || latest.status !== 'deployed') return undefined;
  if (latest.labels[OWNER_LABEL] !== owner || latest.labels[INPUTS_LABEL] !== inputs) return undefined;
  const request = latest.labels[REQUEST_LABEL];
  const twin = revisions.some((r) => r !== latest && r.labels[REQUEST_LABEL] === request && r.status !== 'failed');
  return twin ? undefined : latest;
}

/** The Reason for a release this resource may not touch. */
export function foreignReason(target: ReleaseTarget, claim: { owner?: string }, what: string): string {
  const whose = claim.owner
    ? `another kubecfn resource owns it (owner label ${OWNER_LABEL}=${claim.owner})`
    : 'it was installed outside this resource (no kubecfn owner label)';
  return `ReleaseName: release ${target.name} in namespace ${target.namespace} exists and ${whose}: ${what}`;
}
