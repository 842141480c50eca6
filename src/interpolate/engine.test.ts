import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FUZZ_CORE } from './golden-fuzz.test-data.js';
import { CORE, VARIABLES, type Golden } from './golden.test-data.js';
import {
  type InterpolateContext,
  InterpolateError,
  render,
  renderFixedPoint,
  validateTemplate,
} from './index.js';

const initTime = new Date(Date.UTC(2026, 10, 24, 1, 24, 19, 996));
const core: InterpolateContext = { initTime, userVariables: {} };

function outcome(fn: () => string): [string | null, string | null] {
  try {
    return [fn(), null];
  } catch (e) {
    assert.ok(e instanceof InterpolateError, `not an InterpolateError: ${String(e)}`);
    return [null, e.message];
  }
}

function runGolden(cases: Golden[], fn: (t: string) => string): void {
  for (const [tpl, out, err] of cases) {
    it(JSON.stringify(tpl), () => {
      assert.deepEqual(
        outcome(() => fn(tpl)),
        [out, err],
      );
    });
  }
}

describe('golden cases from packer 1.6.6: console (fixed point, core context)', () => {
  runGolden(CORE, (t) => renderFixedPoint(t, core));
});

describe('differential corpus from packer 1.6.6: random templates in the console', () => {
  runGolden(FUZZ_CORE, (t) => renderFixedPoint(t, core));
});

describe('golden cases from packer 1.6.6: variables section (single pass, env allowed)', () => {
  const ctx: InterpolateContext = {
    initTime,
    userVariables: {},
    variablesSection: true,
    env: { HOME: '/root' },
  };
  runGolden(VARIABLES, (t) => render(t, ctx));
});

const cases: [string, Record<string, unknown> | null, string | null, string | null][] = [
  // [template, data, output, error]
  ['plain text', null, 'plain text', null],
  ['{{.Name}}-{{.Missing}}', { Name: 'n' }, 'n-<no value>', null],
  ['{{.Port}} {{.Auth}} {{.F}}', { Port: 22, Auth: true, F: 1.5 }, '22 true 1.5', null],
  ['{{.M.K}} {{.M.Missing}} {{.M}}', { M: { K: 'v', A: 1 } }, 'v <no value> map[A:1 K:v]', null],
  ['{{range .L}}[{{.}}]{{end}}', { L: ['a', 'b'] }, '[a][b]', null],
  ['{{range $i, $v := .L}}{{$i}}={{$v}} {{end}}', { L: ['a', 'b'] }, '0=a 1=b ', null],
  ['{{range $k, $v := .M}}{{$k}}:{{$v}},{{end}}', { M: { b: 2, a: 1, C: 3 } }, 'C:3,a:1,b:2,', null],
  ['{{range .E}}x{{else}}empty{{end}}', { E: [] }, 'empty', null],
  ['{{range .L}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', { L: ['a', 'b', 'c'] }, 'a', null],
  ['{{range .L}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', { L: ['a', 'b', 'c'] }, 'ac', null],
  ['{{with .M}}{{.K}}{{end}}', { M: { K: 'v' } }, 'v', null],
  ['{{$.Name}}{{range .L}}{{$.Name}}{{end}}', { Name: 'n', L: [1, 2] }, 'nnn', null],
  [
    '{{index .M "K"}} {{index .L 1}} {{index .M "nope"}}',
    { M: { K: 'v' }, L: ['a', 'b'] },
    'v b <no value>',
    null,
  ],
  ['{{len .L}} {{len .M}}', { L: [1, 2, 3], M: { a: 1 } }, '3 1', null],
  ['{{slice .L 1}}', { L: [1, 2, 3] }, '[2 3]', null],
  ['{{call .F "x"}}', { F: (s: unknown) => `called ${String(s)}` }, 'called x', null],
  [
    '{{.S.X}}',
    { S: 'str' },
    null,
    'template: root:1:4: executing "root" at <.S.X>: can\'t evaluate field X in type interface {}',
  ],
  [
    '{{$s := "a"}}{{$s.X}}',
    {},
    null,
    'template: root:1:17: executing "root" at <$s.X>: can\'t evaluate field X in type string',
  ],
  [
    '{{.N.X}}',
    { N: null },
    null,
    'template: root:1:4: executing "root" at <.N.X>: nil pointer evaluating interface {}.X',
  ],
  [
    '{{"x" | .Name}}',
    { Name: 'n' },
    null,
    'template: root:1:8: executing "root" at <.Name>: Name is not a method but has arguments',
  ],
  [
    '{{upper .Missing}}',
    {},
    null,
    'template: root:1:8: executing "root" at <.Missing>: invalid value; expected string',
  ],
  [
    '{{upper .Port}}',
    { Port: 22 },
    null,
    'template: root:1:8: executing "root" at <.Port>: wrong type for value; expected string; got int',
  ],
  [
    '{{eq .L .L}}',
    { L: [1] },
    null,
    'template: root:1:2: executing "root" at <eq .L .L>: error calling eq: uncomparable type []interface {}: [1]',
  ],
  ['{{eq .Missing "x"}} {{eq .Missing nil}}', {}, 'false true', null],
  // recorded from a shell-local `inline` line prepared by packer 1.6.6 with its placeholder map
  ['{{index . "ID"}}|{{index . "Nope"}}|{{print (index . "Nope")}}', { ID: 'i' }, 'i|<no value>|<nil>', null],
  ['{{range $k, $v := .}}{{$k}},{{end}}{{len .}}', { b: 1, a: 2 }, 'a,b,2', null],
  ['{{.ID | printf "%q"}}{{range .}}{{.}}{{break}}{{end}}', { ID: 'i', A: 'a' }, '"i"a', null],
  // trim markers
  ['a  {{- "b" -}}  c', null, 'abc', null],
  ['a\n\t{{- /* comment */ -}}\n\tb', null, 'ab', null],
  ['{{- "x" }} {{"y" -}} ', null, 'x y', null],
  ['a {{-3}}', null, 'a -3', null],
  // variables and scope
  ['{{$x := 1}}{{if true}}{{$x = 2}}{{$y := 3}}{{$y}}{{end}}{{$x}}', null, '32', null],
  ['{{if false}}a{{else if true}}b{{else}}c{{end}}', null, 'b', null],
  ['{{block "b" "v"}}<{{.}}>{{end}}', null, '<v>', null],
  ['{{define "t"}}({{.}}){{end}}{{template "t" "x"}}{{template "t" 1}}', null, '(x)(1)', null],
  [
    '{{define "r"}}{{template "r"}}{{end}}{{template "r"}}',
    null,
    null,
    'template: root:1:25: executing "r" at <{{template "r"}}>: exceeded maximum template depth (100000)',
  ],
  // pipelines
  ['{{ "a-b" | printf "%s!" | upper }}', null, 'A-B!', null],
  ['{{ 1 | printf "%d %d" 2 }}', null, '2 1', null],
  ['{{printf "%s" (printf "%d" 5)}}', null, '5', null],
  ['{{and 1 (print "ok")}} {{or 0 ""}} {{and .Missing 1}}', {}, 'ok  <no value>', null],
  ['{{not 0}} {{not "x"}}', null, 'true false', null],
];

