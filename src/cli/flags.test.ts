import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, HelpRequested, parseFlags, type FlagSpec } from './flags.js';

const SPECS: FlagSpec[] = [
  { name: 'syntax-only', kind: 'bool' },
  { name: 'var', kind: 'kv' },
  { name: 'var-file', kind: 'strings' },
  { name: 'only', kind: 'list' },
  { name: 'on-error', kind: 'enum', values: ['cleanup', 'abort'] },
  { name: 'parallel-builds', kind: 'int' },
];

function flagError(args: string[]): string {
  try {
    parseFlags(args, SPECS);
  } catch (e) {
    assert.ok(e instanceof FlagError);
    return e.message;
  }
  assert.fail('expected a flag error');
}

test('accepts -x, --x, -x=v and -x v forms and stops at the first argument', () => {
  const f = parseFlags(['--syntax-only', '-var', 'a=b=c', '-var=k=', '-only=a,b', '--only', 'c', 't.json', '-var', 'x=y'], SPECS);
  assert.equal(f.bools['syntax-only'], true);
  assert.deepEqual(f.kvs.var, [
    ['a', 'b=c'],
    ['k', ''],
  ]);
  assert.deepEqual(f.lists.only, ['a', 'b', 'c']);
  assert.deepEqual(f.args, ['t.json', '-var', 'x=y']);
});

test('booleans take values only with =', () => {
  const f = parseFlags(['-syntax-only=false', 'x'], SPECS);
  assert.equal(f.bools['syntax-only'], false);
  assert.equal(flagError(['-syntax-only=maybe']), 'invalid boolean value "maybe" for -syntax-only: parse error');
});

test("reports Go's errors", () => {
  assert.equal(flagError(['-foo']), 'flag provided but not defined: -foo');
  assert.equal(flagError(['-var', 'novalue']), `invalid value "novalue" for flag -var: No '=' value in arg: novalue`);
  assert.equal(flagError(['-var']), 'flag needs an argument: -var');
  assert.equal(flagError(['---x']), 'bad flag syntax: ---x');
  assert.equal(
    flagError(['-on-error=bogus']),
    'invalid value "bogus" for flag -on-error: expected one of ["cleanup" "abort"]',
  );
  assert.equal(flagError(['-parallel-builds=x']), 'invalid value "x" for flag -parallel-builds: parse error');
});

test('-h and -help request help; -- ends the flags', () => {
  assert.throws(() => parseFlags(['-h'], SPECS), HelpRequested);
  assert.throws(() => parseFlags(['--help'], SPECS), HelpRequested);
  assert.deepEqual(parseFlags(['--', '-foo'], SPECS).args, ['-foo']);
  assert.deepEqual(parseFlags(['-', 'x'], SPECS).args, ['-', 'x']);
});
