/**
 * The legacy scp protocol (`scp -t` sink, `scp -f` source) as spoken by OpenSSH's scp over an exec
 * channel, translated into uploads/downloads on a target (the build's Communicator). No network here:
 * bytes come in on a Readable, responses go out on a Writable, so tests drive it with PassThroughs.
 *
 * Wire format (one record per line, each answered with a status byte: 0 ok, 1 warning, 2 fatal,
 * the latter two followed by a message line):
 *   C<mode> <size> <name>\n  <size bytes> \0     a file
 *   T<mtime> 0 <atime> 0\n                       times of the next C/D record (with -p)
 *   D<mode> 0 <name>\n … E\n                     a directory and its end (with -r)
 */
import { once } from 'node:events';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { posix } from 'node:path';
import type { FileInfo } from '../core/types.js';
import { ByteReader } from './byte-reader.js';
import { shellSplit } from './shellwords.js';

/** A parsed `scp -t …` / `scp -f …` command line. */
export interface ScpCommand {
  direction: 'sink' | 'source';
  recursive: boolean;
  preserveTimes: boolean;
  /** `-d`: the target must be a directory. */
  targetIsDir: boolean;
  paths: string[];
}

/** What the scp emulation transfers to and from. */
export interface ScpTarget {
  upload(path: string, data: Readable | Buffer, info: FileInfo): Promise<void>;
  /** Size, permissions and modification time of a file to send; rejects when it cannot be read. */
  stat(path: string): Promise<{ size: number; mode: number; mtime: Date; isDir: boolean }>;
  /** Streams a file's bytes into `out`, honouring its backpressure. */
  download(path: string, out: Writable): Promise<void>;
  isDir(path: string): Promise<boolean>;
  mkdir(path: string, mode: number): Promise<void>;
}

/**
 * Recognises the commands OpenSSH's scp runs remotely: `scp [-v] [-r] [-p] [-d] -t|-f [--] path…`.
 * Returns undefined for anything else (which is then executed as an ordinary command).
 */
export function parseScpCommand(command: string): ScpCommand | undefined {
  if (!command.startsWith('scp ')) return undefined;
  const words = shellSplit(command);
  if (!words || words[0] !== 'scp') return undefined;
  const flags = new Set<string>();
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i];
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (const ch of w.slice(1)) flags.add(ch);
  }
  const sink = flags.has('t');
  const source = flags.has('f');
  if (sink === source) return undefined;
  const paths = words.slice(i);
  if (!paths.length) return undefined;
  return {
    direction: sink ? 'sink' : 'source',
    recursive: flags.has('r'),
    preserveTimes: flags.has('p'),
    targetIsDir: flags.has('d'),
    paths,
  };
}

class ScpError extends Error {}

const OK = Buffer.from([0]);

async function send(out: Writable, data: Buffer | string): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

async function fatal(out: Writable, msg: string): Promise<void> {
  await send(out, Buffer.concat([Buffer.from([2]), Buffer.from(`scp: ${msg}\n`)]));
}

/** Reads a status byte from the peer; throws on a fatal one, returns the warning text on a warning. */
async function readAck(r: ByteReader): Promise<string | undefined> {
  const b = await r.byte();
  if (b === undefined) throw new ScpError('connection closed while waiting for acknowledgement');
  if (b === 0) return undefined;
  const line = (await r.line()) ?? '';
  if (b === 1) return line;
  throw new ScpError(line.replace(/^scp: /, ''));
}

