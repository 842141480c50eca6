import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, TemplateParseError } from './parse.js';

function parseError(text: string): string {
  try {
    parseTemplate(text);
  } catch (e) {
    assert.ok(e instanceof TemplateParseError, `not a TemplateParseError: ${String(e)}`);
    return e.message;
  }
  assert.fail('expected a parse error');
}

test('reports a JSON syntax error with line, column, offset and excerpt', () => {
  const msg = parseError('{\n  "builders": [\n    {"type": "null",}\n  ]\n}');
  assert.equal(
    msg,
    "Failed to parse template: Error parsing JSON: invalid character '}' looking for beginning of object key string\n" +
      'At line 3, column 22 (offset 39):\n' +
      '    2:   "builders": [\n' +
      '    3:     {"type": "null",}\n' +
      '                           ^\n',
  );
});

test('puts the caret one column left on line 1 and reports end of input', () => {
  assert.equal(
    parseError('x'),
    "Failed to parse template: Error parsing JSON: invalid character 'x' looking for beginning of value\nAt line 1, column 1 (offset 1):\n    1: x\n      ^\n",
  );
  assert.match(parseError('{"a": '), /unexpected end of JSON input\nAt line 1, column 6 \(offset 6\)/);
});

test('rejects the first duplicate key at any depth', () => {
  assert.equal(
    parseError('{"builders":[{"type":"a","foo":1,"foo":2}],"variables":{}}'),
    'Failed to parse template: template has duplicate field: foo',
  );
});

test('matches root keys case-insensitively and keeps _ comments', () => {
  const t = parseTemplate('{"BUILDERS":[{"type":"null"}],"Description":"d","_c":"hello"}');
  assert.deepEqual([...t.builders.keys()], ['null']);
  assert.equal(t.description, 'd');
  assert.deepEqual(t.comments, { _c: 'hello' });
});

test('lists unknown root keys sorted and fails on a non-string comment', () => {
  assert.equal(
    parseError('{"zz":1,"aa":2,"builders":[]}'),
    "Failed to parse template: 2 errors occurred:\n\t* Unknown root level key in template: 'aa'\n\t* Unknown root level key in template: 'zz'\n\n",
  );
  assert.equal(
    parseError('{"_c": 5}'),
    'Failed to parse template: Failed to cast root level comment value in comment "_c" to string.',
  );
});

test('reports root type errors with mapstructure labels, sorted', () => {
  assert.equal(
    parseError('{"provisioners":"x","description":5}'),
    "Failed to parse template: 2 error(s) decoding:\n\n* 'Description' expected type 'string', got unconvertible type 'float64', value: '5'\n* 'Provisioners': source data must be an array or slice, got string",
  );
});

test('collects variable, builder, post-processor and provisioner errors in Packer order', () => {
  const msg = parseError(
    JSON.stringify({
      variables: { v: { a: 1 } },
      builders: [{ type: 'null' }, { type: 'null' }, { name: 'x' }],
      'post-processors': [[[]], 5, [{ name: 'n' }]],
      provisioners: [{ inline: [] }],
    }),
  );
  assert.equal(
    msg,
    'Failed to parse template: 7 errors occurred:\n' +
      "\t* variable v: '' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:1]'\n" +
      "\t* builder 2: builder with name 'null' already exists\n" +
      "\t* builder 3: missing 'type'\n" +
      '\t* post-processor 1.1: sequence not allowed to be nested in a sequence\n' +
      '\t* post-processor 2: bad format\n' +
      '\t* post-processor 3.1: type is required\n' +
      "\t* provisioner 1: Provisioner missing 'type'\n\n",
  );
});

test('weak-decodes provisioner meta: string only, durations, numeric max_retries', () => {
  const t = parseTemplate(
    JSON.stringify({
      builders: [{ type: 'null' }],
      provisioners: [{ type: 'shell', only: 'null', pause_before: '1.5s', timeout: 2e9, max_retries: 5, inline: ['a'] }],
    }),
  );
  const p = t.provisioners[0];
  assert.deepEqual(p.only, ['null']);
  assert.equal(p.pauseBeforeMs, 1500);
  assert.equal(p.timeoutMs, 2000);
  assert.equal(p.maxRetries, '5');
  assert.deepEqual(p.config, { inline: ['a'] });
  assert.deepEqual(p.pos, { line: 1, column: 47 });
});

test('rejects a templated pause_before with the decoding error', () => {
  assert.equal(
    parseError('{"provisioners":[{"type":"x","pause_before":"{{user `p`}}"}]}'),
    'Failed to parse template: 1 error occurred:\n\t* provisioner 1: Error decoding provisioner: 1 error(s) decoding:\n\n* error decoding \'pause_before\': time: invalid duration "{{user `p`}}"\n\n',
  );
});

test('decodes post-processors strictly: string only and string keep_input_artifact fail', () => {
  assert.equal(
    parseError('{"post-processors":[{"type":"x","only":"a","keep_input_artifact":"true"}]}'),
    "Failed to parse template: 1 error occurred:\n\t* post-processor 1.1: 2 error(s) decoding:\n\n* 'Only': source data must be an array or slice, got string\n* 'keep_input_artifact' expected type 'bool', got unconvertible type 'string', value: 'true'\n\n",
  );
});

test('builds chains from strings, objects and arrays; name defaults to type', () => {
  const t = parseTemplate(
    '{"builders":[{"type":"null"}],"post-processors":["compress",{"type":"manifest","name":"m","keep_input_artifact":false,"output":"o"},["a",{"type":"b"}]]}',
  );
  assert.deepEqual(
    t.postProcessors.map((c) => c.map((p) => `${p.name}:${p.type}`)),
    [['compress:compress'], ['m:manifest'], ['a:a', 'b:b']],
  );
  assert.equal(t.postProcessors[1][0].keepInputArtifact, false);
  assert.deepEqual(t.postProcessors[1][0].config, { output: 'o' });
  assert.equal(t.postProcessors[0][0].keepInputArtifact, undefined);
});

test('keeps builder name/type out of the config and records required variables', () => {
  const t = parseTemplate('{"variables":{"a":null,"b":"x"},"builders":[{"type":"null","name":"n","TYPE":"y"}]}');
  assert.deepEqual(t.builders.get('n')?.config, { TYPE: 'y' });
  assert.deepEqual(t.variables.get('a'), { key: 'a', default: '', required: true });
  assert.deepEqual(t.variables.get('b'), { key: 'b', default: 'x', required: false });
});

test('reports number overflow without a position, as Go does', () => {
  assert.equal(parseError('{"a": 1e999}'), 'Failed to parse template: json: cannot unmarshal number 1e999 into Go value of type float64');
});

test('a non-object document is a mapstructure error', () => {
  assert.equal(parseError('[1]'), "Failed to parse template: '' expected a map, got 'slice'");
});
