/**
 * The SSH communicator against a real OpenSSH sshd (test/env/ssh-env.ts): the conformance suite
 * over scp and sftp, then connection paths (password, agent, bastion, temporary keys) and failures.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { startSshEnv, freePort, type SshEnv } from '../env/ssh-env.js';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { connectSsh, type SshConnectOptions } from '../../src/communicator/ssh/index.js';
import { generateTemporaryKeyPair } from '../../src/communicator/ssh-keygen.js';
import type { Communicator } from '../../src/core/types.js';
import { communicatorConformance, type ConformanceTarget } from './conformance.js';

let env: SshEnv;
before(async () => {
  env = await startSshEnv();
});
after(async () => {
  await env?.stop();
});

async function remoteScratch(): Promise<string> {
  const dir = await fsp.mkdtemp('/tmp/kiln-remote-');
  execFileSync('chown', [`${env.user}:`, dir]);
  return dir;
}

function base(): SshConnectOptions {
  return { host: env.host, port: env.port, username: env.user, keepAliveIntervalMs: 5000 };
}

async function keyOpts(extra: Partial<SshConnectOptions> = {}): Promise<SshConnectOptions> {
  return { ...base(), privateKeys: [await fsp.readFile(env.keyFile)], ...extra };
}

async function echo(comm: Communicator, text: string): Promise<string> {
  let out = '';
  const status = await comm.start({
    command: `echo ${text}`,
    stdout: {
      write: (d: Buffer) => {
        out += d.toString();
        return true;
      },
    } as never,
  });
  assert.equal(status, 0);
  return out.trim();
}

for (const method of ['scp', 'sftp'] as const) {
  describe(`ssh communicator conformance (${method})`, () => {
    let target: ConformanceTarget;
    before(async () => {
      target = {
        comm: await connectSsh(await keyOpts({ fileTransferMethod: method })),
        remoteDir: await remoteScratch(),
        scpSemantics: method === 'scp',
      };
    });
    after(async () => {
      await target?.comm.close();
      if (target) await fsp.rm(target.remoteDir, { recursive: true, force: true });
    });
    communicatorConformance(() => target);
  });
}

describe('ssh communicator connections', () => {
  it('runs commands as the user and sends the command text with a trailing newline', async () => {
    const comm = await connectSsh(await keyOpts());
    await env.clearCommands();
    assert.equal(await echo(comm, '$USER'), env.user);
    assert.deepEqual(await env.commands(), ['echo $USER\n']);
    await comm.close();
  });

  it('authenticates with a password', async () => {
    const comm = await connectSsh({ ...base(), password: env.password });
    assert.equal(await echo(comm, 'pw'), 'pw');
    await comm.close();
  });

  it('requests a pty when asked', async () => {
    const comm = await connectSsh(await keyOpts({ pty: true }));
    let out = '';
    await comm.start({
      command: 'tty -s && echo tty; stty size',
      stdout: { write: (d: Buffer) => ((out += d), true) } as never,
    });
    assert.match(out, /tty/);
    assert.match(out, /40 80/);
    await comm.close();
  });

  it('authenticates with the agent (SSH_AUTH_SOCK)', async () => {
    await env.addAuthorizedKey(await fsp.readFile(`${env.bastion.keyFile}.pub`, 'utf8'));
    const comm = await connectSsh({ ...base(), agentAuth: true, agentSock: env.agentSock });
    assert.equal(await echo(comm, 'agent'), 'agent');
    await comm.close();
  });

  it('connects through the bastion with agent auth', async () => {
    const comm = await connectSsh(
      await keyOpts({
        bastion: { ...env.bastion, username: env.bastion.user, agentAuth: true },
        agentSock: env.agentSock,
      }),
    );
    assert.equal(await echo(comm, 'via-bastion'), 'via-bastion');
    await comm.close();
  });

  it('connects through the bastion with its key file or its password', async () => {
    const b = { host: env.bastion.host, port: env.bastion.port, username: env.bastion.user };
    const viaKey = await connectSsh(
      await keyOpts({ bastion: { ...b, privateKeys: [await fsp.readFile(env.bastion.keyFile)] } }),
    );
    assert.equal(await echo(viaKey, 'k'), 'k');
    await viaKey.close();
    const viaPw = await connectSsh(await keyOpts({ bastion: { ...b, password: env.bastion.password } }));
    assert.equal(await echo(viaPw, 'p'), 'p');
    await viaPw.close();
  });

  for (const type of ['rsa', 'ed25519', 'ecdsa'] as const) {
    it(`authenticates with a temporary ${type} key (rsa: rsa-sha2 signatures, which OpenSSH 9 requires)`, async () => {
      const pair = await generateTemporaryKeyPair(type, type === 'rsa' ? 2048 : 0);
      await env.addAuthorizedKey(pair.publicKey);
      const comm = await connectSsh({ ...base(), privateKeys: [pair.privateKey] });
      assert.equal(await echo(comm, type), type);
      await comm.close();
      if (type === 'rsa')
        assert.match(await env.targetLog(), /Accepted publickey for kilntest .* RSA SHA256/);
    });
  }

  it('reconnects once when a session cannot be opened', async () => {
    const comm = await connectSsh(await keyOpts());
    // Kill this connection's sshd child: the next command must transparently reconnect.
    const pids = execFileSync('pgrep', ['-u', env.user, '-f', `sshd: ${env.user}`], { encoding: 'utf8' })
      .trim()
      .split('\n');
    for (const p of pids) execFileSync('kill', ['-9', p]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await echo(comm, 'again'), 'again');
    await comm.close();
  });

  it('rejects a wrong key naming user, host and port', async () => {
    await assert.rejects(
      connectSsh({ ...base(), username: 'kilnjump', privateKeys: [await fsp.readFile(env.keyFile)] }),
      (e: Error & { phase?: string }) => {
        assert.equal(e.phase, 'handshake');
        assert.match(
          e.message,
          new RegExp(
            `unable to authenticate as "kilnjump" on 127.0.0.1:${env.port}, attempted methods \\[none publickey\\]`,
          ),
        );
        return true;
      },
    );
  });

  it('rejects an unreachable port as a dial error', async () => {
    await assert.rejects(
      connectSsh({ ...base(), port: 1 }),
      /dial tcp 127.0.0.1:1: connect: connection refused/,
    );
  });

  it('reports a bastion that refuses the key', async () => {
    const b = { host: env.bastion.host, port: env.bastion.port, username: env.bastion.user };
    await assert.rejects(
      connectSsh(await keyOpts({ bastion: { ...b, privateKeys: [await fsp.readFile(env.keyFile)] } })),
      /Error connecting to bastion: ssh: handshake failed: ssh: unable to authenticate as "kilnjump" on 127.0.0.1:\d+/,
    );
  });

  it('reports an unparsable key', async () => {
    await assert.rejects(
      connectSsh({ ...base(), privateKeys: ['not a key'] }),
      /Error on parsing SSH private key: /,
    );
  });

  it('reports a missing agent', async () => {
    await assert.rejects(
      connectSsh({ ...base(), agentAuth: true, agentSock: '/nonexistent/agent.sock' }),
      /Cannot connect to SSH Agent socket "\/nonexistent\/agent.sock": /,
    );
  });

  it('forwards a local tunnel through the target', async () => {
    const port = await freePort();
    const comm = await connectSsh(
      await keyOpts({ localTunnels: [{ port, host: '127.0.0.1', hostPort: env.port }] }),
    );
    const banner = await new Promise<string>((resolve, reject) => {
      const s = netConnect({ host: 'localhost', port });
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString());
      });
      s.once('error', reject);
    });
    assert.match(banner, /^SSH-2.0-OpenSSH/);
    await comm.close();
  });

  it('forwards a remote tunnel back to a local port', async () => {
    const local = await listen((sock) => sock.end('hello-through-tunnel\n'));
    const remotePort = await freePort();
    const comm = await connectSsh(
      await keyOpts({ remoteTunnels: [{ port: remotePort, host: '127.0.0.1', hostPort: addrPort(local) }] }),
    );
    let out = '';
    const status = await comm.start({
      command: `exec 3<>/dev/tcp/127.0.0.1/${remotePort}; cat <&3`,
      stdout: { write: (d: Buffer) => ((out += d), true) } as never,
    });
    assert.equal(status, 0);
    assert.equal(out, 'hello-through-tunnel\n');
    await comm.close();
    local.close();
  });

  it('connects through a SOCKS5 proxy with username and password', async () => {
    const seen: string[] = [];
    const proxy = await socks5Server('u', 'p', (dest) => seen.push(dest));
    const comm = await connectSsh(
      await keyOpts({ proxy: { host: '127.0.0.1', port: addrPort(proxy), username: 'u', password: 'p' } }),
    );
    assert.equal(await echo(comm, 'socks'), 'socks');
    assert.deepEqual(seen, [`127.0.0.1:${env.port}`]);
    await comm.close();
    proxy.close();
    const refused = await socks5Server('u', 'other', () => undefined);
    await assert.rejects(
      connectSsh(
        await keyOpts({
          proxy: { host: '127.0.0.1', port: addrPort(refused), username: 'u', password: 'p' },
        }),
      ),
      /^SshConnectError: Can't connect to the proxy: SOCKS5 username\/password authentication failed/,
    );
    refused.close();
  });
});

function listen(onConn: (s: import('node:net').Socket) => void): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer(onConn);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

function addrPort(srv: Server): number {
  const a = srv.address();
  return typeof a === 'object' && a ? a.port : 0;
}

/** A minimal SOCKS5 server (username/password auth, CONNECT by domain name or IPv4). */
function socks5Server(user: string, pass: string, onConnect: (dest: string) => void): Promise<Server> {
  return listen((sock) => {
    let buf = Buffer.alloc(0);
    let stage = 0;
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 2 && buf.length >= 2 + buf[1]) {
        buf = buf.subarray(2 + buf[1]);
        sock.write(Buffer.from([5, 2]));
        stage = 1;
      }
      if (stage === 1 && buf.length >= 2) {
        const ul = buf[1];
        if (buf.length < 3 + ul) return;
        const pl = buf[2 + ul];
        if (buf.length < 3 + ul + pl) return;
        const u = buf.subarray(2, 2 + ul).toString();
        const p = buf.subarray(3 + ul, 3 + ul + pl).toString();
        buf = buf.subarray(3 + ul + pl);
        const ok = u === user && p === pass;
        sock.write(Buffer.from([1, ok ? 0 : 1]));
        if (!ok) return void sock.end();
        stage = 2;
      }
      if (stage === 2 && buf.length >= 5) {
        const atyp = buf[3];
        const hostLen = atyp === 3 ? 1 + buf[4] : 4;
        if (buf.length < 4 + hostLen + 2) return;
        const host = atyp === 3 ? buf.subarray(5, 5 + buf[4]).toString() : [...buf.subarray(4, 8)].join('.');
        const port = buf.readUInt16BE(4 + hostLen);
        const rest = buf.subarray(4 + hostLen + 2);
        stage = 3;
        sock.off('data', onData);
        onConnect(`${host}:${port}`);
        const up = netConnect({ host, port }, () => {
          sock.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          if (rest.length) up.write(rest);
          sock.pipe(up).pipe(sock);
        });
        up.on('error', () => sock.destroy());
        sock.on('error', () => up.destroy());
      }
    };
    sock.on('data', onData);
  });
}
