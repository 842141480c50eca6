import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { parseTemplate } from './parse.js';
import { readVarFiles, renderVariables, requiredVariableErrors } from './variables.js';

const base = { initTime: new Date(0), env: { E: 'from-env' } };

async function varFileError(content: string | undefined): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-vars-'));
  const p = join(dir, 'v.json');
  if (content !== undefined) writeFileSync(p, content);
  try {
    await readVarFiles([p]);
  } catch (e) {
    assert.ok(e instanceof UserError);
    return e.message.replaceAll(p, 'v.json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.fail('expected an error');
}

test('var files: later files win; null gives an empty string; trailing text is ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-vars-'));
  try {
    writeFileSync(join(dir, 'a.json'), '{"a":"1","b":"1","n":null}');
    writeFileSync(join(dir, 'b.json'), '{"b":"2"} trailing');
    assert.deepEqual(await readVarFiles([join(dir, 'a.json'), join(dir, 'b.json')]), { a: '1', b: '2', n: '' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("var files: Go's error texts", async () => {
  assert.equal(await varFileError(undefined), 'open v.json: no such file or directory');
  assert.equal(await varFileError('{"a": 1}'), "Error reading variables in 'v.json': json: cannot unmarshal number into Go value of type string");
  assert.equal(await varFileError('[1]'), "Error reading variables in 'v.json': json: cannot unmarshal array into Go value of type kvflag.FlagJSON");
  assert.equal(await varFileError(''), "Error reading variables in 'v.json': EOF");
  assert.equal(await varFileError('{"a":'), "Error reading variables in 'v.json': unexpected EOF");
  assert.equal(await varFileError('x'), "Error reading variables in 'v.json': invalid character 'x' looking for beginning of value");
});

test('required variables are satisfied by CLI values only', () => {
  const t = parseTemplate('{"variables":{"r":null,"s":null,"o":"x"}}');
  assert.deepEqual(requiredVariableErrors(t, { s: '' }), ['required variable not set: r']);
});

test('env works in variables; a syntax error names the variable', () => {
  const t = parseTemplate('{"variables":{"h":"{{env `E`}}"}}');
  assert.equal(renderVariables(t, {}, base).h, 'from-env');
  const bad = parseTemplate('{"variables":{"b":"{{"}}');
  assert.throws(() => renderVariables(bad, {}, base), /^UserError: error interpolating default value for 'b': template: root:1: /);
});

test('an unresolvable reference is dropped when another reference resolves (Packer quirk)', () => {
  const t = parseTemplate('{"variables":{"a":"{{user `nope`}}","b":"x","c":"{{user `b`}}"}}');
  const vars = renderVariables(t, {}, base);
  assert.equal(vars.c, 'x');
  assert.equal(vars.a, undefined);
});
