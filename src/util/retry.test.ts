import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retry, sleep } from './retry.js';

test('retries until the function succeeds', async () => {
  let calls = 0;
  const v = await retry({ delayMs: 10, startTimeoutMs: 1000 }, async () => {
    if (++calls < 3) throw new Error(`fail ${calls}`);
    return 'ok';
  });
  assert.equal(v, 'ok');
  assert.equal(calls, 3);
});

test('gives up when the start timeout has passed, with the last error', async () => {
  let calls = 0;
  const t0 = Date.now();
  await assert.rejects(
    retry({ delayMs: 40, startTimeoutMs: 150 }, async () => {
      throw new Error(`fail ${++calls}`);
    }),
    (e: Error) => e.message === `fail ${calls}` && calls >= 3,
  );
  assert.ok(Date.now() - t0 < 400);
});

test('stops at once when aborted, and honours tries and shouldRetry', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = Date.now();
  await assert.rejects(
    retry({ delayMs: 10_000, signal: ac.signal }, async () => Promise.reject(new Error('x'))),
    /x/,
  );
  assert.ok(Date.now() - t0 < 1000);
  let n = 0;
  await assert.rejects(
    retry({ delayMs: 1, tries: 2 }, async () => Promise.reject(new Error(`t${++n}`))),
    /t2/,
  );
  await assert.rejects(
    retry({ delayMs: 1, shouldRetry: () => false }, async () => Promise.reject(new Error('once'))),
    /once/,
  );
  assert.equal(await sleep(1), true);
});
