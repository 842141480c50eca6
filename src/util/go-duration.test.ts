import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, formatGoDurationNs, parseGoDuration, parseGoDurationNs } from './go-duration.js';

test('parses Go durations into milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['300ms', 300],
    ['-2s', -2000],
    ['+3s', 3000],
    ['0', 0],
    ['-0', 0],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1ns', 0.000001],
    ['.5h', 1_800_000],
    ['1.h', 3_600_000],
    ['2h45m30.5s', 9_930_500],
    ['0s', 0],
  ];
  for (const [s, ms] of cases) assert.equal(parseGoDuration(s), ms, s);
});

test('keeps exact nanoseconds', () => {
  assert.equal(parseGoDurationNs('1.000000001s'), 1_000_000_001n);
  assert.equal(parseGoDurationNs('2562047h47m16.854775807s'), (1n << 63n) - 1n);
});

test('rejects bad durations with Go error texts', () => {
  const cases: Array<[string, string]> = [
    ['x', 'time: invalid duration "x"'],
    ['', 'time: invalid duration ""'],
    ['5', 'time: missing unit in duration "5"'],
    ['08', 'time: missing unit in duration "08"'],
    ['5q', 'time: unknown unit "q" in duration "5q"'],
    ['1m5', 'time: missing unit in duration "1m5"'],
    ['.s', 'time: invalid duration ".s"'],
    ['-', 'time: invalid duration "-"'],
    ['1 s', 'time: unknown unit " s" in duration "1 s"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
    ['"x', 'time: invalid duration "\\"x"'],
    ['5é', 'time: unknown unit "\\xc3\\xa9" in duration "5\\xc3\\xa9"'],
  ];
  for (const [s, msg] of cases) assert.throws(() => parseGoDuration(s), { message: msg }, s);
});

test('formats like Go Duration.String()', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [300_000, '5m0s'],
    [5_400_000, '1h30m0s'],
    [300, '300ms'],
    [1500, '1.5s'],
    [0.001, '1µs'],
    [0.0015, '1.5µs'],
    [1.5, '1.5ms'],
    [-2000, '-2s'],
    [90_061_000, '25h1m1s'],
    [10 * 60_000, '10m0s'],
    [0.000001, '1ns'],
  ];
  for (const [ms, s] of cases) assert.equal(formatGoDuration(ms), s, String(ms));
  assert.equal(formatGoDurationNs((1n << 63n) - 1n), '2562047h47m16.854775807s');
});
