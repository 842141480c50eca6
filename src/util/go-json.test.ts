import assert from 'node:assert/strict';
import { test } from 'node:test';

import { goJsonNumber, goJsonString, goMarshalIndent } from './go-json.js';

test('goJsonString escapes as Go encoding/json does (HTML-safe)', () => {
  assert.equal(goJsonString('a<b>&c'), '"a\\u003cb\\u003e\\u0026c"');
  assert.equal(goJsonString('"\\\n\r\t\b\f\u0001\u001f'), '"\\"\\\\\\n\\r\\t\\u0008\\u000c\\u0001\\u001f"');
  assert.equal(goJsonString('\u2028\u2029é\u{1f600}'), '"\\u2028\\u2029é\u{1f600}"');
  assert.equal(goJsonString('x\ud800y'), '"x\ufffdy"', 'a lone surrogate is invalid UTF-8 to Go');
});

test('goJsonNumber writes exponents only outside [1e-6, 1e21)', () => {
  assert.deepEqual([1e-7, 1e21, -0, 0.5, 1e-6, 123456789].map(goJsonNumber), [
    '1e-7',
    '1e+21',
    '-0',
    '0.5',
    '0.000001',
    '123456789',
  ]);
  assert.throws(() => goJsonNumber(Number.NaN), /unsupported value: NaN/);
});

test('goMarshalIndent keeps struct order and omits undefined, or sorts like a Go map', () => {
  const v = { b: 1, a: [true, null], c: undefined, d: {} };
  assert.equal(goMarshalIndent(v), '{\n  "b": 1,\n  "a": [\n    true,\n    null\n  ],\n  "d": {}\n}');
  assert.equal(
    goMarshalIndent(v, { sortKeys: true }),
    '{\n  "a": [\n    true,\n    null\n  ],\n  "b": 1,\n  "c": null,\n  "d": {}\n}',
  );
});
