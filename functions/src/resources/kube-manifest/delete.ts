/**
 * Delete: the objects removed level by level, highest first, each level waited for until it is
 * gone (custom objects before their CRDs, everything before its namespace). Only objects that
 * carry this resource's owner annotation are deleted (checked with their uid and resourceVersion);
 * from any other object only this resource's fields are withdrawn. The cleanup after a failed
 * Create also leaves what it adopted. Prune deletes the dropped objects the same way.
 */
import { deleteObjects, describeObject, whatHoldsAt, type DeleteState, type ManifestObject } from '../../kube';
import { ResourceError } from '../../runtime';
import { pollUntil, seconds, type Progress, type Run } from './step';

/**
 * Deletes `objects` level by level from `run.state.level` down, waiting until each level is gone
 * before the next.
 */
export async function deleteLevels(run: Run, objects: readonly ManifestObject[]): Promise<Progress> {
  const { client, state, clock, props, owner, fieldManager, ctx } = run;
  const keepAdopted = state.op === 'Cleanup' || state.op === 'Undo';
  for (let level = state.level; level >= 0; level--) {
    state.level = level;
    const batch = objects.filter((o) => o.level === level);
    if (batch.length === 0) continue;
    let remaining = batch;
    const r = await pollUntil<{ object: ManifestObject; state: DeleteState }>(clock, async () => {
      const states = await deleteObjects(client, remaining, { owner, fieldManager, keepAdopted, signal: ctx.signal });
      for (const s of states) {
        if (s.state.state === 'kept')
          ctx.logger.info("left in place: not this resource's to delete", {
            object: describeObject(s.object),
            owner: s.state.owner,
            why: s.state.why,
          });
        if (s.state.state === 'released')
          ctx.logger.info("left in place, this resource's fields withdrawn: not this resource's to delete", {
            object: describeObject(s.object),
            owner: s.state.owner,
          });
      }
      const left = states.filter((s) => s.state.state === 'deleting');
      remaining = left.map((s) => s.object);
      return left;
    });
    if (r.outcome === 'handover') return 'handover';
    if (r.outcome === 'done') ctx.logger.info('deleted', { dependencyLevel: level, objects: batch.length });
    if (r.outcome === 'timeout') {
      // What holds each: finalizers, and the object's own conditions (a Namespace's
      // NamespaceDeletionDiscoveryFailure names the API that did not answer), else its newest event.
      const stuck = (
        await Promise.all(
          r.left.slice(0, 10).map(async ({ object, state: s }) => {
            const holds =
              object.resource &&
              (await whatHoldsAt(
                client,
                client.objectPath(object.resource, object.name, object.namespace),
                ctx.signal,
              ));
            const finalizers =
              s.state === 'deleting' && s.finalizers.length ? `finalizers ${s.finalizers.join(', ')}` : '';
            const held = holds || finalizers;
            return `${object.source} (${describeObject(object)}${held ? `, held by ${held}` : ''})`;
          }),
        )
      ).join('; ');
      const more = r.left.length > 10 ? `; and ${r.left.length - 10} more` : '';
      throw new ResourceError(`Objects still being deleted after ${seconds(props)}: ${stuck}${more}`);
    }
  }
  return 'done';
}
