/**
 * The Communicator conformance suite: every implementation that can reach a real machine runs it
 * (SSH over scp, SSH over sftp, the ansible adapter's proxy …). `setup` returns a connected
 * communicator and a fresh remote scratch directory on the same machine as the test (so results can
 * also be checked through the local file system).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { DISCONNECT_EXIT_STATUS, type Communicator } from '../../src/core/types.js';

export interface ConformanceTarget {
  comm: Communicator;
  /** An empty directory on the remote machine, writable by the remote user and readable locally. */
  remoteDir: string;
  /** False for transports that cannot tell a directory from a file on download (sftp). */
  scpSemantics: boolean;
}

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

async function run(comm: Communicator, command: string, stdin?: Readable) {
  const out = new Collect();
  const err = new Collect();
  const status = await comm.start({ command, stdout: out, stderr: err, stdin });
  return { status, out: out.text(), err: err.text() };
}

async function localTmp(): Promise<string> {
  return fsp.mkdtemp(join(tmpdir(), 'kiln-conf-'));
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Registers the suite's tests (call inside a describe with before/after that manage `get`). */
export function communicatorConformance(get: () => ConformanceTarget): void {
  it('returns the exit status of a command', async () => {
    const { comm } = get();
    assert.equal((await run(comm, 'true')).status, 0);
    assert.equal((await run(comm, 'exit 7')).status, 7);
    assert.equal((await run(comm, 'exit 255')).status, 255);
  });

  it('never loses the exit status of quick commands (30 at once)', async () => {
    const { comm } = get();
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => run(comm, `exit ${i % 4}`)));
    assert.deepEqual(
      statuses.map((s) => s.status),
      Array.from({ length: 30 }, (_, i) => i % 4),
    );
  });

  it('separates stdout and stderr', async () => {
    const r = await run(get().comm, 'echo out; echo err >&2; printf "no newline"');
    assert.equal(r.out, 'out\nno newline');
    assert.equal(r.err, 'err\n');
  });

  it('feeds stdin to the command', async () => {
    const r = await run(get().comm, 'cat; echo done', Readable.from([Buffer.from('line1\nline2\n')]));
    assert.equal(r.out, 'line1\nline2\ndone\n');
  });

  it('reports 2300218 when the command dies by a signal', async () => {
    assert.equal((await run(get().comm, 'kill -KILL $$')).status, DISCONNECT_EXIT_STATUS);
  });

  it('uploads a buffer with the given mode and downloads it back', async () => {
    const { comm, remoteDir } = get();
    const path = `${remoteDir}/buf file.txt`;
    await comm.upload(path, Buffer.from('hello\n'), { mode: 0o600 });
    assert.equal(await fsp.readFile(path, 'utf8'), 'hello\n');
    assert.equal((await fsp.stat(path)).mode & 0o777, 0o600);
    const out = new Collect();
    await comm.download(path, out);
    assert.equal(out.text(), 'hello\n');
  });

  it('uploads a stream of unknown size', async () => {
    const { comm, remoteDir } = get();
    const src = new PassThrough();
    const done = comm.upload(`${remoteDir}/stream.txt`, src);
    src.write('part1-');
    setTimeout(() => src.end('part2'), 20);
    await done;
    assert.equal(await fsp.readFile(`${remoteDir}/stream.txt`, 'utf8'), 'part1-part2');
  });

  it('uploads an empty file', async () => {
    const { comm, remoteDir } = get();
    await comm.upload(`${remoteDir}/empty`, Buffer.alloc(0));
    assert.equal((await fsp.stat(`${remoteDir}/empty`)).size, 0);
  });

  it('fails to upload into a missing directory, naming the path', async () => {
    const { comm, remoteDir } = get();
    await assert.rejects(comm.upload(`${remoteDir}/missing/deeper/x`, Buffer.from('x')), /missing\/deeper/);
  });

  it('uploads a directory: without a trailing slash the directory itself, with one its contents', async () => {
    const { comm, remoteDir } = get();
    const local = await localTmp();
    await fsp.mkdir(join(local, 'tree/sub/deeper'), { recursive: true });
    await fsp.writeFile(join(local, 'tree/a.txt'), 'A');
    await fsp.writeFile(join(local, 'tree/sub/b.sh'), 'B', { mode: 0o750 });
    await fsp.writeFile(join(local, 'tree/sub/deeper/c'), 'C');
    await comm.start({ command: `mkdir -p ${remoteDir}/d1 ${remoteDir}/d2` });
    await comm.uploadDir(`${remoteDir}/d1`, join(local, 'tree'));
    await comm.uploadDir(`${remoteDir}/d2`, join(local, 'tree') + '/');
    assert.equal(await fsp.readFile(`${remoteDir}/d1/tree/sub/deeper/c`, 'utf8'), 'C');
    assert.equal(await fsp.readFile(`${remoteDir}/d2/sub/b.sh`, 'utf8'), 'B');
    assert.equal((await fsp.stat(`${remoteDir}/d2/sub/b.sh`)).mode & 0o777, 0o750);
    assert.equal(await fsp.readFile(`${remoteDir}/d2/a.txt`, 'utf8'), 'A');
    await assert.rejects(fsp.stat(`${remoteDir}/d2/tree`));
    await fsp.rm(local, { recursive: true });
  });

  it('downloads a directory', async () => {
    const { comm, remoteDir } = get();
    await comm.start({
      command: `mkdir -p ${remoteDir}/dl/x/y && echo 1 > ${remoteDir}/dl/one && echo 2 > ${remoteDir}/dl/x/y/two`,
    });
    const local = await localTmp();
    await comm.downloadDir(`${remoteDir}/dl/`, local);
    assert.equal(await fsp.readFile(join(local, 'one'), 'utf8'), '1\n');
    assert.equal(await fsp.readFile(join(local, 'x/y/two'), 'utf8'), '2\n');
    await fsp.rm(local, { recursive: true });
  });

  it('refuses to download a directory as a file', async () => {
    const { comm, remoteDir, scpSemantics } = get();
    await assert.rejects(
      comm.download(remoteDir, new Collect()),
      scpSemantics ? /remote file is directory|not a regular file/ : /./,
    );
  });

  it('fails to download a missing file, naming it', async () => {
    const { comm, remoteDir } = get();
    await assert.rejects(comm.download(`${remoteDir}/nope`, new Collect()), (e: Error) =>
      /No such file|nope/.test(e.message),
    );
  });

  it('uploads a file stream that starts part-way in the file (only that part)', async () => {
    const { comm, remoteDir } = get();
    const local = await localTmp();
    const src = join(local, 'part.txt');
    await fsp.writeFile(src, '0123456789');
    await comm.upload(`${remoteDir}/part.txt`, createReadStream(src, { start: 4 }), { size: 6, mode: 0o644 });
    assert.equal(await fsp.readFile(`${remoteDir}/part.txt`, 'utf8'), '456789');
    await fsp.rm(local, { recursive: true });
  });

  it('keeps a 48 MiB file intact both ways', async () => {
    const { comm, remoteDir } = get();
    const local = await localTmp();
    const src = join(local, 'big.bin');
    const w = createWriteStream(src);
    for (let i = 0; i < 48; i++) w.write(randomBytes(1 << 20));
    await new Promise((r) => w.end(r));
    const size = (await fsp.stat(src)).size;
    await comm.upload(`${remoteDir}/big.bin`, createReadStream(src, { highWaterMark: 1 << 20 }), {
      size,
      mode: 0o644,
    });
    const back = join(local, 'back.bin');
    const out = createWriteStream(back);
    await comm.download(`${remoteDir}/big.bin`, out);
    await new Promise((r) => out.end(r));
    const want = await sha256File(src);
    assert.equal(await sha256File(`${remoteDir}/big.bin`), want);
    assert.equal(await sha256File(back), want);
    await fsp.rm(local, { recursive: true });
  });
}
