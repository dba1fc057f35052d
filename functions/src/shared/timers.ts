/**
 * Waiting, defined once for the whole of functions/src (runtime, kube, helm and resources alike).
 *
 * `timers.sleep` is a swappable default, in the same style as the runtime's outbound calls
 * (runtime/outbound.ts): a test that must not wait, or that counts the waits, replaces it there and
 * puts it back afterwards. Production code only ever calls {@link sleep}.
 */

export interface Timers {
  /** Resolves after `ms` milliseconds (at once for 0 or less); rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The timers in use; tests may replace `sleep` here. */
export const timers: Timers = { sleep: realSleep };

/**
 * Waits `ms` milliseconds, or until `signal` aborts (then rejects with its reason).
 *
 * @example
 * await sleep(pollMs);
 * await sleep(backoffMs, ctx.signal);
 */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> => timers.sleep(ms, signal);
