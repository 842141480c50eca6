import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from './durafmt.js';

const ms = (n: number) => BigInt(Math.round(n * 1e6));

test('keeps the first two non-zero units, as Packer prints them', () => {
  assert.equal(formatDuration(ms(2062)), '2 seconds 62 milliseconds');
  assert.equal(formatDuration(ms(99_000)), '1 minute 39 seconds');
  assert.equal(formatDuration(15_000n), '15 microseconds');
  assert.equal(formatDuration(7_187_000n), '7 milliseconds 187 microseconds');
  assert.equal(formatDuration(54_158_123n), '54 milliseconds 158 microseconds');
});

test('uses singular units for exactly one and skips zero units', () => {
  assert.equal(formatDuration(ms(1000)), '1 second');
  assert.equal(formatDuration(ms(3_600_000 + 1)), '1 hour 1 millisecond');
  assert.equal(formatDuration(ms(8 * 86_400_000)), '1 week 1 day');
  assert.equal(formatDuration(ms(366 * 86_400_000)), '1 year 1 day');
});

test('durations under a microsecond print as the empty string', () => {
  assert.equal(formatDuration(999n), '');
  assert.equal(formatDuration(0), '');
});
