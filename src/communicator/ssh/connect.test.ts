/**
 * Authentication paths OpenSSH without PAM cannot offer (keyboard-interactive), against ssh2's own
 * server in the same process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { connectSsh } from './index.js';

function kbdServer(password: string): Promise<{ port: number; close(): void; prompts: string[] }> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  const prompts: string[] = [];
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
      ctx.prompt(
        [
          { prompt: 'Password: ', echo: false },
          { prompt: 'Again: ', echo: false },
        ],
        (answers) => {
          prompts.push(...answers);
          if (answers.every((a) => a === password)) ctx.accept();
          else ctx.reject();
        },
      );
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const ch = acceptExec();
          ch.write(`ran ${JSON.stringify(info.command)}`);
          ch.exit(0);
          ch.end();
        });
      });
    });
    client.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => server.close(), prompts }),
    ),
  );
}

test('answers every keyboard-interactive prompt with the password', async () => {
  const srv = await kbdServer('s3cret');
  const comm = await connectSsh({ host: '127.0.0.1', port: srv.port, username: 'u', password: 's3cret' });
  let out = '';
  const status = await comm.start({
    command: 'whoami',
    stdout: { write: (d: Buffer) => ((out += d), true) } as never,
  });
  assert.equal(status, 0);
  assert.equal(out, 'ran "whoami\\n"');
  assert.deepEqual(srv.prompts, ['s3cret', 's3cret']);
  await comm.close();
  srv.close();
});

test('a wrong password fails naming the methods tried', async () => {
  const srv = await kbdServer('s3cret');
  await assert.rejects(
    connectSsh({ host: '127.0.0.1', port: srv.port, username: 'u', password: 'nope' }),
    /unable to authenticate as "u" on 127.0.0.1:\d+, attempted methods \[none keyboard-interactive\]/,
  );
  srv.close();
});
