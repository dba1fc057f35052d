/**
 * Admission webhooks the API server could not call. A webhook with `failurePolicy: Fail` that has
 * no endpoints yet (its controller was installed a moment ago: the AWS Load Balancer Controller's
 * `mservice.elbv2.k8s.aws` is the well-known case), whose pods refuse connections while they
 * start, or that does not answer in time, makes the API server refuse every object it intercepts
 * with `failed calling webhook "<name>": …`. That is a race, not a verdict on the object: the same
 * request succeeds once the webhook serves. A webhook that answered and denied the request
 * (`admission webhook "<name>" denied the request: …`) is a verdict, and is not matched here; nor
 * is a webhook whose certificate the API server does not trust (a configuration to fix).
 */

/** An admission webhook the API server could not call: its name and why. */
export interface WebhookOutage {
  /** The webhook's name, e.g. `mservice.elbv2.k8s.aws`. */
  webhook: string;
  /** Why the call failed, in the API server's words, e.g. `no endpoints available for service "x"`. */
  cause: string;
}

const CALL_FAILED = /failed calling webhook "([^"]+)": (?:failed to call webhook: )?([^\n]*)/;

/** The API server's words for a webhook that is not (yet) reachable. */
const OUTAGES = [
  /no endpoints available for service "[^"]+"/,
  /service "[^"]+" not found/,
  /connection refused/,
  /connection reset by peer/,
  /no route to host/,
  /network is unreachable/,
  /context deadline exceeded(?: \(Client\.Timeout exceeded while awaiting headers\))?/,
  /i\/o timeout/,
  /: EOF\b/,
];

/**
 * The webhook outage an API server message (or helm's stderr, which quotes it) reports, if it
 * reports one.
 *
 * @example
 * webhookOutageIn('Internal error occurred: failed calling webhook "mservice.elbv2.k8s.aws": failed to call webhook: Post "https://…": no endpoints available for service "aws-load-balancer-webhook-service"');
 * // { webhook: 'mservice.elbv2.k8s.aws', cause: 'no endpoints available for service "aws-load-balancer-webhook-service"' }
 */
export function webhookOutageIn(text: string | undefined): WebhookOutage | undefined {
  const m = CALL_FAILED.exec(text ?? '');
  if (!m) return undefined;
  const detail = m[2]!;
  const cause = OUTAGES.map((re) => re.exec(detail)?.[0]).find((c) => c !== undefined);
  return cause === undefined ? undefined : { webhook: m[1]!, cause: cause.replace(/^: /, '') };
}

/**
 * What a Reason says of an outage that outlasted the time to wait for it: which webhook, why it
 * could not be called, and what that usually means.
 *
 * @example
 * describeOutage({ webhook: 'mservice.elbv2.k8s.aws', cause: 'no endpoints available for service "svc"' });
 */
export function describeOutage(outage: WebhookOutage): string {
  const hint = /no endpoints available/.test(outage.cause)
    ? `: the webhook's Service had no ready endpoints (the pods serving it were not running or not ready)`
    : /not found/.test(outage.cause)
      ? `: the webhook's Service does not exist`
      : `: nothing answered at the webhook's address`;
  return `the API server could not call the admission webhook "${outage.webhook}" (${outage.cause})${hint}`;
}
