/**
 * The connect step against the real sshd: Packer's messages, the wait loop's outcomes (connected,
 * timeout with the last attempt's cause, authentication failure after ssh_handshake_attempts,
 * interrupt), pause_before_connecting, communicator none, and ssh_clear_authorized_keys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { startSshEnv, freePort, type SshEnv } from '../env/ssh-env.js';
import { stepConnect, type ConnectStepConfig } from '../../src/communicator/step-connect.js';
import {
  stepCleanupTempKeys,
  cleanupTempKeysCommands,
} from '../../src/communicator/step-cleanup-temp-keys.js';
import { NoneCommunicator } from '../../src/communicator/none/index.js';
import type { ProvisionState } from '../../src/core/runner/index.js';
import type { SshConnectOptions } from '../../src/communicator/ssh/options.js';
import { CaptureUi } from './capture-ui.js';

let env: SshEnv;
before(async () => {
  env = await startSshEnv();
});
after(async () => {
  await env?.stop();
});

async function ssh(extra: Partial<SshConnectOptions> = {}): Promise<SshConnectOptions> {
  return {
    host: env.host,
    port: env.port,
    username: env.user,
    privateKeys: [await fsp.readFile(env.keyFile)],
    ...extra,
  };
}

async function connect(cfg: ConnectStepConfig<ProvisionState>, signal = new AbortController().signal) {
  const ui = new CaptureUi();
  const state: ProvisionState = {};
  const step = stepConnect<ProvisionState>({ retryDelayMs: 200, ...cfg });
  const t0 = Date.now();
  const result = await step.run(state, { ui, signal });
  const ms = Date.now() - t0;
  await step.cleanup?.(state, ui);
  return { ui, state, result, ms };
}

describe('connect step', () => {
  it('connects and records the connection for build data', async () => {
    const r = await connect({ type: 'ssh', ssh: await ssh(), timeoutMs: 10_000 });
    assert.equal(r.result, 'continue');
    assert.deepEqual(r.ui.lines, [
      'say: Using ssh communicator to connect: 127.0.0.1',
      'say: Waiting for SSH to become available...',
      'say: Connected to SSH!',
    ]);
    assert.equal(r.state.connection?.host, '127.0.0.1');
    assert.equal(r.state.connection?.port, env.port);
    assert.equal(r.state.connection?.user, env.user);
    assert.equal(r.state.connection?.type, 'ssh');
  });

  it('times out on a closed port, naming user, host, port and cause', async () => {
    const port = await freePort();
    const r = await connect({ type: 'ssh', ssh: await ssh({ port }), timeoutMs: 1000 });
    assert.equal(r.result, 'halt');
    assert.equal(r.state.error?.message, 'Timeout waiting for SSH.');
    assert.deepEqual(r.ui.lines.slice(1), [
      'say: Waiting for SSH to become available...',
      'error: Timeout waiting for SSH.',
      `error: Last attempt to connect to kilntest@127.0.0.1:${port} failed: dial tcp 127.0.0.1:${port}: connect: connection refused`,
    ]);
    assert.ok(r.ms >= 1000 && r.ms < 5000, `took ${r.ms} ms`);
  });

  it("gives up after ssh_handshake_attempts authentication failures with Packer's message", async () => {
    const r = await connect({
      type: 'ssh',
      ssh: await ssh({ privateKeys: [await fsp.readFile(env.bastion.keyFile)] }),
      timeoutMs: 60_000,
      handshakeAttempts: 2,
    });
    assert.equal(r.result, 'halt');
    const want =
      'Packer experienced an authentication error when trying to connect via SSH. This can happen if your username/password are wrong. You may want to double-check your credentials as part of your debugging process. original error: ' +
      `ssh: handshake failed: ssh: unable to authenticate as "kilntest" on 127.0.0.1:${env.port}, attempted methods [none publickey], no supported methods remain`;
    assert.equal(r.state.error?.message, want);
    assert.equal(r.ui.lines.at(-1), `error: Error waiting for SSH: ${want}`);
    assert.ok(r.ms >= 2000, 'waited 2 s between authentication attempts');
  });

  it('keeps retrying through a refusing bastion until ssh_timeout, then names the bastion', async () => {
    const bastion = {
      host: env.bastion.host,
      port: env.bastion.port,
      username: env.bastion.user,
      privateKeys: [await fsp.readFile(env.keyFile)],
    };
    const r = await connect({ type: 'ssh', ssh: await ssh({ bastion }), timeoutMs: 1500 });
    assert.equal(r.state.error?.message, 'Timeout waiting for SSH.');
    assert.match(
      r.ui.lines.at(-1) ?? '',
      new RegExp(
        `^error: Last attempt to connect to kilntest@127.0.0.1:${env.port} via bastion kilnjump@127.0.0.1:${env.bastion.port} failed: Error connecting to bastion: ssh: handshake failed: ssh: unable to authenticate as "kilnjump"`,
      ),
    );
  });

  it('keeps trying until the machine starts listening', async () => {
    const port = await freePort();
    let relay: Server | undefined;
    setTimeout(() => {
      // The "machine" boots: a TCP relay to the sshd appears on the port.
      relay = createServer((c) => {
        const up = netConnect({ host: env.host, port: env.port });
        c.pipe(up).pipe(c);
        c.on('error', () => up.destroy());
        up.on('error', () => c.destroy());
      }).listen(port, '127.0.0.1');
    }, 700);
    const r = await connect({ type: 'ssh', ssh: await ssh({ port }), timeoutMs: 10_000 });
    assert.equal(r.result, 'continue');
    assert.equal(r.ui.lines.at(-1), 'say: Connected to SSH!');
    assert.ok(r.ms >= 700);
    relay?.close();
  });

  it('retries a silent server until ssh_timeout, naming the handshake timeout', async () => {
    const silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as { port: number }).port;
    const r = await connect({
      type: 'ssh',
      ssh: await ssh({ port, handshakeTimeoutMs: 300 }),
      timeoutMs: 1500,
    });
    assert.equal(r.state.error?.message, 'Timeout waiting for SSH.');
    assert.equal(
      r.ui.lines.at(-1),
      `error: Last attempt to connect to kilntest@127.0.0.1:${port} failed: Timeout during SSH handshake`,
    );
    silent.close();
  });

  it('reports a missing agent at once', async () => {
    const r = await connect({
      type: 'ssh',
      ssh: await ssh({ agentAuth: true, agentSock: '/nonexistent.sock' }),
      timeoutMs: 60_000,
    });
    assert.equal(r.result, 'halt');
    assert.match(
      r.ui.lines.at(-1) ?? '',
      /^error: Error waiting for SSH: Cannot connect to SSH Agent socket "\/nonexistent.sock": /,
    );
    assert.ok(r.ms < 3000, `took ${r.ms} ms`);
  });

  it('stops quietly when interrupted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await connect(
      { type: 'ssh', ssh: await ssh({ port: await freePort() }), timeoutMs: 60_000 },
      ac.signal,
    );
    assert.equal(r.result, 'halt');
    assert.equal(r.state.error, undefined);
    assert.ok(r.ms < 3000, `took ${r.ms} ms`);
    assert.equal(r.ui.lines.length, 2);
  });

  it('pauses before connecting, then connects again', async () => {
    const r = await connect({
      type: 'ssh',
      ssh: await ssh(),
      timeoutMs: 10_000,
      pauseBeforeConnectingMs: 300,
    });
    assert.equal(r.result, 'continue');
    assert.deepEqual(r.ui.lines, [
      'say: Using ssh communicator to connect: 127.0.0.1',
      'say: Waiting for SSH to become available...',
      'say: Connected to SSH!',
      'say: Pausing 300ms before connecting...',
      'say: Waiting for SSH to become available...',
      'say: Connected to SSH!',
    ]);
  });

  it('stores the none communicator for communicator: none', async () => {
    const r = await connect({ type: 'none' });
    assert.equal(r.result, 'continue');
    assert.ok(r.state.communicator instanceof NoneCommunicator);
    assert.equal(r.state.connection, undefined);
    assert.deepEqual(r.ui.lines, []);
  });
});

describe('ssh_clear_authorized_keys', () => {
  it("sends Packer's two commands", () => {
    assert.deepEqual(cleanupTempKeysCommands('packer_123'), [
      "sed -i.bak '/ packer_123$/d' ~/.ssh/authorized_keys; rm ~/.ssh/authorized_keys.bak",
      "sudo sed -i.bak '/ packer_123$/d' /root/.ssh/authorized_keys; sudo rm /root/.ssh/authorized_keys.bak",
    ]);
  });

  it("removes the temporary key line from the user's authorized_keys", async () => {
    const name = `packer_kilntest_${process.pid}`;
    const state: ProvisionState = {};
    const step = stepConnect<ProvisionState>({ type: 'ssh', ssh: await ssh(), timeoutMs: 10_000 });
    const ui = new CaptureUi();
    await step.run(state, { ui, signal: new AbortController().signal });
    const comm = state.communicator;
    assert.ok(comm);
    await comm.start({
      command: `mkdir -p ~/.ssh && printf 'ssh-ed25519 AAAAkeep other\\nssh-rsa AAAAgone ${name}\\n' > ~/.ssh/authorized_keys`,
    });
    const clean = stepCleanupTempKeys<ProvisionState>({
      clearAuthorizedKeys: true,
      type: 'ssh',
      keyPairName: name,
    });
    await clean.run(state, { ui, signal: new AbortController().signal });
    assert.equal(ui.lines.at(-1), 'say: Trying to remove ephemeral keys from authorized_keys files');
    assert.equal(
      await fsp.readFile(`${env.home}/.ssh/authorized_keys`, 'utf8'),
      'ssh-ed25519 AAAAkeep other\n',
    );
    await step.cleanup?.(state, ui);
  });
});
