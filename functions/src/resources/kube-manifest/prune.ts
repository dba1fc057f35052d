/**
 * Prune: after an Update has applied the new set and it is ready, the objects the update dropped
 * from the manifest are deleted (unless RetainOnDelete keeps them), the way a Delete deletes.
 */
import { objectKey, type ManifestObject } from '../../kube';
import { loadObjects } from './cluster';
import { deleteLevels } from './delete';
import type { Props } from './schema';
import type { Progress, Run } from './step';

/** Deletes what `oldProps` had and `objects` (the new set) no longer has. */
export async function pruneDropped(
  run: Run,
  objects: readonly ManifestObject[],
  oldProps: Props | undefined,
): Promise<Progress> {
  const { client, props, ctx } = run;
  if (!oldProps) {
    ctx.logger.warn('the previous properties no longer parse: objects dropped from the manifest are not pruned');
  } else if (props.RetainOnDelete) {
    ctx.logger.info('RetainOnDelete: objects dropped from the manifest stay in the cluster');
  } else {
    const keep = new Set(objects.map(objectKey));
    const previous = await loadObjects(client, oldProps, 'skip', ctx.signal);
    const dropped = previous.filter((o) => !keep.has(objectKey(o)));
    if (dropped.length > 0 && (await deleteLevels(run, dropped)) === 'handover') return 'handover';
  }
  return 'done';
}
