import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FIXERS, FixError, fixTemplate, formatFixedJson } from './index.js';

// Fixtures: `<name>.input.json` with the real `packer fix -validate=false` stdout (Packer 1.6.6,
// Debian) in `<name>.golden` (the JSON and a blank line) or `<name>.error` (the error line).
const dir = fileURLToPath(new URL('../../../src/fix/testdata/', import.meta.url));
const inputs = readdirSync(dir).filter((f) => f.endsWith('.input.json'));

test('the fixture corpus is present', () => {
  assert.ok(inputs.length >= 60, `only ${inputs.length} fixtures`);
});

for (const file of inputs) {
  const name = file.slice(0, -'.input.json'.length);
  const files = readdirSync(dir);
  test(`packer fix parity: ${name}`, () => {
    const input: unknown = JSON.parse(readFileSync(dir + file, 'utf8'));
    if (files.includes(`${name}.golden`)) {
      assert.equal(`${formatFixedJson(fixTemplate(input))}\n\n`, readFileSync(`${dir}${name}.golden`, 'utf8'));
    } else {
      const want = readFileSync(`${dir}${name}.error`, 'utf8').replace(/\n$/, '');
      assert.throws(() => fixTemplate(input), (err: unknown) => err instanceof FixError && err.message === want);
    }
  });
}

test('34 fixers in Packer order', () => {
  assert.equal(FIXERS.length, 34);
  assert.deepEqual(
    FIXERS.slice(0, 4).map((f) => f.name),
    ['iso-md5', 'createtime', 'virtualbox-gaattach', 'pp-vagrant-override'],
  );
  assert.equal(FIXERS[33].name, 'proxmox-type');
  assert.equal(FIXERS[28].synopsis, 'Replaces "ssh_wait_timeout" with "ssh_timeout"');
});

test('the input is not modified', () => {
  const input = { builders: [{ type: 'x', ssh_key_path: 'k' }] };
  const out = fixTemplate(input) as { builders: Array<Record<string, unknown>> };
  assert.deepEqual(input, { builders: [{ type: 'x', ssh_key_path: 'k' }] });
  assert.deepEqual(out.builders[0], { type: 'x', ssh_private_key_file: 'k' });
});

test('non-object templates fail like Packer’s parser, null with kiln’s own message', () => {
  assert.throws(() => fixTemplate([1]), {
    message: 'Error parsing template: json: cannot unmarshal array into Go value of type map[string]interface {}',
  });
  assert.throws(() => fixTemplate(null), { message: 'Cannot fix the template: its JSON is null, not an object' });
});

test('shapes Packer panics on are handled', () => {
  const out = fixTemplate({
    builders: [{ login_email: 'e' }, { type: 'vsphere-iso', network: 'n', network_adapters: 5 }],
    'post-processors': [{ type: 'docker-tag', tag: 't', tags: [1, 'b'] }],
  }) as Record<string, unknown>;
  assert.deepEqual(out.builders, [{}, { type: 'vsphere-iso', network_adapters: [{ network: 'n' }] }]);
  assert.deepEqual(out['post-processors'], [{ type: 'docker-tag', tags: ['t', 'b'] }]);
  assert.throws(() => fixTemplate({ builders: [{ type: 'amazon-ebs', ssh_private_ip: 5 }] }), FixError);
});

test('formatFixedJson escapes like Go', () => {
  assert.equal(formatFixedJson({ b: '<&>\b\f\u2028', a: [] }), '{\n  "a": [],\n  "b": "<\\u0026>\\u0008\\u000c\\u2028"\n}');
  assert.equal(formatFixedJson({ n: [1e-7, 1e21, -0, 0.5] }), '{\n  "n": [\n    1e-7,\n    1e+21,\n    -0,\n    0.5\n  ]\n}');
});

test('formatFixedJson turns \\u003c/\\u003e back into < and > over the whole text, as packer fix does', () => {
  // Go escapes a literal backslash first, so the text `\u003c` in a value comes out as `\<`.
  assert.equal(formatFixedJson({ s: '<a>', t: '\\u003c' }), '{\n  "s": "<a>",\n  "t": "\\<"\n}');
});
