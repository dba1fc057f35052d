/**
 * The namespace a failed Create made: helm's `--create-namespace` creates it, nothing removes it.
 * A Create that fails (or a replacement whose install fails) removes it again when it did not
 * exist before, so a rolled-back stack leaves no empty namespace behind. A namespace that existed
 * before, or that a release installed successfully into, is never deleted.
 */
import { KubeApiError, withKubeClient, type ClusterAccess } from '../../kube';

/** Physical ids whose failed install this process must clean the namespace of. */
const created = new Set<string>();

const namespacePath = (name: string) => `/api/v1/namespaces/${encodeURIComponent(name)}`;

/** True when the namespace exists (any phase). */
export async function namespaceExists(access: ClusterAccess, name: string, signal?: AbortSignal): Promise<boolean> {
  return withKubeClient(
    access,
    async (client) => (await client.getOrUndefined(namespacePath(name), signal)) !== undefined,
  );
}

/** Records that the install behind `physicalId` is about to create its namespace. */
export const noteNamespaceCreated = (physicalId: string) => created.add(physicalId);

/** Forgets it: the install succeeded, the namespace is the release's to keep. */
export const forgetNamespaceCreated = (physicalId: string) => created.delete(physicalId);

/**
 * Deletes the namespace if the failed install behind `physicalId` created it; answers whether it did.
 * Does not wait: the namespace controller finishes the deletion.
 */
export async function removeCreatedNamespace(
  access: ClusterAccess,
  physicalId: string,
  name: string,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!created.has(physicalId)) return false;
  created.delete(physicalId);
  await withKubeClient(access, async (client) => {
    try {
      await client.request('DELETE', namespacePath(name), { signal });
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
  });
  return true;
}
