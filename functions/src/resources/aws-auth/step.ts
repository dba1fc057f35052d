/** What the aws-auth actions share: the state a step hands on, and the write itself. */
import { fieldManagerFor, withKubeClient, type ClusterAccess } from '../../kube';
import type { StepContext } from '../../runtime';
import { apiServerStore, updateAwsAuth, type UpdateOutcome } from './config-map';
import type { Mappings } from './mappings';

/** Carried to a later step when other writers kept winning the race until this one's time ran out. */
export interface State {
  /** The owner id the step works for (the physical id; a new one during a replacement). */
  ownerId: string;
  /** True for Delete: let go of everything. */
  remove: boolean;
}

/**
 * Writes `wanted` for `state.ownerId` into the cluster's aws-auth (undefined: removes everything
 * it owns), retrying lost races while the step has time.
 */
export async function writeAwsAuth(
  access: ClusterAccess,
  state: State,
  wanted: Mappings | undefined,
  ctx: StepContext,
): Promise<UpdateOutcome> {
  ctx.changing();
  const outcome = await withKubeClient(access, (client) =>
    updateAwsAuth(
      apiServerStore(client, {
        signal: ctx.signal,
        fieldManager: fieldManagerFor(ctx.event.StackId.split('/')[1] ?? 'stack', ctx.event.LogicalResourceId),
      }),
      state.ownerId,
      wanted,
      {
        remainingMs: ctx.remainingMs,
        logger: ctx.logger,
        signal: ctx.signal,
      },
    ),
  );
  if (outcome.done)
    ctx.logger.info('aws-auth up to date', {
      owner: state.ownerId,
      attempts: outcome.attempts,
      changed: outcome.result.changed,
    });
  return outcome;
}
