import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runKiln } from './run-kiln.test-helper.js';
import { KILN_VERSION } from './version-info.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('no arguments print the command list and exit 127', async () => {
  const r = await runKiln([]);
  assert.equal(r.code, 127);
  assert.match(r.stdout, /^Usage: kiln \[--version\] \[--help\] <command> \[<args>\]\n\nAvailable commands are:\n {4}build +build image/);
  assert.equal((await runKiln(['--help'])).code, 0);
  assert.equal((await runKiln(['nope'])).code, 127);
});

test('version flags print the version line and machine-readable lines keep Packer values', async () => {
  assert.equal((await runKiln(['-v'])).stdout, `kiln v${KILN_VERSION} (Packer v1.6.6 compatible)\n`);
  const m = await runKiln(['-machine-readable', 'version']);
  assert.equal(
    m.stdout,
    `1795827723,,version,1.6.6\n1795827723,,version-prelease,\n1795827723,,version-commit,\n1795827723,,kiln-version,${KILN_VERSION}\n1795827723,,ui,say,kiln v${KILN_VERSION} (Packer v1.6.6 compatible)\n`,
  );
});

test('kiln version matches package.json', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(KILN_VERSION, pkg.version);
});

test('a bad flag prints the usage, then Go\'s message, and exits 1', async () => {
  const r = await runKiln(['validate', '-foo', 't.json']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^Usage: kiln validate \[options\] TEMPLATE\n/);
  assert.ok(r.stdout.endsWith('\nflag provided but not defined: -foo\n'));
  assert.equal(r.stderr, '');
});

test('-h anywhere prints the command help and exits 0; flags before the command are refused', async () => {
  const h = await runKiln(['validate', '-var', 'a=b', '-h']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^Usage: kiln validate/);
  const t = await runKiln(['-foo', 'validate', 't.json']);
  assert.equal(t.code, 1);
  assert.match(t.stdout, /^Invalid flags before the subcommand\./);
});

test('a missing template gives the stat error on stdout', async () => {
  const r = await runKiln(['validate', 'missing.json']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '"missing.json": stat missing.json: no such file or directory\n');
});
