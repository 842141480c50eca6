/**
 * `kiln validate` of the lab's reference template (../shared/lab/build/config.json), untouched,
 * with no network and no AWS credentials, from the template's directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onlyEnv, runKiln, type KilnResult } from '../env/kiln-cli.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LAB = resolve(REPO_ROOT, '../shared/lab/build');
const NEEDED = ['builders/amazon-ebs', 'provisioners/shell', 'provisioners/ansible'];
const missing = NEEDED.filter((m) => !existsSync(join(REPO_ROOT, 'dist/src', m, 'index.js')));
const skip = !existsSync(join(LAB, 'config.json'))
  ? `the lab template is missing under ${LAB}`
  : missing.length
    ? `component modules not built yet: ${missing.join(', ')}`
    : false;

function kiln(args: string[]): Promise<KilnResult> {
  // No AWS credentials, no proxies: validation must not need the network.
  return runKiln(args, {
    cwd: LAB,
    env: onlyEnv({ PATH: process.env.PATH ?? '', HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' }),
    timeoutMs: 60_000,
  });
}

test('validates the reference template untouched', { skip }, async () => {
  const r = await kiln(['validate', 'config.json']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'The configuration is valid.\n');
  assert.equal(r.code, 0);
});

test(
  'the reference template passes -syntax-only and inspect',
  { skip: existsSync(join(LAB, 'config.json')) ? false : 'no lab template' },
  async () => {
    const s = await kiln(['validate', '-syntax-only', 'config.json']);
    assert.equal(s.stdout, 'Syntax-only check passed. Everything looks okay.\n');
    assert.equal(s.code, 0);
    const i = await kiln(['inspect', 'config.json']);
    assert.equal(i.code, 0);
    assert.match(i.stdout, /Builders:\n\n {2}amazon-ebs\n\nProvisioners:\n\n {2}shell\n {2}ansible\n/);
  },
);
