/**
 * Wait: with `Wait: ready`, the applied objects are read back until every one with a readiness
 * rule is ready (rolled out, complete, established, bound, given an address), or TimeoutSeconds.
 */
import { describeObject, readinessOfObjects, type ManifestObject } from '../../kube';
import { ResourceError } from '../../runtime';
import { pollUntil, seconds, type Progress, type Run } from './step';

/** Polls the objects' readiness; FAILED after TimeoutSeconds, naming what each one waits for. */
export async function awaitReadiness(run: Run, objects: readonly ManifestObject[]): Promise<Progress> {
  const { client, clock, props, ctx } = run;
  if (props.Wait !== 'ready') return 'done';
  const r = await pollUntil(clock, () => readinessOfObjects(client, objects, { signal: ctx.signal }));
  if (r.outcome === 'handover') return 'handover';
  if (r.outcome === 'timeout') {
    const list = r.left
      .slice(0, 10)
      .map((n) => `${n.object.source} (${describeObject(n.object)}) is waiting for ${n.waitingFor}`);
    const more = r.left.length > 10 ? `; and ${r.left.length - 10} more` : '';
    throw new ResourceError(`Wait: not ready after ${seconds(props)}: ${list.join('; ')}${more}`);
  }
  return 'done';
}
