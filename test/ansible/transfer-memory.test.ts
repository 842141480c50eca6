/**
 * The proxy streams files: 256 MiB up and down through it — OpenSSH's scp in SFTP mode (the proxy's
 * own SFTP server) and legacy scp (-O) — never grows the proxy process's peak RSS by anything near
 * the file's size. The proxy runs in a child process (proxy-process.ts) so its peak (VmHWM) is its
 * own; the bound is generous (half the file: allocator and GC slack vary with load), a buffering proxy needs at least the whole file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';
import { generateKeyPair } from '../../src/adapter/index.js';
import { exec, NO_KNOWN_HOSTS, tempDir } from './helpers.js';

const SIZE = 256 * 1024 * 1024;
const BOUND = 128 * 1024 * 1024;
const USER = 'ansible';

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/** Peak and current resident set of a process, in bytes. */
async function memory(pid: number): Promise<{ peak: number; rss: number }> {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { peak: kb('VmHWM'), rss: kb('VmRSS') };
}

describe('proxy file transfer memory', () => {
  let env: SshEnv;
  let dir: string;
  let keyFile: string;
  let child: ChildProcess;
  let port: number;
  let local: string;
  let localSum: string;

  before(async () => {
    env = await startSshEnv({ recordCommands: false });
    dir = await tempDir('kiln-transfer-memory');
    const user = await generateKeyPair('ed25519');
    const host = await generateKeyPair('ed25519');
    keyFile = join(dir, 'key');
    await fsp.writeFile(keyFile, user.privateKey, { mode: 0o600 });
    local = join(dir, 'big.bin');
    const r = await exec('sh', ['-c', `head -c ${SIZE} /dev/urandom > ${local}`]);
    assert.equal(r.code, 0, r.stderr);
    localSum = await sha256(local);
    const script = fileURLToPath(new URL('./proxy-process.js', import.meta.url));
    const cfg = {
      host: env.host,
      port: env.port,
      user: env.user,
      keyFile: env.keyFile,
      proxyUser: USER,
      hostKey: host.privateKey,
      authorizedKey: user.publicKey,
    };
    child = spawn(process.execPath, [script, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    port = (JSON.parse(line.toString()) as { port: number }).port;
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.stdin?.end();
      await once(child, 'exit');
    }
    await env?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  const scp = (args: string[]) =>
    exec('scp', [...NO_KNOWN_HOSTS, '-i', keyFile, '-P', String(port), '-o', 'Compression=no', ...args]);

  test('a small transfer first (warms the proxy up; the baseline for the big ones)', async () => {
    const small = join(dir, 'small.bin');
    await fsp.writeFile(small, Buffer.alloc(3 * 1024 * 1024, 1));
    for (const mode of [[], ['-O']]) {
      const r = await scp([...mode, small, `${USER}@127.0.0.1:warm.bin`]);
      assert.equal(r.code, 0, r.stderr);
      const b = await scp([...mode, `${USER}@127.0.0.1:warm.bin`, join(dir, 'warm-back.bin')]);
      assert.equal(b.code, 0, b.stderr);
    }
  });

  for (const [name, mode] of [
    ["SFTP mode (the proxy's SFTP server)", [] as string[]],
    ['legacy scp -O', ['-O']],
  ] as const) {
    test(`256 MiB up and down with ${name}: intact, and peak RSS grows by less than 128 MiB`, async (t) => {
      const before = await memory(child.pid!);
      const remote = join(env.home, `big-${mode.length}.bin`);
      const up = await scp([...mode, local, `${USER}@127.0.0.1:${remote}`]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(await sha256(remote), localSum, 'uploaded intact');
      const back = join(dir, `back-${mode.length}.bin`);
      const down = await scp([...mode, `${USER}@127.0.0.1:${remote}`, back]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256(back), localSum, 'downloaded intact');
      await fsp.rm(remote);
      await fsp.rm(back);
      const afterwards = await memory(child.pid!);
      const growth = afterwards.peak - before.peak;
      t.diagnostic(
        `peak RSS ${(before.peak / 2 ** 20).toFixed(1)} → ${(afterwards.peak / 2 ** 20).toFixed(1)} MiB`,
      );
      assert.ok(
        growth < BOUND,
        `peak RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB (from ${(before.peak / 2 ** 20).toFixed(1)} MiB)`,
      );
    });
  }
});
