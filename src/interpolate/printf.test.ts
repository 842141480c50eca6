import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goQuote, sprint, sprintf, sprintln } from './printf.js';
import { GoFloat, GoUint } from './value.js';

const f = (v: number): GoFloat => new GoFloat(v);

describe('sprintf (Go fmt subset)', () => {
  const cases: [string, unknown[], string][] = [
    ['%d|%5d|%-5d|%05d|%+d|% d', [42, 42, 42, -42, 5, 7], '42|   42|42   |-0042|+5| 7'],
    ['%x|%X|%o|%O|%b|%#x|%#o', [255, 255, 8, 8, 5, 255, 8], 'ff|FF|10|0o10|101|0xff|010'],
    ['%c|%q|%U|%#U', [233, 97, 233, 233], "é|'a'|U+00E9|U+00E9 'é'"],
    [
      '%s|%q|%x|% x|%X|%10s|%-4s|%.2s',
      ['héllo', 'a"b', 'hi', 'hi', 'hi', 'r', 'l', 'abc'],
      'héllo|"a\\"b"|6869|68 69|6869|         r|l   |ab',
    ],
    ['%v|%v|%v|%v|%v', [f(1), f(1e6), f(1e5), f(1e-5), f(1e21)], '1|1e+06|100000|1e-05|1e+21'],
    [
      '%f|%.2f|%8.3f|%e|%E|%g|%G|%.3g',
      [f(3.5), f(3.14159), f(-3.14159), f(1234.5678), f(1e-10), f(0.000012), f(1e-10), f(1234.5678)],
      '3.500000|3.14|  -3.142|1.234568e+03|1.000000E-10|1.2e-05|1E-10|1.23e+03',
    ],
    ['%x|%X', [f(3.5), f(1)], '0x1.cp+01|0X1P+00'],
    ['%t|%v|%5t', [true, false, true], 'true|false| true'],
    [
      '%T|%T|%T|%T|%T|%T',
      [1, f(1), 'a', true, [1], { a: 1 }],
      'int|float64|string|bool|[]interface {}|map[string]interface {}',
    ],
    ['%v|%v|%d', [[1, 'a'], { b: 2, a: [1] }, [1, 2]], '[1 a]|map[a:[1] b:2]|[1 2]'],
    ['%d %s', ['x', 5], '%!d(string=x) %!s(int=5)'],
    ['%d', [], '%!d(MISSING)'],
    ['%d', [1, 'a', null], '1%!(EXTRA string=a, <nil>)'],
    ['%!', [], '%!!(MISSING)'],
    ['%', [], '%!(NOVERB)'],
    ['%z', [1], '%!z(int=1)'],
    ['%s|%v|%d', [null, null, null], '%!s(<nil>)|<nil>|%!d(<nil>)'],
    ['%*d|%-*d|%.*f', [5, 1, 4, 2, 1, f(2.25)], '    1|2   |2.2'],
    ['%%|%5%', [], '%|%'],
    ['%d', [new GoUint(98)], '98'],
    [
      '%+v|%#v|%#v|%#v|%#v',
      [5, 's', 5, f(1.5), ['a', null]],
      '5|"s"|5|1.5|[]interface {}{"a", interface {}(nil)}',
    ],
    ['%.0f %.0f %.0f %.1f', [f(0.5), f(1.5), f(2.5), f(0.05)], '0 2 2 0.1'],
    ['%v|%.1f', [f(-0), f(Number.POSITIVE_INFINITY)], '-0|+Inf'],
  ];
  for (const [format, args, want] of cases) {
    it(`${format} ${JSON.stringify(args)}`, () => assert.equal(sprintf(format, args), want));
  }
});

describe('sprint / sprintln / goQuote', () => {
  it('adds spaces only between non-string operands', () => {
    assert.equal(sprint([1, 2, 'a', 'b', 3, null]), '1 2ab3 <nil>');
    assert.equal(sprint(['a', 1, 'b']), 'a1b');
  });
  it('sprintln always separates and ends with a newline', () => assert.equal(sprintln([1, 'a']), '1 a\n'));
  it('quotes like strconv.Quote', () => {
    assert.equal(goQuote('a\n\t"\\\u0001é\u2028'), '"a\\n\\t\\"\\\\\\x01é\\u2028"');
    assert.equal(goQuote('é', true), '"\\u00e9"');
  });
});
