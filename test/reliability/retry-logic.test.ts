/** The classification and retry helpers of src/builders/amazon/common/retry.ts, as unit tests of logic. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  alreadyGone,
  attemptsOf,
  eventually,
  isTransient,
  lookUp,
  mayHaveHappened,
  sdkRetryOptions,
} from '../../src/builders/amazon/common/retry.js';
import { MAX_FAILED_POLLS, poll } from '../../src/builders/amazon/common/waiters.js';

/** An error shaped like the SDK's service errors (code, HTTP status, attempts made). */
function sdkError(code: string, status: number | undefined, attempts = 1): Error {
  const e = new Error(code) as Error & { Code?: string; $metadata: Record<string, number | undefined> };
  e.name = code;
  e.Code = code;
  e.$metadata = { httpStatusCode: status, attempts };
  return e;
}

describe('amazon retry classification', () => {
  it('the SDK budget is max_retries + 1 attempts in adaptive mode', () => {
    assert.deepEqual(sdkRetryOptions(10), { maxAttempts: 11, retryMode: 'adaptive' });
    assert.deepEqual(sdkRetryOptions(0), { maxAttempts: 1, retryMode: 'adaptive' });
  });

  it('throttling, 5xx and network errors are transient; a 400 is not', () => {
    assert.equal(isTransient(sdkError('RequestLimitExceeded', 503)), true);
    assert.equal(isTransient(sdkError('Throttling', 400)), true);
    assert.equal(isTransient(sdkError('InternalError', 500)), true);
    assert.equal(isTransient(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), true);
    assert.equal(isTransient(sdkError('InvalidParameterValue', 400)), false);
  });

  it('a request may have happened when no answer came, on a 5xx, or after more than one attempt', () => {
    assert.equal(mayHaveHappened(new Error('socket hang up')), true);
    assert.equal(mayHaveHappened(sdkError('InternalError', 500)), true);
    assert.equal(mayHaveHappened(sdkError('InvalidKeyPair.Duplicate', 400, 2)), true);
    assert.equal(mayHaveHappened(sdkError('InvalidKeyPair.Duplicate', 400, 1)), false);
    assert.equal(mayHaveHappened(sdkError('RequestLimitExceeded', 503, 1)), true);
    assert.equal(attemptsOf(sdkError('X', 400, 3)), 3);
    assert.equal(attemptsOf(new Error('plain')), 1);
  });

  it('NotFound answers to a delete mean gone already', () => {
    assert.equal(alreadyGone(sdkError('InvalidGroup.NotFound', 400)), true);
    assert.equal(alreadyGone(sdkError('InvalidAMIID.Unavailable', 400)), true);
    assert.equal(alreadyGone(sdkError('DependencyViolation', 400)), false);
    assert.equal(alreadyGone(new Error('InvalidGroup.NotFound')), false, 'only service answers count');
  });
});

describe('amazon eventual-consistency retries', () => {
  it('eventually retries the named NotFound codes, then succeeds', async () => {
    let calls = 0;
    const out = await eventually(async () => {
      calls++;
      if (calls < 3) throw sdkError('InvalidAMIID.NotFound', 400);
      return 'tagged';
    });
    assert.equal(out, 'tagged');
    assert.equal(calls, 3);
  });

  it('eventually does not retry other errors, and gives up after its tries', async () => {
    let calls = 0;
    await assert.rejects(
      eventually(async () => {
        calls++;
        throw sdkError('UnauthorizedOperation', 403);
      }),
      /UnauthorizedOperation/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      eventually(
        async () => {
          calls++;
          throw sdkError('InvalidAMIID.NotFound', 400);
        },
        ['InvalidAMIID.NotFound'],
        undefined,
        2,
      ),
      /NotFound/,
    );
    assert.equal(calls, 2);
  });

  it('lookUp tries again while nothing is found (errors count as not found)', async () => {
    let calls = 0;
    const id = await lookUp(async () => {
      calls++;
      if (calls === 1) throw sdkError('InternalError', 500);
      return calls < 3 ? '' : 'sg-1';
    });
    assert.equal(id, 'sg-1');
    assert.equal(calls, 3);
    let none = 0;
    assert.equal(
      await lookUp(async () => {
        none++;
        return '';
      }, 2),
      '',
    );
    assert.equal(none, 2);
  });
});

describe('amazon waits against a failing API', () => {
  it('a wait gives up after MAX_FAILED_POLLS transient failures in a row, with the last error', async () => {
    let calls = 0;
    await assert.rejects(
      poll(
        async () => {
          calls++;
          throw sdkError('RequestLimitExceeded', 503, 11);
        },
        () => 'retry',
        { delayMs: 1, attempts: 40 },
      ),
      /RequestLimitExceeded/,
    );
    assert.equal(calls, MAX_FAILED_POLLS);
  });

  it('NotFound (eventual consistency) and isolated failures keep the wait going', async () => {
    let calls = 0;
    const out = await poll(
      async () => {
        calls++;
        if (calls <= 5) throw sdkError('InvalidInstanceID.NotFound', 400);
        if (calls === 6 || calls === 7) throw sdkError('InternalError', 500);
        return calls;
      },
      (n) => (n >= 9 ? 'success' : 'retry'),
      { delayMs: 1, attempts: 40 },
    );
    assert.equal(out, 9);
  });
});
