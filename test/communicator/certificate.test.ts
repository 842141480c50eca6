/**
 * `ssh_certificate_file` / `ssh_bastion_certificate_file` against real sshds that trust a CA made
 * with ssh-keygen (TrustedUserCAKeys). The certified user keys are NOT in any authorized_keys: only
 * the certificate can let them in. ed25519 and RSA (rsa-sha2 only: the target refuses SHA-1).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';
import { runKiln } from '../env/kiln-cli.js';
import { connectSsh, type SshConnectOptions } from '../../src/communicator/ssh/index.js';
import { SshConnectError } from '../../src/communicator/ssh/connect.js';
import type { Communicator } from '../../src/core/types.js';

const run = promisify(execFile);

let env: SshEnv;
let dir: string;
const keys: Record<string, string> = {};

async function keygen(file: string, type: 'ed25519' | 'rsa'): Promise<void> {
  await run('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    '',
    '-f',
    file,
  ]);
}

/** Signs `${key}.pub` with the CA for `principal`; returns the certificate path. */
async function sign(key: string, id: string, principal: string, validity?: string): Promise<string> {
  await run('ssh-keygen', [
    '-q',
    '-s',
    join(dir, 'ca'),
    '-I',
    id,
    '-n',
    principal,
    ...(validity ? ['-V', validity] : []),
    `${key}.pub`,
  ]);
  return `${key}-cert.pub`;
}

before(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-cert-'));
  await keygen(join(dir, 'ca'), 'ed25519');
  for (const t of ['ed25519', 'rsa'] as const) {
    keys[t] = join(dir, `user_${t}`);
    await keygen(keys[t], t);
  }
  keys.other = join(dir, 'user_other');
  await keygen(keys.other, 'ed25519');
  const trust = `TrustedUserCAKeys ${join(dir, 'ca.pub')}`;
  env = await startSshEnv({
    // SHA-1 RSA signatures refused explicitly (OpenSSH 9 already does by default).
    targetConfig: [trust, 'PubkeyAcceptedAlgorithms -ssh-rsa,ssh-rsa-cert-v01@openssh.com'],
    bastionConfig: [trust],
  });
});
after(async () => {
  await env?.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

function target(extra: Partial<SshConnectOptions>): SshConnectOptions {
  return { host: env.host, port: env.port, username: env.user, keepAliveIntervalMs: 0, ...extra };
}

async function whoami(comm: Communicator): Promise<string> {
  let out = '';
  const status = await comm.start({
    command: 'id -un',
    stdout: { write: (d: Buffer) => ((out += d.toString()), true) } as never,
  });
  assert.equal(status, 0);
  return out.trim();
}

describe('ssh_certificate_file', () => {
  for (const type of ['ed25519', 'rsa'] as const) {
    it(`logs in with an ${type} user certificate whose key is not authorized`, async () => {
      const cert = await sign(keys[type], `kiln-${type}`, env.user);
      const key = await fsp.readFile(keys[type]);
      // The plain key alone is refused: only the certificate can work.
      await assert.rejects(
        connectSsh(target({ privateKeys: [key] })),
        /unable to authenticate as "kilntest".*attempted methods \[none publickey\]/,
      );
      const comm = await connectSsh(target({ privateKeys: [key], certificateFile: cert }));
      try {
        assert.equal(await whoami(comm), env.user);
      } finally {
        await comm.close();
      }
      const log = await env.targetLog();
      const certType = type === 'rsa' ? 'RSA-CERT' : 'ED25519-CERT';
      assert.match(log, new RegExp(`Accepted publickey for kilntest .* ${certType} .*ID kiln-${type} `));
    });
  }

  it('refuses a certificate for another principal (the server says no)', async () => {
    const cert = await sign(keys.ed25519, 'kiln-wrong-principal', 'somebody');
    await assert.rejects(
      connectSsh(target({ privateKeys: [await fsp.readFile(keys.ed25519)], certificateFile: cert })),
      /unable to authenticate as "kilntest"/,
    );
  });

  it('stops with Packer’s reason when the certificate is for another key', async () => {
    const cert = await sign(keys.ed25519, 'kiln-mismatch', env.user);
    const err = await connectSsh(
      target({ privateKeys: [await fsp.readFile(keys.other)], certificateFile: cert }),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof SshConnectError);
    assert.equal(err.phase, 'config'); // final: the connect loop does not retry it
    assert.equal(
      err.message,
      'Cannot authenticate with ssh_certificate_file: failed to create cert signer: ssh: signer and cert have different public key',
    );
  });

  it('stops when the certificate file cannot be read, or is a plain key, or has expired', async () => {
    const key = await fsp.readFile(keys.ed25519);
    const missing = join(dir, 'missing-cert.pub');
    await assert.rejects(connectSsh(target({ privateKeys: [key], certificateFile: missing })), {
      message: `Cannot authenticate with ssh_certificate_file: unable to read certificate file: open ${missing}: no such file or directory`,
    });
    await assert.rejects(connectSsh(target({ privateKeys: [key], certificateFile: `${keys.ed25519}.pub` })), {
      message: 'Cannot authenticate with ssh_certificate_file: Error loading certificate',
    });
    const expired = await sign(keys.rsa, 'kiln-expired', env.user, '20200101:20200102');
    await assert.rejects(
      connectSsh(target({ privateKeys: [await fsp.readFile(keys.rsa)], certificateFile: expired })),
      {
        message: `Cannot authenticate with ssh_certificate_file: ${expired} not a valid cert: ssh: cert has expired`,
      },
    );
  });

  it('authenticates to the bastion with a certificate (ssh_bastion_certificate_file)', async () => {
    const cert = await sign(keys.rsa, 'kiln-bastion', env.bastion.user);
    const comm = await connectSsh(
      target({
        privateKeys: [await fsp.readFile(env.keyFile)],
        bastion: {
          host: env.bastion.host,
          port: env.bastion.port,
          username: env.bastion.user,
          privateKeys: [await fsp.readFile(keys.rsa)],
          certificateFile: cert,
        },
      }),
    );
    try {
      assert.equal(await whoami(comm), env.user);
    } finally {
      await comm.close();
    }
  });

  it('runs a kiln build with ssh_certificate_file, and validate rejects a mismatched one', async () => {
    const cert = await sign(keys.ed25519, 'kiln-build', env.user);
    const template = (certFile: string, keyFile: string) =>
      JSON.stringify({
        builders: [
          {
            type: 'null',
            name: 'cert',
            ssh_host: env.host,
            ssh_port: env.port,
            ssh_username: env.user,
            ssh_private_key_file: keyFile,
            ssh_certificate_file: certFile,
            ssh_timeout: '20s',
          },
        ],
        provisioners: [{ type: 'shell', inline: ['echo "hello from $(id -un)"'] }],
      });
    const good = join(dir, 'good.json');
    await fsp.writeFile(good, template(cert, keys.ed25519));
    const res = await runKiln(['build', '-color=false', good], { timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.out);
    assert.match(res.stdout, /cert: hello from kilntest/);

    const bad = join(dir, 'bad.json');
    await fsp.writeFile(bad, template(cert, keys.other));
    const v = await runKiln(['validate', bad], { timeoutMs: 30_000 });
    assert.equal(v.code, 1);
    assert.match(
      v.out.replace(/\s+/g, ' '), // the UI wraps long error lines
      /ssh_private_key_file is invalid: failed to create cert signer: ssh: signer and cert have different public key/,
    );
  });
});