function parseRecord(line: string): { mode: number; size: number; name: string } {
  const m = /^([0-7]{3,5}) (\d+) (.+)$/.exec(line);
  if (!m) throw new ScpError(`protocol error: bad record ${JSON.stringify(line)}`);
  const name = m[3];
  if (name === '.' || name === '..' || name.includes('/')) {
    throw new ScpError(`protocol error: unexpected filename: ${name}`);
  }
  return { mode: parseInt(m[1], 8), size: Number(m[2]), name };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Receives files (`scp -t target`). Resolves with the exit status scp would have: 0 or 1.
 */
export async function scpSink(
  input: Readable,
  out: Writable,
  cmd: ScpCommand,
  target: ScpTarget,
): Promise<number> {
  const r = new ByteReader(input);
  const root = cmd.paths[0];
  const dirs: string[] = [];
  let times: { mtime: Date } | undefined;
  let rootIsDir: boolean | undefined = cmd.targetIsDir ? true : undefined;

  const destFor = async (name: string): Promise<string> => {
    if (dirs.length) return posix.join(dirs[dirs.length - 1], name);
    if (rootIsDir === undefined) rootIsDir = root.endsWith('/') || (await target.isDir(root));
    return rootIsDir ? posix.join(root, name) : root;
  };

  try {
    await send(out, OK);
    for (;;) {
      const kind = await r.byte();
      if (kind === undefined) return 0;
      const rest = (await r.line()) ?? '';
      switch (String.fromCharCode(kind)) {
        case 'T': {
          const m = /^(\d+) \d+ (\d+) \d+$/.exec(rest);
          if (!m) throw new ScpError('protocol error: mtime.sec not delimited');
          times = { mtime: new Date(Number(m[1]) * 1000) };
          await send(out, OK);
          break;
        }
        case 'D': {
          const rec = parseRecord(rest);
          const path = await destFor(rec.name);
          await target.mkdir(path, rec.mode);
          dirs.push(path);
          times = undefined;
          await send(out, OK);
          break;
        }
        case 'E':
          if (!dirs.length) throw new ScpError('protocol error: unexpected <newline>');
          dirs.pop();
          await send(out, OK);
          break;
        case 'C': {
          const rec = parseRecord(rest);
          const info: FileInfo = { mode: rec.mode, size: rec.size, mtime: times?.mtime };
          times = undefined;
          if (!dirs.length && rootIsDir === undefined && !root.endsWith('/') && rec.size <= OPTIMISTIC_MAX) {
            // Usually the target names the file itself (ansible always does): try that first and
            // look for a directory only if it fails, saving a remote round trip per transfer.
            rootIsDir = await receiveOptimistic(r, out, root, rec.name, info, target);
          } else {
            await receiveFile(r, out, await destFor(rec.name), rec.size, info, target);
          }
          break;
        }
        case '\x01':
          break; // a warning from the client: keep going
        case '\x02':
          return 1;
        default:
          throw new ScpError(`protocol error: expected control record`);
      }
    }
  } catch (err) {
    await fatal(out, message(err)).catch(() => undefined);
    return 1;
  }
}

/**
 * Files up to this size are held in memory so a failed first upload can be retried (the bound on
 * what a transfer holds; larger files stream).
 */
const OPTIMISTIC_MAX = 8 * 1024 * 1024;

/**
 * Receives one file for a target that is a file path or an existing directory: uploads to the
 * target; if that fails and the target is a directory, uploads to target/name. Resolves with
 * whether the target turned out to be a directory.
 */
async function receiveOptimistic(
  r: ByteReader,
  out: Writable,
  root: string,
  name: string,
  info: FileInfo,
  target: ScpTarget,
): Promise<boolean> {
  await send(out, OK);
  const chunks: Buffer[] = [];
  for await (const chunk of r.exactly(info.size ?? 0)) chunks.push(Buffer.from(chunk));
  const b = await r.byte();
  if (b !== 0) throw new ScpError('protocol error: file data not terminated');
  const data = Buffer.concat(chunks);
  const upload = (path: string) => target.upload(path, data, info);
  let isDir = false;
  try {
    await upload(root);
  } catch (first) {
    isDir = await target.isDir(root).catch(() => false);
    if (!isDir) throw new ScpError(`${root}: ${message(first)}`);
    const path = posix.join(root, name);
    await upload(path).catch((err: unknown) => {
      throw new ScpError(`${path}: ${message(err)}`);
    });
  }
  await send(out, OK);
  return isDir;
}

async function receiveFile(
  r: ByteReader,
  out: Writable,
  path: string,
  size: number,
  info: FileInfo,
  target: ScpTarget,
): Promise<void> {
  const body = new PassThrough({ highWaterMark: 256 * 1024 });
  let failure: unknown;
  const uploaded = target.upload(path, body, info).catch((err: unknown) => {
    failure = err;
    body.resume(); // keep accepting bytes so the client can finish sending
  });
  await send(out, OK);
  for await (const chunk of r.exactly(size)) {
    if (failure === undefined && !body.write(chunk)) {
      await Promise.race([once(body, 'drain'), uploaded]);
    }
  }
  body.end();
  const b = await r.byte(); // the client's end-of-data status
  if (b !== 0) throw new ScpError('protocol error: file data not terminated');
  await uploaded;
  if (failure !== undefined) throw new ScpError(`${path}: ${message(failure)}`);
  await send(out, OK);
}

/**
 * A Writable that passes exactly `size` bytes on to `out` with its backpressure and swallows any
 * more (the file grew after it was measured); `sent` counts what went through.
 */
class Exactly extends Writable {
  sent = 0;
  constructor(
    private readonly out: Writable,
    private readonly size: number,
  ) {
    super({ highWaterMark: 0 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const room = this.size - this.sent;
    if (room <= 0) return cb();
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.sent += piece.length;
    send(this.out, piece).then(() => cb(), cb);
  }
}

/**
 * Sends files (`scp -f path…`), each streamed from the target as the client takes it (never held
 * whole). Resolves with scp's exit status: 0, or 1 when some file failed.
 */
export async function scpSource(
  input: Readable,
  out: Writable,
  cmd: ScpCommand,
  target: ScpTarget,
): Promise<number> {
  const r = new ByteReader(input);
  let status = 0;
  const warn = async (text: string) => {
    await send(out, Buffer.concat([Buffer.from([1]), Buffer.from(`${text}\n`)]));
    status = 1;
  };
  try {
    await readAck(r); // the sink says it is ready
    for (const path of cmd.paths) {
      let st: { size: number; mode: number; mtime: Date; isDir: boolean };
      try {
        st = await target.stat(path);
      } catch (err) {
        const m = message(err);
        await warn(m.startsWith('scp: ') ? m : `scp: ${path}: ${m}`);
        continue;
      }
      if (st.isDir) {
        await warn(`scp: ${path}: not a regular file`);
        continue;
      }
      if (cmd.preserveTimes) {
        const t = Math.floor(st.mtime.getTime() / 1000);
        await send(out, `T${t} 0 ${t} 0\n`);
        await readAck(r);
      }
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      await send(out, `C${mode} ${st.size} ${posix.basename(path)}\n`);
      if ((await readAck(r)) !== undefined) {
        status = 1;
        continue;
      }
      const body = new Exactly(out, st.size);
      let failure: string | undefined;
      await target.download(path, body).catch((err: unknown) => {
        failure = message(err);
      });
      if (body.sent < st.size) {
        // Short (the file shrank, or the read failed): fill up as promised, then report it.
        for (let left = st.size - body.sent; left > 0; left -= 64 * 1024) {
          await send(out, Buffer.alloc(Math.min(left, 64 * 1024)));
        }
        failure ??= 'file changed size while being sent';
      }
      if (failure !== undefined) {
        await send(out, Buffer.concat([Buffer.from([1]), Buffer.from(`scp: ${path}: ${failure}\n`)]));
        status = 1;
      } else {
        await send(out, OK);
      }
      if ((await readAck(r)) !== undefined) status = 1;
    }
    return status;
  } catch (err) {
    await fatal(out, message(err)).catch(() => undefined);
    return 1;
  }
}
