/**
 * `kiln build` with the null builder over SSH to the tests' own sshd (test/env/ssh-env.ts): the
 * connect step, generated data (Host, User, ConnType) seen by shell-local, a remote command through
 * the shell provisioner; and an unreachable port failing with the SSH timeout and exit 1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';
import { runKiln } from '../../src/cli/run-kiln.test-helper.js';
import { sanitize } from './sanitize.js';

const DATA = fileURLToPath(new URL('../../../test/transcripts/testdata/', import.meta.url));

let env: SshEnv;
before(async () => {
  env = await startSshEnv();
});
after(async () => {
  await env?.stop();
});

function vars(port: number): string[] {
  return ['-var', `host=${env.host}`, '-var', `port=${port}`, '-var', `user=${env.user}`, '-var', `key=${env.keyFile}`];
}

test('null builder over SSH: connects, provisions locally and remotely, with build data', async () => {
  const r = await runKiln(['build', '-color=false', ...vars(env.port), join(DATA, 'null-ssh.json')], { env: { KILN_PACKER_PARITY: '1' } });
  const out = sanitize(r.stdout).replaceAll(env.user, '<USER>');
  const head = readFileSync(join(DATA, 'null-ssh.out'), 'utf8');
  assert.ok(out.startsWith(head), out);
  assert.match(out, /\nBuild 'null' finished after <D>\.\n/);
  assert.equal(r.code, 0);
});

test('null builder over SSH to a closed port: the SSH timeout fails the build, exit 1', async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const r = await runKiln(['build', '-color=false', ...vars(port), join(DATA, 'null-ssh.json')], { env: { KILN_PACKER_PARITY: '1' } });
  const out = sanitize(r.stdout);
  assert.ok(out.startsWith('==> null: Using ssh communicator to connect: 127.0.0.1\n==> null: Waiting for SSH to become available...\n'), out);
  assert.match(out, /==> null: Timeout waiting for SSH\.\n/);
  assert.match(out, /Build 'null' errored after <D>: Timeout waiting for SSH\.\n/);
  assert.equal(r.code, 1);
});
