/**
 * The client side of the SCP protocol (`scp -t` sink / `scp -f` source on the remote end), as a
 * state machine over two streams: what we write to the remote scp's stdin, and a ByteReader over its
 * stdout. No sockets here, so it is testable with in-memory streams. Mirrors the Packer SDK's
 * `sdk-internals/communicator/ssh` scp functions (spec §7.7).
 *
 * Wire format, as seen from this side:
 *   ack            := "\0" | ("\1" | "\2") <error text> "\n"
 *   file record    := "C" <mode: 4 octal digits> " " <size> " " <name> "\n"  <size bytes> "\0"
 *   dir record     := "D" <mode> " 0 " <name> "\n"  … records …  "E\n"
 *   time record    := "T" <mtime> " 0 " <atime> " 0\n"   (only received, ignored)
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ByteReader, drained } from './byte-reader.js';

/** The two ends of a remote `scp` process. */
export interface ScpIo {
  /** The remote scp's stdin. */
  input: Writable;
  reader: ByteReader;
}

/** Reads one ack; a `\1`/`\2` ack's message line becomes the error. */
export async function readAck(io: ScpIo): Promise<void> {
  const b = await io.reader.byte();
  if (b === 0) return;
  if (b === undefined) throw new Error('scp: unexpected EOF waiting for acknowledgement');
  if (b === 1 || b === 2) {
    const line = (await io.reader.line()) ?? '';
    throw new Error(line);
  }
  // Anything else: the remote printed something unexpected; report the whole line.
  const rest = (await io.reader.line()) ?? '';
  throw new Error(`scp: unexpected response: ${String.fromCharCode(b)}${rest}`);
}

