// The environment switches of the local cloud's faults and Lambda's retry delays (scripts/local/deployment.ts).
import { chaosFromEnv, retryDelaysFromEnv } from '../../../scripts/local';

describe('fault switches from the environment', () => {
  it('KUBECFN_CHAOS=1 turns every fault on; one switch turns on only its fault', () => {
    expect(chaosFromEnv({ KUBECFN_CHAOS: '1' })).toEqual({
      duplicateAsync: true,
      crashContinuation: true,
      responsePut503: true,
      killMidStep: true,
    });
    expect(chaosFromEnv({ KUBECFN_CHAOS_RESPONSE_503: '1' })).toEqual({
      duplicateAsync: false,
      crashContinuation: false,
      responsePut503: true,
      killMidStep: false,
    });
  });

  it("KUBECFN_LAMBDA_RETRY_DELAYS gives Lambda's retry delays in seconds; unset keeps Lambda's own", () => {
    expect(retryDelaysFromEnv({})).toBeUndefined();
    expect(retryDelaysFromEnv({ KUBECFN_LAMBDA_RETRY_DELAYS: '10, 20' })).toEqual([10_000, 20_000]);
    expect(retryDelaysFromEnv({ KUBECFN_LAMBDA_RETRY_DELAYS: '0.5' })).toEqual([500]);
  });

  it('a delay that is not a number of seconds is refused, naming the variable and the form expected', () => {
    expect(() => retryDelaysFromEnv({ KUBECFN_LAMBDA_RETRY_DELAYS: '10,soon' })).toThrow(
      /KUBECFN_LAMBDA_RETRY_DELAYS must be seconds separated by commas/,
    );
    expect(() => retryDelaysFromEnv({ KUBECFN_LAMBDA_RETRY_DELAYS: '-1' })).toThrow(/KUBECFN_LAMBDA_RETRY_DELAYS/);
  });
});
