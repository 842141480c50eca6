import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goMarshalIndent } from '../../util/go-json.js';
import { detectFormat } from '../compress/index.js';

test('Go MarshalIndent layout and escaping (<>& and U+2028 escaped, no trailing newline)', () => {
  assert.equal(
    goMarshalIndent({ builds: [{ name: 'a<b>&c\u2028', files: null, n: 5, skip: undefined, m: {}, l: [] }], last: 'x' }),
    '{\n  "builds": [\n    {\n      "name": "a\\u003cb\\u003e\\u0026c\\u2028",\n      "files": null,\n      "n": 5,\n      "m": {},\n      "l": []\n    }\n  ],\n  "last": "x"\n}',
  );
  assert.equal(goMarshalIndent('tab\there\u0001'), '"tab\\there\\u0001"');
});

test('compress infers archive and algorithm from the last two extensions', () => {
  assert.deepEqual(detectFormat('packer_{{.BuildName}}_{{.BuilderType}}', ''), { archive: 'tar', algorithm: 'pgzip' });
  assert.deepEqual(detectFormat('out/x.tar.gz', ''), { archive: 'tar', algorithm: 'pgzip' });
  assert.deepEqual(detectFormat('x.zip', ''), { archive: 'zip', algorithm: '' });
  assert.deepEqual(detectFormat('x.img.gz', ''), { archive: '', algorithm: 'pgzip' });
  assert.deepEqual(detectFormat('x', 'tar'), { archive: 'tar', algorithm: '' });
  assert.deepEqual(detectFormat('x.tar.xz', ''), { archive: 'tar', algorithm: 'xz' });
  assert.deepEqual(detectFormat('x.weird', ''), { archive: 'tar', algorithm: 'pgzip' });
});
