/** The SCP state machines against a scripted remote end (in-memory streams, no network). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { ByteReader } from './byte-reader.js';
import { receiveDir, receiveFile, sendDir, sendFile, type ScpIo } from './scp.js';

/** A fake remote: `remoteOut` is what the remote scp prints; `sent()` is what we wrote to it. */
function fakeRemote() {
  const toRemote = new PassThrough();
  const remoteOut = new PassThrough();
  const chunks: Buffer[] = [];
  toRemote.on('data', (c: Buffer) => chunks.push(c));
  const io: ScpIo = { input: toRemote, reader: new ByteReader(remoteOut) };
  return { io, remoteOut, sent: () => Buffer.concat(chunks).toString('latin1') };
}

test('sendFile writes the C record, the bytes and a final zero, reading an ack after each', async () => {
  const r = fakeRemote();
  r.remoteOut.write(Buffer.from([0, 0]));
  await sendFile(r.io, 'a b.txt', 0o755, 5, Buffer.from('hello'));
  assert.equal(r.sent(), 'C0755 5 a b.txt\nhello\0');
});

test('sendFile turns a \\1 ack into the remote error text', async () => {
  const r = fakeRemote();
  r.remoteOut.write('\x01scp: /x/y: No such file or directory\n');
  await assert.rejects(
    sendFile(r.io, 'y', 0o644, 1, Buffer.from('x')),
    /^Error: scp: \/x\/y: No such file or directory$/,
  );
});

test('sendFile refuses a stream shorter than announced', async () => {
  const r = fakeRemote();
  r.remoteOut.write(Buffer.from([0, 0]));
  const src = new PassThrough();
  src.end('abc');
  await assert.rejects(sendFile(r.io, 'f', 0o644, 10, src), /sent 3 bytes, expected 10/);
});

test('sendDir wraps the directory in D/E records unless asked for contents only', async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-scp-'));
  await fsp.mkdir(join(dir, 'top/sub'), { recursive: true });
  await fsp.chmod(join(dir, 'top'), 0o750);
  await fsp.chmod(join(dir, 'top/sub'), 0o700);
  await fsp.writeFile(join(dir, 'top/a'), 'A', { mode: 0o600 });
  await fsp.writeFile(join(dir, 'top/sub/b'), 'BB', { mode: 0o644 });
  const wrapped = fakeRemote();
  wrapped.remoteOut.write(Buffer.alloc(20));
  await sendDir(wrapped.io, join(dir, 'top'), true);
  assert.equal(wrapped.sent(), 'D0750 0 top\nC0600 1 a\nA\0D0700 0 sub\nC0644 2 b\nBB\0E\nE\n');
  const contents = fakeRemote();
  contents.remoteOut.write(Buffer.alloc(20));
  await sendDir(contents.io, join(dir, 'top'), false);
  assert.equal(contents.sent(), 'C0600 1 a\nA\0D0700 0 sub\nC0644 2 b\nBB\0E\n');
  await fsp.rm(dir, { recursive: true });
});

class Sink extends Writable {
  data = '';
  override _write(c: Buffer, _e: string, cb: () => void) {
    this.data += c.toString();
    cb();
  }
}

test('receiveFile acks the header, copies exactly size bytes and acks the end', async () => {
  const r = fakeRemote();
  r.remoteOut.write('T1 0 1 0\nC0644 3 f\nabc\0');
  const out = new Sink();
  await receiveFile(r.io, out);
  assert.equal(out.data, 'abc');
  assert.equal(r.sent(), '\0\0\0\0');
});

test('receiveFile says a directory is a directory', async () => {
  const r = fakeRemote();
  r.remoteOut.write('D0755 0 d\n');
  await assert.rejects(receiveFile(r.io, new Sink()), /^Error: remote file is directory$/);
});

test('receiveDir builds the tree with remote modes and refuses path tricks', async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-scp-'));
  const r = fakeRemote();
  r.remoteOut.end('D0755 0 top\nC0640 2 x\nhi\0D0700 0 in\nC0644 0 empty\n\0E\nE\n');
  await receiveDir(r.io, dir, true);
  assert.equal(await fsp.readFile(join(dir, 'x'), 'utf8'), 'hi');
  assert.equal((await fsp.stat(join(dir, 'x'))).mode & 0o777, 0o640);
  assert.equal((await fsp.stat(join(dir, 'in/empty'))).size, 0);
  const bad = fakeRemote();
  bad.remoteOut.end('C0644 1 ../evil\nx\0');
  await assert.rejects(receiveDir(bad.io, dir, false), /unsafe name/);
  await fsp.rm(dir, { recursive: true });
});
