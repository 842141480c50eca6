/**
 * Waiting for EC2 states the way Packer 1.6.6 did (spec §A.2, §B.16): a constant delay between
 * polls, a number of attempts, the first poll immediately, unmatched API errors ignored. Our own
 * poll loop (not the SDK v3 waiters) so the last response can be reused by the next step, which
 * saves the DescribeImages/DescribeInstances calls 1.6.6 made after every wait.
 */
import type { PollingConfig } from './config.js';
import { isTransient } from './retry.js';

export interface WaitSettings {
  delayMs: number;
  attempts: number;
}

/** Reads an integer environment variable; non-integers are ignored like 1.6.6 did. */
function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  return /^-?\d+$/.test(v.trim()) ? Number(v) : undefined;
}

/**
 * Delay and attempts for one waiter: `aws_polling` over AWS_POLL_DELAY_SECONDS/AWS_MAX_ATTEMPTS,
 * AWS_TIMEOUT_SECONDS / delay (2 s when unset) as attempts, else the waiter's defaults. The AMI
 * waiter's 120 attempts apply only when nothing at all is overridden (`defaultsAmi`).
 */
export function waitSettings(
  polling: PollingConfig | undefined,
  defaults: WaitSettings,
  env: NodeJS.ProcessEnv = process.env,
): WaitSettings {
  const delay = polling?.delay_seconds || envInt(env, 'AWS_POLL_DELAY_SECONDS') || 0;
  const attempts = polling?.max_attempts || envInt(env, 'AWS_MAX_ATTEMPTS') || 0;
  const timeout = envInt(env, 'AWS_TIMEOUT_SECONDS') || 0;
  const out = { ...defaults };
  if (delay > 0) out.delayMs = delay * 1000;
  if (attempts > 0) out.attempts = attempts;
  else if (timeout > 0) {
    const d = delay > 0 ? delay : 2;
    out.delayMs = d * 1000;
    out.attempts = Math.max(1, Math.floor(timeout / d));
  }
  return out;
}

/** True when any polling override is set (the AMI waiter then drops from 120 to 40 attempts). */
export function pollingOverridden(
  polling: PollingConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return Boolean(
    polling?.delay_seconds ||
    polling?.max_attempts ||
    envInt(env, 'AWS_POLL_DELAY_SECONDS') ||
    envInt(env, 'AWS_MAX_ATTEMPTS') ||
    envInt(env, 'AWS_TIMEOUT_SECONDS'),
  );
}

export const INSTANCE_WAIT: WaitSettings = { delayMs: 15_000, attempts: 40 };
export const IMAGE_WAIT: WaitSettings = { delayMs: 15_000, attempts: 40 };
export const IMAGE_WAIT_DEFAULT: WaitSettings = { delayMs: 15_000, attempts: 120 };

export function imageWait(
  polling: PollingConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): WaitSettings {
  return pollingOverridden(polling, env) ? waitSettings(polling, IMAGE_WAIT, env) : IMAGE_WAIT_DEFAULT;
}

export class WaiterError extends Error {}

export type PollOutcome = 'success' | 'failure' | 'retry';

/**
 * Consecutive polls that failed with a throttling, 5xx or network error (each after the SDK's own
 * `max_retries` retries) after which a wait gives up with that error. aws-sdk-go's waiters ignored
 * them all: against a broken API a 40-attempt wait then took the whole retry budget 40 times over.
 */
export const MAX_FAILED_POLLS = 3;

/**
 * Polls `describe` until `judge` says success (resolves with that response) or failure; API errors
 * for which `retryError` is not false are ignored like aws-sdk-go's waiters did, except that
 * MAX_FAILED_POLLS transient failures in a row end the wait with the last one.
 */
export async function poll<T>(
  describe: () => Promise<T>,
  judge: (r: T) => PollOutcome,
  settings: WaitSettings,
  signal?: AbortSignal,
  retryError: (err: unknown) => boolean = () => true,
): Promise<T> {
  let failedInRow = 0;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      const r = await describe();
      failedInRow = 0;
      const outcome = judge(r);
      if (outcome === 'success') return r;
      if (outcome === 'failure')
        throw new WaiterError('ResourceNotReady: failed waiting for successful resource state');
    } catch (err) {
      if (err instanceof WaiterError || signal?.aborted || !retryError(err)) throw err;
      failedInRow = isTransient(err) ? failedInRow + 1 : 0;
      if (failedInRow >= MAX_FAILED_POLLS) throw err;
    }
    if (attempt >= settings.attempts) throw new WaiterError('ResourceNotReady: exceeded wait attempts');
    await sleep(settings.delayMs, signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Packer's retry helper (spec §0.3): backoff from 200 ms doubling to 30 s; tries 0 = unlimited. */
export async function retry<T>(
  tries: number,
  fn: () => Promise<T>,
  shouldRetry: (err: unknown) => boolean,
  signal?: AbortSignal,
  initialMs = 200,
  maxMs = 30_000,
): Promise<T> {
  let delay = initialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!shouldRetry(err) || signal?.aborted) throw err;
      if (tries > 0 && attempt >= tries) {
        throw new Error(
          `retry count exhausted. Last err: ${err instanceof Error ? err.message : String(err)}`,
        ); // parity:
      }
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, maxMs);
  }
}
