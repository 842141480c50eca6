import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareShell } from './config.js';
import { packerConfigWith } from '../../core/packer-config.js';

const pc = packerConfigWith({
  buildName: 'amazon-ebs',
  builderType: 'amazon-ebs',
  initTime: new Date(0),
  runUuid: 'u',
});

test("default remote names: script_<n>.sh and varfile_<n>.sh under /tmp, n from a range far wider than Packer's 0-9998", () => {
  const ns: number[] = [];
  for (let i = 0; i < 200; i++) {
    const cfg = prepareShell([{ inline: ['true'] }], pc, {});
    const m = /^\/tmp\/script_(\d+)\.sh$/.exec(cfg.remotePath);
    assert.ok(m, cfg.remotePath);
    assert.match(cfg.varFileName, /^varfile_\d+\.sh$/);
    ns.push(Number(m[1]));
  }
  // With Packer's range every n is below 10000; with 0-2^31, 200 draws all below it would be a ~1e-1000 event.
  assert.ok(
    ns.some((n) => n >= 10_000),
    `all below 10000: ${ns.join(' ')}`,
  );
  assert.ok(new Set(ns).size > 195, 'no crowd of equal names');
});

test('remote_file and remote_path given are kept', () => {
  assert.equal(prepareShell([{ inline: ['true'], remote_file: 'x.sh' }], pc, {}).remotePath, '/tmp/x.sh');
  assert.equal(
    prepareShell([{ inline: ['true'], remote_path: '/var/y.sh' }], pc, {}).remotePath,
    '/var/y.sh',
  );
});
