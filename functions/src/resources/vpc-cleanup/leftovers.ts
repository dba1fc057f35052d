/** What a sweep pass could not remove yet, and why: the stuff of the FAILED Reason. */
import { describeAwsError, isPermanent } from './clients';

export interface Leftover {
  /** What it is, as a person finds it in the console: `load balancer k8s-web-… (arn:…)`. */
  readonly what: string;
  /** Why it is still there: the API's answer, or what it waits for. */
  readonly why: string;
  /** Waiting will not help (no permission, deletion protection): the Delete fails at the end of this pass. */
  readonly permanent: boolean;
}

export const pending = (what: string, why: string): Leftover => ({ what, why, permanent: false });

export const fromError = (what: string, error: unknown): Leftover => ({
  what,
  why: describeAwsError(error),
  permanent: isPermanent(error),
});

export const describeLeftovers = (leftovers: readonly Leftover[]): string =>
  leftovers.map((l) => `${l.what} (${l.why})`).join('; ');
