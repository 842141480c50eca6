/**
 * Packer SDK's retry.Config.Run: call `fn` until it succeeds, waiting `delayMs` between attempts,
 * until `startTimeoutMs` has elapsed since the first call (0 = no limit), `tries` attempts were made
 * (0 = no limit), `shouldRetry` says no, or the signal is aborted. The last error is returned.
 */
export interface RetryOptions {
  startTimeoutMs?: number;
  delayMs: number;
  tries?: number;
  signal?: AbortSignal;
  shouldRetry?: (err: unknown) => boolean;
  /** Called with each error that will be retried (for the debug log). */
  onRetry?: (err: unknown) => void;
}

export async function retry<T>(opts: RetryOptions, fn: (attempt: number) => Promise<T>): Promise<T> {
  const deadline = opts.startTimeoutMs ? Date.now() + opts.startTimeoutMs : Infinity;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.tries && attempt >= opts.tries - 1) throw err;
      if (opts.shouldRetry && !opts.shouldRetry(err)) throw err;
      if (opts.signal?.aborted) throw err;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw err;
      opts.onRetry?.(err);
      if (opts.delayMs >= remaining) {
        await sleep(remaining, opts.signal); // the window closes during the wait
        throw err;
      }
      if (!(await sleep(opts.delayMs, opts.signal))) throw err;
    }
  }
}

/** Sleeps ms; resolves true when the time passed, false when the signal aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
