/**
 * Apply: server-side apply level by level (namespaces and CRDs first, webhooks last), as many
 * levels as fit in the invocation. An Update first checks the whole new set with a dry run, so a
 * rejected update changes nothing. Custom objects wait until the CRDs of the same manifest are
 * established. An admission webhook the API server cannot call yet (no endpoints, refused, no
 * answer: see kube/webhooks.ts) is waited for, across invocations, within TimeoutSeconds.
 */
import {
  applyObjects,
  describeObject,
  describeOutage,
  LEVEL_COUNT,
  ManifestError,
  readinessOfObjects,
  resolvePending,
  webhookOutageIn,
  type ManifestObject,
  type WebhookOutage,
} from '../../kube';
import { ResourceError } from '../../runtime';
import { sleep } from '../../shared';
import { pollUntil, seconds, type Progress, type Run } from './step';

/**
 * Do not start applying another level with less time than this left in the invocation (the first
 * level of an invocation always goes ahead, so that every invocation makes progress).
 */
const APPLY_RESERVE_MS = 4_000;

/** How long objects of a just-applied CRD may be refused while the API server takes up its new schema. */
const NEW_SCHEMA_GRACE_MS = 15_000;

/** Waits between tries while an admission webhook cannot be called: 1 s, doubling, at most 10 s. */
const WEBHOOK_FIRST_WAIT_MS = 1_000;
const WEBHOOK_MAX_WAIT_MS = 10_000;
/** Kept before the request's overall deadline (ServiceTimeout), to answer with the webhook's name. */
const WEBHOOK_ANSWER_RESERVE_MS = 2_000;

/**
 * The webhook outage behind a failed apply, when every object refused was refused for one (the
 * first one's); undefined when any object was refused for anything else.
 */
function outageOf(error: unknown): { outage: WebhookOutage; failed: readonly ManifestObject[] } | undefined {
  if (!(error instanceof ManifestError) || error.failed.length === 0) return undefined;
  const outages = error.errors.map((e) => webhookOutageIn((e as { apiMessage?: string })?.apiMessage));
  if (outages.length !== error.failed.length || outages.some((o) => !o)) return undefined;
  return { outage: outages[0]!, failed: error.failed };
}

/**
 * Runs `attempt` (an apply or a dry run of `objects`) again while it fails only for admission
 * webhooks that cannot be called, with backoff, until TimeoutSeconds (or the request's
 * ServiceTimeout) runs out: then FAILED naming the webhook and why it could not be called. Hands
 * over to the next invocation when this one has no time for another try.
 */
async function throughWebhookOutages(
  run: Run,
  objects: readonly ManifestObject[],
  attempt: (pending: readonly ManifestObject[]) => Promise<void>,
): Promise<Progress> {
  const { clock, state, props, ctx } = run;
  let pending = objects;
  for (let wait = WEBHOOK_FIRST_WAIT_MS; ; wait = Math.min(WEBHOOK_MAX_WAIT_MS, wait * 2)) {
    try {
      await attempt(pending);
      if (state.webhookSince !== undefined)
        ctx.logger.info('the admission webhook answers again; applied', {
          waitedMs: Date.now() - state.webhookSince,
        });
      delete state.webhookSince;
      return 'done';
    } catch (error) {
      const found = outageOf(error);
      if (!found) throw error;
      state.webhookSince ??= Date.now();
      const first = found.failed[0]!;
      const giveUpAt = Math.min(clock.deadlineAt, ctx.overallDeadline - WEBHOOK_ANSWER_RESERVE_MS);
      if (Date.now() + wait >= giveUpAt) {
        const waited = Math.round((Date.now() - state.webhookSince) / 1000);
        const more = found.failed.length > 1 ? ` (and ${found.failed.length - 1} more objects)` : '';
        throw new ResourceError(
          `${first.source} (${describeObject(first)})${more}: ${describeOutage(found.outage)}; retried for ${waited} s, until ${clock.deadlineAt <= giveUpAt ? seconds(props) : "the resource's ServiceTimeout"} ran out`,
        );
      }
      ctx.logger.info('an admission webhook cannot be called yet; applying again', {
        webhook: found.outage.webhook,
        cause: found.outage.cause,
        objects: found.failed.length,
        waitMs: wait,
      });
      if (clock.invocationLeft() < wait + 2_000) return 'handover';
      pending = found.failed;
      await sleep(wait, ctx.signal);
    }
  }
}

