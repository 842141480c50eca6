/**
 * The proxy against real parts: OpenSSH's ssh, scp (legacy -O and SFTP mode) and sftp talk to the
 * proxy, which works through kiln's SSH communicator on a real sshd (test/env).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';
import { startAdapter, generateKeyPair, type Adapter } from '../../src/adapter/index.js';
import type { Communicator } from '../../src/core/types.js';
import { connectComm, exec, NO_KNOWN_HOSTS, recordingUi, tempDir, type RecordingUi } from './helpers.js';

const USER = 'ansible-claims-this';

describe('ansible proxy adapter', () => {
  let env: SshEnv;
  let comm: Communicator;
  let adapter: Adapter;
  let ui: RecordingUi;
  let dir: string;
  let keyFile: string;
  let otherKeyFile: string;
  let ssh: (extra: string[], remote: string[], input?: string) => ReturnType<typeof exec>;

  before(async () => {
    env = await startSshEnv({ recordCommands: false });
    comm = await connectComm(env);
    dir = await tempDir('kiln-adapter-test');
    const user = await generateKeyPair('ed25519');
    const host = await generateKeyPair('ed25519');
    const other = await generateKeyPair('ed25519');
    keyFile = join(dir, 'user_key');
    otherKeyFile = join(dir, 'other_key');
    await fsp.writeFile(keyFile, user.privateKey, { mode: 0o600 });
    await fsp.writeFile(otherKeyFile, other.privateKey, { mode: 0o600 });
    ui = recordingUi();
    adapter = await startAdapter({
      comm,
      ui,
      user: USER,
      hostKey: host.privateKey,
      authorizedKey: user.publicKey,
    });
    ssh = (extra, remote, input) =>
      exec(
        'ssh',
        [
          ...NO_KNOWN_HOSTS,
          '-i',
          keyFile,
          '-p',
          String(adapter.port),
          ...extra,
          `${USER}@127.0.0.1`,
          ...remote,
        ],
        { input },
      );
  });

  after(async () => {
    await adapter?.close();
    await comm?.close();
    await env?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  test('exec: stdout, stderr, stdin and the exit status go through, as the communicator user', async () => {
    const r = await ssh([], ['id -un; echo to-stderr >&2; cat; exit 7'], 'from-stdin\n');
    assert.equal(r.code, 7, `${r.stderr}\n${ui.lines.join('\n')}`);
    assert.equal(r.stdout, `${env.user}\nfrom-stdin\n`);
    assert.equal(r.stderr, 'to-stderr\n');
  });

  test('exec: many windows of stdout and stderr arrive whole, then the exit status (also multiplexed)', async () => {
    // Several windows of output on both streams, interleaved, while the command exits at once: the
    // proxy must deliver all of it, then the exit status, then close — the order sshd keeps (ssh2
    // alone resumes only stdout after a window stall: stderr was lost, or the proxy hung). ansible's
    // ssh runs through a ControlMaster, whose mux client exits 255 if the exit status is lost.
    const cmd =
      "for i in 1 2 3 4 5 6; do head -c 700000 /dev/zero | tr '\\0' o; head -c 500000 /dev/zero | tr '\\0' e >&2; done; exit 3";
    const mux = [
      '-o',
      'ControlMaster=auto',
      '-o',
      'ControlPersist=30',
      '-o',
      `ControlPath=${join(dir, 'mux-%C')}`,
    ];
    for (const extra of [[], mux, mux]) {
      const r = await ssh(extra, [cmd]);
      assert.equal(r.code, 3, `${r.stderr.slice(-300)}\n${ui.lines.join('\n')}`);
      assert.equal(r.stdout.length, 6 * 700000);
      assert.match(r.stdout, /^o+$/);
      assert.equal(r.stderr.length, 6 * 500000);
      assert.match(r.stderr, /^e+$/);
    }
    await ssh([...mux, '-O', 'exit'], []);
  });

  test('host key is ed25519 and accepted by OpenSSH 9 with no extra algorithm options', async () => {
    const r = await exec('ssh-keyscan', ['-p', String(adapter.port), '127.0.0.1']);
    assert.match(r.stdout, /^\S+ ssh-ed25519 AAAA/m);
    assert.doesNotMatch(r.stdout, /ssh-rsa/);
  });

  test('listens on 127.0.0.1 only', async () => {
    const r = await exec('ss', ['-Hltn', `sport = :${adapter.port}`]);
    const listeners = r.stdout.trim().split('\n').filter(Boolean);
    assert.equal(listeners.length, 1, r.stdout);
    assert.match(listeners[0], new RegExp(`\\s127\\.0\\.0\\.1:${adapter.port}\\s`));
  });

  test('a key other than the one-time key is refused', async () => {
    const before = ui.lines.length;
    const r = await exec('ssh', [
      ...NO_KNOWN_HOSTS,
      '-i',
      otherKeyFile,
      '-p',
      String(adapter.port),
      `${USER}@127.0.0.1`,
      'echo should-not-run',
    ]);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.equal(r.stdout, '');
    await new Promise((res) => setTimeout(res, 100));
    assert.ok(ui.lines.slice(before).includes('==> test: failed to handshake'), ui.lines.join('\n'));
  });

  test('another user name with the right key is refused', async () => {
    const r = await exec('ssh', [
      ...NO_KNOWN_HOSTS,
      '-i',
      keyFile,
      '-p',
      String(adapter.port),
      'root@127.0.0.1',
      'true',
    ]);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied/);
  });

  test('legacy scp (-O): upload into a file path and a directory, then download', async () => {
    const local = join(dir, 'up.txt');
    const payload = 'x'.repeat(200000) + '\nend\n';
    await fsp.writeFile(local, payload, { mode: 0o640 });
    const scp = (args: string[]) =>
      exec('scp', ['-O', ...NO_KNOWN_HOSTS, '-i', keyFile, '-P', String(adapter.port), ...args]);
    let r = await scp([local, `${USER}@127.0.0.1:'scp legacy.txt'`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fsp.readFile(join(env.home, 'scp legacy.txt'), 'utf8'), payload);
    r = await scp([local, `${USER}@127.0.0.1:/tmp/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fsp.readFile('/tmp/up.txt', 'utf8'), payload);
    await fsp.rm('/tmp/up.txt');
    const back = join(dir, 'back.txt');
    await fsp.copyFile(local, join(env.home, 'legacy-src.txt'));
    await exec('chown', [env.user, join(env.home, 'legacy-src.txt')]);
    r = await scp([`${USER}@127.0.0.1:legacy-src.txt`, back]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fsp.readFile(back, 'utf8'), payload);
    r = await scp([`${USER}@127.0.0.1:/nonexistent/file`, back]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nonexistent\/file/);
  });

  test('scp in SFTP mode (OpenSSH 9 default) goes through the built-in SFTP server', async () => {
    const local = join(dir, 'sftp-mode.bin');
    const payload = Buffer.alloc(700000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    await fsp.writeFile(local, payload);
    const scp = (args: string[]) =>
      exec('scp', [...NO_KNOWN_HOSTS, '-i', keyFile, '-P', String(adapter.port), ...args]);
    let r = await scp([local, `${USER}@127.0.0.1:sftp-mode.bin`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await fsp.readFile(join(env.home, 'sftp-mode.bin'))).equals(payload));
    const back = join(dir, 'sftp-back.bin');
    r = await scp([`${USER}@127.0.0.1:sftp-mode.bin`, back]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await fsp.readFile(back)).equals(payload));
  });

  test('sftp batch: mkdir, put, ls, rename, chmod, get, rm, rmdir', async () => {
    const local = join(dir, 'batch.txt');
    await fsp.writeFile(local, 'batch\n');
    const script = [
      'mkdir kiln-sftp',
      `put ${local} kiln-sftp/a.txt`,
      'ls -l kiln-sftp',
      'rename kiln-sftp/a.txt kiln-sftp/b.txt',
      'chmod 600 kiln-sftp/b.txt',
      `get kiln-sftp/b.txt ${join(dir, 'got.txt')}`,
      'rm kiln-sftp/b.txt',
      'rmdir kiln-sftp',
    ].join('\n');
    const r = await exec(
      'sftp',
      [...NO_KNOWN_HOSTS, '-i', keyFile, '-P', String(adapter.port), '-b', '-', `${USER}@127.0.0.1`],
      { input: script },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /a\.txt/);
    assert.equal(await fsp.readFile(join(dir, 'got.txt'), 'utf8'), 'batch\n');
    await assert.rejects(fsp.stat(join(env.home, 'kiln-sftp')));
  });

  test('sftp: resumed transfers (reput appends, reget reads from an offset), put -p keeps the mode', async () => {
    const full = Buffer.alloc(1_500_000);
    for (let i = 0; i < full.length; i++) full[i] = (i * 7) & 0xff;
    const localFull = join(dir, 'resume-full.bin');
    const localPart = join(dir, 'resume-part.bin');
    await fsp.writeFile(localFull, full, { mode: 0o751 });
    await fsp.writeFile(localPart, full.subarray(0, 600_000));
    const remote = join(env.home, 'kiln-resume.bin');
    await fsp.writeFile(remote, full.subarray(0, 400_000));
    await exec('chown', [env.user, remote]);
    const script = [
      `reput ${localFull} kiln-resume.bin`,
      `reget kiln-resume.bin ${localPart}`,
      `put -p ${localFull} kiln-resume-p.bin`,
    ].join('\n');
    const r = await exec(
      'sftp',
      [...NO_KNOWN_HOSTS, '-i', keyFile, '-P', String(adapter.port), '-b', '-', `${USER}@127.0.0.1`],
      { input: script },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok((await fsp.readFile(remote)).equals(full), 'reput appended the rest');
    assert.ok((await fsp.readFile(localPart)).equals(full), 'reget fetched the rest');
    const p = join(env.home, 'kiln-resume-p.bin');
    assert.ok((await fsp.readFile(p)).equals(full));
    assert.equal((await fsp.stat(p)).mode & 0o7777, 0o751);
    await fsp.rm(remote);
    await fsp.rm(p);
  });

  test('an ecdsa host key works as well; closing the proxy stops it listening', async () => {
    const host = await generateKeyPair('ecdsa');
    const user = await generateKeyPair('ecdsa');
    const k = join(dir, 'ecdsa_user');
    await fsp.writeFile(k, user.privateKey, { mode: 0o600 });
    const a = await startAdapter({
      comm,
      ui,
      user: 'u',
      hostKey: host.privateKey,
      authorizedKey: user.publicKey,
    });
    const scan = await exec('ssh-keyscan', ['-p', String(a.port), '127.0.0.1']);
    assert.match(scan.stdout, /ecdsa-sha2-nistp256 /);
    const r = await exec('ssh', [...NO_KNOWN_HOSTS, '-i', k, '-p', String(a.port), 'u@127.0.0.1', 'echo ok']);
    assert.equal(r.stdout, 'ok\n', r.stderr);
    await a.close();
    const r2 = await exec('ssh', [
      ...NO_KNOWN_HOSTS,
      '-i',
      k,
      '-p',
      String(a.port),
      'u@127.0.0.1',
      'echo ok',
    ]);
    assert.equal(r2.code, 255);
    assert.match(r2.stderr, /Connection refused/);
  });
});
