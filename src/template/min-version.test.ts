import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMinVersion, formatGoVersion, parseGoVersion } from './min-version.js';

test('accepts older and equal minimum versions', () => {
  assert.equal(checkMinVersion('1.3.0', '1.6.6'), undefined);
  assert.equal(checkMinVersion('v1.6.6', '1.6.6'), undefined);
  assert.equal(checkMinVersion('1.6', '1.6.6'), undefined);
  assert.equal(checkMinVersion('', '1.6.6'), undefined);
});

test('rejects newer versions with the canonical form', () => {
  assert.equal(checkMinVersion('9', '1.6.6'), 'This template requires Packer version 9.0.0 or higher; using 1.6.6');
  assert.equal(checkMinVersion('1.6.7-beta', '1.6.6'), 'This template requires Packer version 1.6.7-beta or higher; using 1.6.6');
});

test('reports malformed versions', () => {
  assert.equal(checkMinVersion('abc', '1.6.6'), 'min_version is invalid: Malformed version: abc');
});

test('orders prereleases before releases', () => {
  assert.equal(checkMinVersion('1.6.6-rc1', '1.6.6'), undefined);
  assert.equal(formatGoVersion(parseGoVersion('v1.2+meta')), '1.2.0+meta');
});
