import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flattenEnvVars, goSprintf2 } from './env.js';
import { toUnixLines } from './unix-reader.js';

const base = { buildName: 'null', builderType: 'null', envVarFormat: "%s='%s' " };

test("flattens variables sorted, quoted, with Packer's own first-class keys", () => {
  assert.equal(
    flattenEnvVars({ ...base, environmentVars: ["FOO=it's val", 'BAR=x'] }, {}),
    `BAR='x' FOO='it'"'"'s val' PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='null' `,
  );
});

test('splits at the first = and lets users override PACKER_ keys', () => {
  assert.equal(
    flattenEnvVars({ ...base, environmentVars: ['A==b', 'PACKER_BUILD_NAME=mine'] }, {}),
    `A='=b' PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='mine' `,
  );
});

test('adds PACKER_HTTP_* only when the builder served HTTP', () => {
  assert.equal(
    flattenEnvVars(
      { ...base, environmentVars: [] },
      { PackerHTTPAddr: 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER' },
    ),
    `PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='null' `,
  );
  assert.match(
    flattenEnvVars({ ...base, environmentVars: [] }, { PackerHTTPIP: '10.0.0.1' }),
    /PACKER_HTTP_IP='10.0.0.1'/,
  );
});

test('Go Sprintf semantics for odd formats', () => {
  assert.equal(goSprintf2('%s=%s ', 'K', 'v'), 'K=v ');
  assert.equal(goSprintf2('%s', 'K', 'v'), 'K%!(EXTRA string=v)');
  assert.equal(goSprintf2('100%% %s %s %s', 'a', 'b'), '100% a b %!s(MISSING)');
});

test('normalises line endings and adds a final newline', () => {
  assert.equal(toUnixLines(Buffer.from('a\r\nb\nc')).toString(), 'a\nb\nc\n');
  assert.equal(toUnixLines(Buffer.from('')).toString(), '');
  assert.throws(() => toUnixLines(Buffer.alloc(70 * 1024, 0x61)), /token too long/);
});
