import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type InterpolateContext,
  InterpolateError,
  render,
  renderFixedPoint,
  validateTemplate,
} from './index.js';

/** mulberry32: a small deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pieces = [
  '{{',
  '}}',
  '{{- ',
  ' -}}',
  '{{/*',
  '*/}}',
  ' ',
  ' ',
  '\n',
  '\t',
  '"',
  '`',
  "'",
  '(',
  ')',
  '|',
  ',',
  '=',
  ':=',
  ':',
  '$',
  '$x',
  '$y',
  '.',
  '.A',
  '.L',
  '.M',
  '.N',
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
  'nil',
  'true',
  'false',
  '0',
  '1',
  '-1',
  '0x1F',
  '1.5',
  '1e3',
  '1i',
  "'a'",
  '"a"',
  '`b`',
  '"%d"',
  '"%s %v"',
  '"{{"',
  'print',
  'printf',
  'println',
  'len',
  'index',
  'slice',
  'eq',
  'ne',
  'lt',
  'ge',
  'and',
  'or',
  'not',
  'call',
  'html',
  'js',
  'urlquery',
  'upper',
  'lower',
  'split',
  'replace',
  'user',
  'env',
  'isotime',
  'strftime',
  'timestamp',
  'build',
  'build_name',
  'sed',
  'nosuch',
  'x',
  '\\',
  'é',
  '#',
  '}',
  '{',
  '-',
  '%',
  '_2',
  '"\\x"',
];

const ctx: InterpolateContext = {
  initTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  userVariables: { a: 'b' },
  data: { A: 'a', L: ['x', 1, null], M: { k: 'v' }, N: null },
};

describe('fuzz: the engine only ever throws InterpolateError', () => {
  it('survives 4000 random templates (seed 20261128)', () => {
    const rnd = prng(20261128);
    let errors = 0;
    for (let n = 0; n < 4000; n++) {
      const len = 1 + Math.floor(rnd() * 14);
      let tpl = rnd() < 0.8 ? '{{' : '';
      for (let i = 0; i < len; i++) tpl += pieces[Math.floor(rnd() * pieces.length)];
      if (rnd() < 0.7) tpl += '}}';
      for (const fn of [
        () => render(tpl, ctx),
        () => renderFixedPoint(tpl, ctx),
        () => (validateTemplate(tpl), ''),
      ]) {
        try {
          assert.equal(typeof fn(), 'string');
        } catch (e) {
          if (!(e instanceof InterpolateError)) assert.fail(`${JSON.stringify(tpl)} threw ${String(e)}`);
          assert.match(e.message, /^template: /, JSON.stringify(tpl));
          assert.doesNotMatch(e.message, /internal error/, JSON.stringify(tpl));
          errors++;
        }
      }
    }
    assert.ok(errors > 1000 && errors < 11000, `a healthy mix of successes and errors (${errors} errors)`);
  });
});