describe('engine constructs with data', () => {
  for (const [tpl, data, out, err] of cases) {
    it(JSON.stringify(tpl), () => {
      assert.deepEqual(
        outcome(() => render(tpl, { ...core, data })),
        [out, err],
      );
    });
  }
});

describe('render modes', () => {
  it('returns text without {{ unchanged (fast path)', () => {
    const s = 'no actions } { here';
    assert.equal(render(s, core), s);
    assert.equal(renderFixedPoint(s, core), s);
  });
  it('fixed point renders again until stable; {{"{{"}} fails on the second pass', () => {
    assert.equal(render('{{"{{"}}', core), '{{');
    assert.throws(() => renderFixedPoint('{{"{{"}}', core), {
      kind: 'parse',
      message: 'template: root:1: unclosed action',
    });
    assert.equal(renderFixedPoint('{{"{{\\"x\\"}}"}}', core), 'x');
    assert.equal(render('{{"{{\\"x\\"}}"}}', core), '{{"x"}}');
  });
  it('validateTemplate parses without executing', () => {
    validateTemplate('{{env `HOME`}} {{build_name}}');
    validateTemplate('no actions');
    assert.throws(() => validateTemplate('{{user `x`}'), {
      kind: 'parse',
      message: 'template: root:1: unexpected "}" in operand',
    });
    assert.throws(() => validateTemplate('{{nosuch}}'), {
      kind: 'parse',
      message: 'template: root:1: function "nosuch" not defined',
    });
    assert.throws(() => validateTemplate('{{clean_resource_name "a"}}'), { kind: 'parse' });
    validateTemplate('{{clean_resource_name "a"}}', { extraFuncs: { clean_resource_name: (s) => s } });
  });
  it('error kinds: parse vs exec', () => {
    assert.throws(() => render('{{if}}', core), { name: 'InterpolateError', kind: 'parse' });
    assert.throws(() => render('{{env `HOME`}}', core), {
      kind: 'exec',
      message:
        'template: root:1:2: executing "root" at <env `HOME`>: error calling env: env vars are not allowed here',
    });
  });
  it('columns are byte offsets on the error line, lines count newlines', () => {
    assert.throws(() => render('é\n  xé {{ 0 | upper }}', core), {
      message:
        'template: root:2:13: executing "root" at <upper>: wrong type for value; expected string; got int',
    });
    assert.throws(() => render('a\n{{foo\n\n', core), {
      message: 'template: root:2: function "foo" not defined',
    });
    assert.throws(() => render('a\n{{print\n\n', core), {
      message: 'template: root:4: unclosed action started at root:2',
    });
  });
});
