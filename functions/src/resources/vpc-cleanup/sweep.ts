/**
 * Delete: one pass over what the cluster's controllers and the providers left in the VPC, repeated
 * (in this invocation or a continuation) until nothing is left, FAILED at once for what waiting
 * cannot fix, and FAILED after TimeoutSeconds naming whatever is left and why. Every step succeeds
 * when what it removes is already gone.
 */
import { done, inProgress, ResourceError, type StepContext, type StepResult } from '../../runtime';
import { makeClients } from './clients';
import { detachFunctions } from './functions';
import { stackStatus, SWEEP_STATUSES } from './guard';
import { describeLeftovers, type Leftover } from './leftovers';
import { sweepLoadBalancers, sweepTargetGroups } from './load-balancers';
import { sweepInterfaces } from './network-interfaces';
import type { Props } from './schema';
import { sweepSecurityGroups } from './security-groups';

export interface State {
  /** Epoch ms when TimeoutSeconds (or the ServiceTimeout, if sooner) runs out. */
  deadlineAt: number;
  /** The stack was found being deleted: the sweep goes on without asking again. */
  confirmed: boolean;
  /** What earlier passes removed, for the log of the last one. */
  removed: number;
}

/** Room left before the overall deadline for the FAILED answer that names the leftovers. */
const ANSWER_MARGIN_MS = 5_000;
const POLL_SECONDS = 10;

export const startState = (props: Props, ctx: StepContext): State => ({
  deadlineAt: Math.min(Date.now() + props.TimeoutSeconds * 1000, ctx.overallDeadline - ANSWER_MARGIN_MS),
  confirmed: false,
  removed: 0,
});

export async function sweep(state: State, props: Props, ctx: StepContext): Promise<StepResult<State>> {
  const clients = makeClients();
  const { signal, logger } = ctx;
  if (!state.confirmed) {
    const status = await stackStatus(clients, ctx.event.StackId, signal);
    if (!SWEEP_STATUSES.includes(status)) {
      logger.info('the stack is not being deleted: nothing swept', { stackStatus: status });
      return done();
    }
    logger.info('sweeping the VPC', { stackStatus: status, vpcId: props.VpcId, clusterName: props.ClusterName });
  }

  const leftovers: Leftover[] = [];
  const removed: string[] = [];
  const take = (r: { removed: string[]; leftovers: Leftover[] }) => {
    removed.push(...r.removed);
    leftovers.push(...r.leftovers);
  };
  // The providers first, so Lambda starts releasing their interfaces while the rest is swept.
  const detached = await detachFunctions(clients, props.DetachFunctions, signal);
  take(detached);
  take(await sweepLoadBalancers(clients, props, signal));
  take(await sweepTargetGroups(clients, props, signal));
  take(await sweepSecurityGroups(clients, props, signal));
  take(await sweepInterfaces(clients, props, detached.names, logger, signal));

  const total = state.removed + removed.length;
  if (removed.length) logger.info('removed', { removed });
  if (leftovers.length === 0) {
    logger.info('nothing left in the VPC of what the sweep removes', { removed: total });
    return done();
  }
  const where = `VPC ${props.VpcId} (cluster ${props.ClusterName})`;
  const permanent = leftovers.filter((l) => l.permanent);
  if (permanent.length) throw new ResourceError(`could not remove from ${where}: ${describeLeftovers(permanent)}`);
  if (Date.now() >= state.deadlineAt)
    throw new ResourceError(
      `still in ${where} after ${props.TimeoutSeconds} s (TimeoutSeconds): ${describeLeftovers(leftovers)}`,
    );
  logger.info('waiting for', { leftovers: leftovers.map((l) => `${l.what}: ${l.why}`) });
  return inProgress<State>({ ...state, confirmed: true, removed: total }, { pollAfterSeconds: POLL_SECONDS });
}
