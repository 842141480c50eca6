/**
 * How an amazon build survives a flaky EC2 API (issue #6 part 3).
 *
 * Two layers:
 *   1. The SDK retries every call on throttling codes (RequestLimitExceeded, Throttling, …), HTTP
 *      500/502/503/504 and network errors, up to `max_retries` retries, in "adaptive" mode: after a
 *      throttling answer the client also slows its own request rate down (client-side rate
 *      limiting), so a throttled build backs off as a whole instead of retrying each call hard.
 *   2. The steps handle what a retry alone gets wrong:
 *      - eventual consistency: right after a create, EC2 may still answer `*.NotFound` for the new
 *        resource; `eventually` retries those codes for a short while;
 *      - lost answers: a create that EC2 did but whose answer never arrived (connection dropped,
 *        timeout, 5xx from a front end). The SDK's retry then meets `…Duplicate` (or, with a
 *        ClientToken, gets the same resource again). `mayHaveHappened` tells the steps when to
 *        look the resource up (to adopt it, or at least to clean it up) instead of leaking it.
 *      - cleanup of something already gone (a lost answer to a delete): `alreadyGone`.
 *
 * No SDK import here (types only): `kiln validate` must not load the SDK.
 */
import { sleep } from './waiters.js';
import { debugLog, logEnabled } from '../../../util/log.js';

/** The EC2 client's retry settings: `max_retries` retries after the first try, adaptive mode. */
export function sdkRetryOptions(maxRetries: number): { maxAttempts: number; retryMode: 'adaptive' } {
  // The SDK would read AWS_MAX_ATTEMPTS as its own retry budget; Packer users set that variable
  // for waiters (A.2), so the budget is always explicit: max_retries retries + the first try.
  return { maxAttempts: Math.max(0, maxRetries) + 1, retryMode: 'adaptive' };
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $fault?: 'client' | 'server';
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

/** The AWS error code of a service answer ('' for network and other errors). */
function codeOf(err: unknown): string {
  const e = shape(err);
  if (e.$metadata?.httpStatusCode === undefined) return '';
  return e.Code ?? e.name ?? '';
}

/** How many times the SDK sent the request that ended in `err` (1 when unknown). */
export function attemptsOf(err: unknown): number {
  return shape(err).$metadata?.attempts ?? 1;
}

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
  'TransactionInProgressException',
]);

/** A throttling answer, a 5xx or a network error: something a retry may cure. */
export function isTransient(err: unknown): boolean {
  const e = shape(err);
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return true; // no answer at all: connection reset, timeout, DNS, …
  return status >= 500 || THROTTLING.has(codeOf(err));
}

/**
 * True when the request that failed with `err` may nevertheless have been carried out by EC2: no
 * answer arrived (a dropped connection after EC2 acted looks exactly like one before), a 5xx, or
 * the SDK sent it more than once and an earlier attempt's answer was lost.
 */
export function mayHaveHappened(err: unknown): boolean {
  if (err instanceof Error && err.name === 'AbortError') return true;
  const e = shape(err);
  if (e.$metadata?.httpStatusCode === undefined) return true;
  if (e.$metadata.httpStatusCode >= 500) return true;
  return attemptsOf(err) > 1;
}

/** `*.NotFound` (and the AMI's `InvalidAMIID.Unavailable`): the thing is not (or no longer) there. */
export function isNotFound(err: unknown): boolean {
  const code = codeOf(err);
  return code.endsWith('.NotFound') || code === 'InvalidAMIID.Unavailable';
}

/** A delete answered "not found": gone already (an earlier attempt's answer was lost, or someone else removed it). */
export function alreadyGone(err: unknown): boolean {
  return isNotFound(err);
}

/** The NotFound codes EC2 answers for a resource created moments ago (eventual consistency). */
export const NOT_YET_VISIBLE = [
  'InvalidInstanceID.NotFound',
  'InvalidAMIID.NotFound',
  'InvalidSnapshot.NotFound',
  'InvalidVolume.NotFound',
  'InvalidKeyPair.NotFound',
  'InvalidGroup.NotFound',
  'InvalidSecurityGroupID.NotFound',
];

/**
 * Calls `fn` until it succeeds or fails with something other than one of `codes`: for calls that
 * name a resource created moments ago. 8 tries, 250 ms doubling to 4 s (about 15 s in all).
 */
export async function eventually<T>(
  fn: () => Promise<T>,
  codes: string[] = NOT_YET_VISIBLE,
  signal?: AbortSignal,
  tries = 8,
): Promise<T> {
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= tries || signal?.aborted || !codes.includes(codeOf(err))) throw err;
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 4000);
  }
}

/**
 * Looks a resource up with `find` ('' or an error = not seen), a few times: a resource made moments
 * ago may not be listed yet. `tries` 6 (about 6 s) when it surely exists (a Duplicate answer),
 * fewer when it only may.
 */
export async function lookUp(find: () => Promise<string>, tries = 6, signal?: AbortSignal): Promise<string> {
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    const id = await find().catch(() => '');
    if (id !== '' || attempt >= tries || signal?.aborted) return id;
    await sleep(delay, signal).catch(() => undefined);
    delay = Math.min(delay * 2, 2000);
  }
}

/** The slice of an SDK client's middleware stack `logRetries` uses. */
interface MiddlewareClient {
  middlewareStack: {
    addRelativeTo(
      mw: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { relation: 'after'; toMiddleware: string; name: string },
    ): void;
  };
}

/**
 * Logs (PACKER_LOG) every failed attempt of every call, below the SDK's retry loop, so that a log
 * shows each throttle, 5xx or dropped connection the SDK retried, not only the ones that ended a
 * call: `[DEBUG] EC2 RunInstances attempt failed: RequestLimitExceeded (HTTP 503)`.
 */
export function logRetries(client: unknown, service = 'EC2'): void {
  const c = client as MiddlewareClient;
  c.middlewareStack.addRelativeTo(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (logEnabled()) {
          const status = shape(err).$metadata?.httpStatusCode;
          const what =
            status === undefined
              ? `no answer (${(err as { code?: string }).code ?? (err as Error).message})`
              : `${codeOf(err)} (HTTP ${status})`;
          debugLog(
            `[DEBUG] ${service} ${(context.commandName ?? '').replace(/Command$/, '')} attempt failed: ${what}`,
          );
        }
        throw err;
      }
    },
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'kilnRetryLog' },
  );
}