/** Applies the levels from `run.state.level` up. */
export async function applyLevels(run: Run, objects: ManifestObject[]): Promise<Progress> {
  const { client, state, clock, props, owner, fieldManager, ctx } = run;
  if (state.op === 'Update' && !state.checked) {
    // Validate the whole new set first: an invalid object, an immutable-field change or a field
    // another manager set fails the update before anything changed. Admission webhooks are called
    // for a dry run too: one that cannot be called yet is waited for.
    const checked = await throughWebhookOutages(
      run,
      objects.filter((o) => o.resource && !o.definedByManifest),
      async (pending) => {
        await applyObjects(client, pending, {
          owner,
          fieldManager,
          adopt: props.Adopt,
          dryRun: true,
          signal: ctx.signal,
        });
      },
    );
    if (checked === 'handover') return 'handover';
    state.checked = true;
  }
  let appliedHere = 0;
  for (let level = state.level; level < LEVEL_COUNT; level++) {
    state.level = level;
    const batch = objects.filter((o) => o.level === level);
    if (batch.length === 0) continue;
    if (appliedHere > 0 && clock.invocationLeft() < APPLY_RESERVE_MS) return 'handover';
    if (batch.some((o) => o.definedByManifest)) {
      // Custom objects of CRDs in this manifest: wait until those CRDs are established.
      const crds = objects.filter((o) => o.group === 'apiextensions.k8s.io' && o.kind === 'CustomResourceDefinition');
      const r = await pollUntil(clock, () => readinessOfObjects(client, crds, { signal: ctx.signal }));
      if (r.outcome === 'handover') return 'handover';
      if (r.outcome === 'timeout')
        throw new ResourceError(
          `CRDs not established after ${seconds(props)}: ${r.left.map((n) => `${n.object.source} (${describeObject(n.object)})`).join('; ')}`,
        );
      await resolvePending(client, objects, {
        defaultNamespace: props.Namespace,
        unknownKinds: 'fail',
        signal: ctx.signal,
      });
    }
    if ((await throughWebhookOutages(run, batch, (pending) => applyLevel(run, pending))) === 'handover')
      return 'handover';
    appliedHere += batch.length;
    ctx.logger.info('applied', { dependencyLevel: level, objects: batch.length });
  }
  return 'done';
}

/**
 * Applies one level. Objects whose CRD this manifest has just created or changed may be refused
 * for a moment — unknown kind, or a field the schema does not declare yet — until every API server
 * has taken up the CRD's new schema (Established says the names are served, not which schema);
 * those are retried for a short while, idempotently, before their refusal counts.
 */
async function applyLevel(run: Run, batch: readonly ManifestObject[]): Promise<void> {
  const { client, clock, owner, fieldManager, props, ctx } = run;
  const giveUpAt = Date.now() + NEW_SCHEMA_GRACE_MS;
  let pending = batch;
  for (let wait = 200; ; wait = Math.min(2_000, wait * 2)) {
    ctx.changing();
    try {
      const claims = await applyObjects(client, pending, {
        owner,
        fieldManager,
        adopt: props.Adopt,
        signal: ctx.signal,
      });
      const shared = pending.filter((_, i) => claims[i] === 'shared').map(describeObject);
      const adopted = pending.filter((_, i) => claims[i] === 'adopted').map(describeObject);
      if (shared.length)
        ctx.logger.info("existing objects: only this resource's fields applied, never deleted", { shared });
      if (adopted.length) ctx.logger.info('existing objects adopted (Adopt)', { adopted });
      return;
    } catch (error) {
      const retry =
        error instanceof ManifestError && error.failed.length > 0 && error.failed.every((o) => o.definedByManifest);
      if (!retry || Date.now() + wait > giveUpAt || clock.invocationLeft() < wait + 1_000) throw error;
      ctx.logger.info('objects of a new CRD schema refused; applying them again', {
        objects: error.failed.length,
        first: error.message,
      });
      pending = [...error.failed];
      await sleep(wait);
    }
  }
}
