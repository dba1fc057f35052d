/**
 * The CRDs of a chart's `crds/` directories. helm creates them on install (those that do not exist
 * yet) and never updates or deletes them: they are not part of the release. So the install that
 * created them claims them, right after helm ran, with the owner annotation (kube/apply.ts's
 * `kubecfn.io/owner`, written with uid and resourceVersion preconditions, only on a CRD that
 * carries none), and the uninstall deletes what this resource claimed — once no other release of
 * this resource is left (a replacement's new release goes on using them).
 *
 * Only CRDs the install created are claimed: one that existed before the install (another chart's,
 * installed by hand, by an earlier stack) is never annotated, never deleted.
 */
import { parseAllDocuments } from 'yaml';
import type { HelmCli } from '../../helm';
import { KubeApiError, OWNER_ANNOTATION, withKubeClient, type ClusterAccess, type KubeClient } from '../../kube';
import type { CloudFormationEvent } from '../../runtime';
import type { Logger } from '../../runtime/logger';
import { OWNER_LABEL, ownerLabelOf } from './ownership';
import type { ReleaseTarget } from './target';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const crdPath = (name: string) => `${CRDS}/${encodeURIComponent(name)}`;
/** Metadata only: a CRD's schema can be large. */
const METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

interface Meta {
  metadata: { name: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string> };
}

/** The owner annotation's value on a CRD a HelmRelease created: `HelmRelease/<owner label>`. */
export const crdOwnerOf = (event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>) =>
  `HelmRelease/${ownerLabelOf(event)}`;

/**
 * The names of the CRDs in the chart's `crds/` directories, its subcharts' included
 * (`helm show crds`, with the same chart arguments as the upgrade).
 */
export async function chartCrdNames(
  cli: HelmCli,
  chartArgs: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const { stdout } = await cli.run(['show', 'crds', ...chartArgs], { signal });
  const names = parseAllDocuments(stdout, { version: '1.1' }).flatMap((doc) => {
    const o = (doc.toJS() ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
    return o.kind === 'CustomResourceDefinition' && typeof o.metadata?.name === 'string' ? [o.metadata.name] : [];
  });
  return [...new Set(names)];
}

/** Of `names`, those that exist and are not this owner's: never claimed by this install. */
export async function existingCrds(
  access: ClusterAccess,
  names: readonly string[],
  owner: string,
  signal?: AbortSignal,
): Promise<string[]> {
  return withKubeClient(access, async (client) => {
    const found = await Promise.all(
      names.map(async (name) => {
        const crd = await client.getOrUndefined<Meta>(crdPath(name), signal);
        return crd && crd.metadata.annotations?.[OWNER_ANNOTATION] !== owner ? [name] : [];
      }),
    );
    return found.flat();
  });
}

/**
 * Claims the CRDs of `names` that exist now and did not before (`before`), and carry no owner
 * annotation: the owner annotation is written with the uid and resourceVersion just read, so a
 * CRD replaced or claimed meanwhile is read again (and left alone if someone else claimed it).
 */
export async function claimCreatedCrds(
  access: ClusterAccess,
  names: readonly string[],
  before: readonly string[],
  owner: string,
  logger: Pick<Logger, 'info' | 'warn'>,
  signal?: AbortSignal,
): Promise<string[]> {
  const created = names.filter((n) => !before.includes(n));
  const claimed = await withKubeClient(access, async (client) =>
    Promise.all(created.map((name) => claimOne(client, name, owner, signal))),
  );
  const claimedNames = created.filter((_, i) => claimed[i]);
  if (claimedNames.length)
    logger.info("the chart's crds/ created CRDs: claimed, deleted with the release", { crds: claimedNames });
  return claimedNames;
}

async function claimOne(client: KubeClient, name: string, owner: string, signal?: AbortSignal): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const crd = await client.getOrUndefined<Meta>(crdPath(name), signal);
    if (!crd) return false;
    const current = crd.metadata.annotations?.[OWNER_ANNOTATION];
    if (current !== undefined) return current === owner;
    try {
      await client.request('PATCH', crdPath(name), {
        contentType: 'application/merge-patch+json',
        body: {
          metadata: {
            uid: crd.metadata.uid,
            resourceVersion: crd.metadata.resourceVersion,
            annotations: { [OWNER_ANNOTATION]: owner },
          },
        },
        accept: METADATA,
        signal,
      });
      return true;
    } catch (error) {
      // Changed or replaced since it was read: read it again.
      if (error instanceof KubeApiError && error.status === 409) continue;
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  }
  return false;
}

/** A release of this resource other than `target` still installed (a replacement's new one), if any. */
async function otherReleaseOf(
  client: KubeClient,
  ownerLabel: string,
  target: ReleaseTarget,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const list = await client.request<{
    items?: Array<{ metadata: { namespace?: string; labels?: Record<string, string> } }>;
  }>('GET', '/api/v1/secrets', {
    query: { labelSelector: `owner=helm,${OWNER_LABEL}=${ownerLabel}` },
    accept: METADATA_LIST,
    signal,
  });
  const other = (list.items ?? [])
    .map((s) => ({ namespace: s.metadata.namespace, name: s.metadata.labels?.name }))
    .find((r) => r.name && !(r.namespace === target.namespace && r.name === target.name));
  return other ? `${other.namespace}/${other.name}` : undefined;
}

/** Deletes one claimed CRD with uid and resourceVersion preconditions, reading it again after a conflict. */
async function deleteOne(client: KubeClient, name: string, owner: string, signal?: AbortSignal): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const crd = await client.getOrUndefined<Meta>(crdPath(name), signal);
    if (!crd || crd.metadata.annotations?.[OWNER_ANNOTATION] !== owner) return false;
    try {
      await client.request('DELETE', crdPath(name), {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          preconditions: { uid: crd.metadata.uid, resourceVersion: crd.metadata.resourceVersion },
        },
        accept: METADATA,
        signal,
      });
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      if (error instanceof KubeApiError && error.status === 409) continue;
      throw error;
    }
  }
  return false;
}

/**
 * Deletes the CRDs this resource's installs claimed (their custom objects go with them), with uid
 * and resourceVersion preconditions, unless another release of this resource is still installed.
 * Does not wait: the API server removes the custom objects, then the CRD.
 */
export async function deleteClaimedCrds(
  access: ClusterAccess,
  event: Pick<CloudFormationEvent, 'StackId' | 'LogicalResourceId'>,
  target: ReleaseTarget,
  logger: Pick<Logger, 'info' | 'warn'>,
  signal?: AbortSignal,
): Promise<string[]> {
  const owner = crdOwnerOf(event);
  return withKubeClient(access, async (client) => {
    const list = await client.request<{ items?: Meta[] }>('GET', CRDS, { accept: METADATA_LIST, signal });
    const ours = (list.items ?? []).filter((c) => c.metadata.annotations?.[OWNER_ANNOTATION] === owner);
    if (ours.length === 0) return [];
    const other = await otherReleaseOf(client, ownerLabelOf(event), target, signal);
    if (other) {
      logger.info('CRDs kept: another release of this resource uses them', {
        release: other,
        crds: ours.map((c) => c.metadata.name),
      });
      return [];
    }
    const names = ours.map((c) => c.metadata.name);
    const done = await Promise.all(names.map((name) => deleteOne(client, name, owner, signal)));
    const deleted = names.filter((_, i) => done[i]);
    logger.info('CRDs the release created deleted (their custom objects with them)', { crds: deleted });
    return deleted;
  });
}
