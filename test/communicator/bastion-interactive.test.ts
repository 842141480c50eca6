/**
 * `ssh_bastion_interactive`: a real bastion sshd that accepts only keyboard-interactive through PAM
 * (Debian's /etc/pam.d/sshd → pam_unix asks `Password: `); the answers are typed lines, fed here on
 * a stream and, for `kiln build`, on stdin.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';
import { KILN, runKiln } from '../env/kiln-cli.js';
import { connectSsh, type SshConnectOptions } from '../../src/communicator/ssh/index.js';

let env: SshEnv;
let dir: string;
let template: string;
before(async () => {
  env = await startSshEnv({ bastionKeyboardInteractive: true });
  dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-kbd-'));
  template = join(dir, 'template.json');
  await fsp.writeFile(
    template,
    JSON.stringify({
      builders: [
        {
          type: 'null',
          name: 'kbd',
          ssh_host: env.host,
          ssh_port: env.port,
          ssh_username: env.user,
          ssh_private_key_file: env.keyFile,
          ssh_bastion_host: env.bastion.host,
          ssh_bastion_port: env.bastion.port,
          ssh_bastion_username: env.bastion.user,
          ssh_bastion_interactive: true,
          ssh_timeout: '30s',
        },
      ],
      provisioners: [{ type: 'shell', inline: ['echo "through the bastion as $(id -un)"'] }],
    }),
  );
});
after(async () => {
  await env?.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

async function options(input: PassThrough): Promise<SshConnectOptions> {
  return {
    host: env.host,
    port: env.port,
    username: env.user,
    keepAliveIntervalMs: 0,
    privateKeys: [await fsp.readFile(env.keyFile)],
    bastion: {
      host: env.bastion.host,
      port: env.bastion.port,
      username: env.bastion.user,
      // The bastion refuses keys (AuthenticationMethods keyboard-interactive): this one cannot help.
      privateKeys: [await fsp.readFile(env.bastion.keyFile)],
      interactive: true,
      interactiveInput: input,
    },
  };
}

describe('ssh_bastion_interactive', () => {
  it('answers the bastion’s questions with typed lines, then reaches the target', async () => {
    const input = new PassThrough();
    input.end(`${env.password}\n`);
    const comm = await connectSsh(await options(input));
    try {
      let out = '';
      const status = await comm.start({
        command: 'id -un',
        stdout: { write: (d: Buffer) => ((out += d.toString()), true) } as never,
      });
      assert.equal(status, 0);
      assert.equal(out.trim(), env.user);
    } finally {
      await comm.close();
    }
  });

  it('fails with the bastion’s refusal when the answer is wrong', async () => {
    const input = new PassThrough();
    input.end('not the password\n');
    await assert.rejects(connectSsh(await options(input)), {
      message:
        /^Error connecting to bastion: ssh: handshake failed: ssh: unable to authenticate as "kilnjump" on 127\.0\.0\.1:\d+, attempted methods \[none keyboard-interactive\], no supported methods remain$/,
    });
  });

  it('fails the handshake with EOF when the input ends before an answer', async () => {
    const input = new PassThrough();
    input.end();
    await assert.rejects(connectSsh(await options(input)), {
      message: 'Error connecting to bastion: ssh: handshake failed: EOF',
    });
  });

  it('kiln build reads the answer from stdin', async () => {
    const res = await runKiln(['build', '-color=false', template], {
      input: `${env.password}\n`,
      timeoutMs: 60_000,
    });
    assert.equal(res.code, 0, res.out);
    assert.match(res.stdout, /kbd: through the bastion as kilntest/);
    assert.doesNotMatch(res.out, new RegExp(env.password)); // kiln never prints the answer
    assert.doesNotMatch(res.out, /Password: /); // not a terminal: nobody to show the question to
  });

  it('on a terminal, kiln build shows the question there and reads the answer without echo', async () => {
    // `script` gives kiln a pseudo-terminal as stdin/stdout; we type only once the question is shown.
    const child = spawn(
      'script',
      ['-qec', `${process.execPath} ${KILN} build -color=false ${template}`, '/dev/null'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!typed && out.includes('Password: ')) {
        typed = true;
        child.stdin.write(`${env.password}\r`); // Enter on a terminal
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    child.stdin.end();
    assert.equal(code, 0, out);
    assert.ok(typed, out);
    assert.match(out, /kbd: through the bastion as kilntest/);
    assert.ok(!out.includes(env.password), 'the typed answer is not echoed');
  });
});