async function write(w: Writable, data: string | Buffer): Promise<void> {
  if (!w.write(data)) await drained(w);
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** A local file to send, read by kiln itself (see sendLocalFile). */
export interface LocalFile {
  file: string;
}

const CHUNK = 1 << 20;

/**
 * Writes a local file's first `size` bytes to `w` through two reused 1 MiB buffers (a buffer is
 * refilled only after the stream has consumed it, i.e. ssh2 has copied it into packets). A fresh
 * buffer per chunk, as a ReadStream makes, costs page faults and GC on every MiB.
 */
async function sendLocalFile(w: Writable, path: string, size: number): Promise<number> {
  const fh = await fsp.open(path, 'r');
  try {
    const bufs = [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
    const free: (Promise<void> | undefined)[] = [undefined, undefined];
    let sent = 0;
    for (let i = 0; sent < size; i ^= 1) {
      await free[i];
      const { bytesRead } = await fh.read(bufs[i], 0, Math.min(CHUNK, size - sent), sent);
      if (bytesRead === 0) break;
      sent += bytesRead;
      let consumed!: (err?: Error | null) => void;
      free[i] = new Promise<void>((resolve, reject) => {
        consumed = (err) => (err ? reject(err) : resolve());
      });
      free[i]?.catch(() => undefined); // a failed write surfaces through the stream's error
      if (!w.write(bufs[i].subarray(0, bytesRead), consumed)) await drained(w);
    }
    await Promise.all(free);
    return sent;
  } finally {
    await fh.close();
  }
}

/** Sends one `C` record and its bytes; `size` must be exact. */
export async function sendFile(
  io: ScpIo,
  name: string,
  mode: number,
  size: number,
  data: Readable | Buffer | LocalFile,
): Promise<void> {
  await write(io.input, `C${octal(mode)} ${size} ${name}\n`);
  await readAck(io);
  let sent = 0;
  if ('file' in data && typeof data.file === 'string') {
    sent = await sendLocalFile(io.input, data.file, size);
  } else if (Buffer.isBuffer(data)) {
    await write(io.input, data);
    sent = data.length;
  } else {
    for await (const chunk of data as Readable) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      sent += buf.length;
      if (!io.input.write(buf)) await drained(io.input);
    }
  }
  if (sent !== size) throw new Error(`scp: ${name}: sent ${sent} bytes, expected ${size}`);
  await write(io.input, Buffer.from([0]));
  await readAck(io);
}

/**
 * Sends a local directory. With `wrap` (source had no trailing slash) the contents are enclosed in a
 * `D` record named after the directory; otherwise only the contents are sent. Symlinks to
 * directories are followed.
 */
export async function sendDir(
  io: ScpIo,
  localDir: string,
  wrap: boolean,
  exclude: string[] = [],
): Promise<void> {
  if (wrap) {
    const st = await fsp.stat(localDir);
    await write(io.input, `D${octal(st.mode)} 0 ${basename(localDir)}\n`);
    await readAck(io);
  }
  const entries = await fsp.readdir(localDir);
  entries.sort();
  for (const entry of entries) {
    if (exclude.includes(entry)) continue;
    const path = join(localDir, entry);
    const st = await fsp.stat(path);
    if (st.isDirectory()) {
      await sendDir(io, path, true, exclude);
    } else if (st.isFile()) {
      await sendFile(io, entry, st.mode, st.size, { file: path });
    }
  }
  if (wrap) {
    await write(io.input, 'E\n');
    await readAck(io);
  }
}

interface Record_ {
  kind: 'C' | 'D' | 'E' | 'T';
  mode: number;
  size: number;
  name: string;
}

/** Reads the next record line; undefined at the end of the stream. */
async function readRecord(io: ScpIo): Promise<Record_ | undefined> {
  const first = await io.reader.byte();
  if (first === undefined) return undefined;
  const line = (await io.reader.line()) ?? '';
  if (first === 1 || first === 2) throw new Error(line);
  const kind = String.fromCharCode(first);
  if (kind === 'E') return { kind, mode: 0, size: 0, name: '' };
  if (kind === 'T') return { kind, mode: 0, size: 0, name: '' };
  if (kind !== 'C' && kind !== 'D') throw new Error(`scp: unexpected record: ${kind}${line}`);
  const m = /^([0-7]{4}) (\d+) (.+)$/.exec(line);
  if (!m) throw new Error(`scp: malformed record: ${kind}${line}`);
  const name = m[3];
  if (name === '..' || name === '.' || name.includes('/'))
    throw new Error(`scp: unsafe name in record: ${name}`);
  return { kind, mode: parseInt(m[1], 8), size: Number(m[2]), name };
}

const ZERO = Buffer.from([0]);

/** Receives a single file (`scp -f <file>`) into out; a directory is an error. */
export async function receiveFile(io: ScpIo, out: Writable): Promise<void> {
  await write(io.input, ZERO);
  let rec = await readRecord(io);
  while (rec?.kind === 'T') {
    await write(io.input, ZERO);
    rec = await readRecord(io);
  }
  if (!rec) throw new Error('scp: unexpected EOF waiting for a file record');
  if (rec.kind === 'D') throw new Error('remote file is directory');
  if (rec.kind !== 'C') throw new Error(`scp: unexpected record ${rec.kind}`);
  await write(io.input, ZERO);
  await io.reader.copyTo(rec.size, out);
  await readAck(io);
  await write(io.input, ZERO);
}

/**
 * Receives a tree (`scp -rf <src>`) into localDir, creating directories and files with the remote
 * modes. With `unwrap`, the contents of a single top-level directory record land in localDir itself.
 */
export async function receiveDir(io: ScpIo, localDir: string, unwrap: boolean): Promise<void> {
  await fsp.mkdir(localDir, { recursive: true });
  const stack: string[] = [];
  let depth = 0;
  let cwd = localDir;
  await write(io.input, ZERO);
  for (;;) {
    const rec = await readRecord(io);
    if (!rec) break;
    switch (rec.kind) {
      case 'T':
        break;
      case 'D':
        stack.push(cwd);
        if (!(unwrap && depth === 0)) {
          cwd = join(cwd, rec.name);
          await fsp.mkdir(cwd, { recursive: true, mode: rec.mode });
        }
        depth++;
        break;
      case 'E':
        if (!stack.length) throw new Error('scp: unbalanced E record');
        cwd = stack.pop() as string;
        depth--;
        break;
      case 'C': {
        await write(io.input, ZERO);
        const out = createWriteStream(join(cwd, rec.name), { mode: rec.mode });
        await io.reader.copyTo(rec.size, out);
        await new Promise<void>((resolve, reject) => {
          out.once('error', reject);
          out.end(resolve);
        });
        await readAck(io);
        break;
      }
    }
    await write(io.input, ZERO);
  }
}

/** `dir` with spaces escaped as `\ ` (Packer's only quoting of the scp target directory). */
export function scpTargetDir(dir: string): string {
  return dir.replaceAll(' ', '\\ ');
}
