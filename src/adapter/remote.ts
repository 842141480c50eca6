/**
 * Small remote operations the proxy needs beyond start/upload/download (stat, mkdir, rename …),
 * each one shell command run through the build's Communicator.
 */
import { Writable } from 'node:stream';
import type { Communicator } from '../core/types.js';
import { shellQuote } from './shellwords.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Collect extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Runs `command` remotely and collects its output. */
export async function run(comm: Communicator, command: string): Promise<RunResult> {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await comm.start({ command, stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Downloads a remote file into memory. */
export async function downloadBuffer(comm: Communicator, path: string): Promise<Buffer> {
  const out = new Collect();
  await comm.download(path, out);
  return Buffer.concat(out.chunks);
}

export interface RemoteStat {
  mode: number;
  size: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
}

/** A remote failure with the errno-like kind the SFTP layer maps to a status code. */
export class RemoteError extends Error {
  constructor(
    readonly kind: 'nofile' | 'denied' | 'failure',
    message: string,
  ) {
    super(message);
  }
}

function classify(r: RunResult, what: string): RemoteError {
  const text = r.stderr.trim() || `${what} failed with exit status ${r.code}`;
  if (/No such file|not found|cannot stat/i.test(text)) return new RemoteError('nofile', text);
  if (/Permission denied|Operation not permitted/i.test(text)) return new RemoteError('denied', text);
  return new RemoteError('failure', text);
}

const q = shellQuote;

/** `stat` through GNU coreutils (Linux targets): follows symlinks unless `lstat`. */
export async function remoteStat(comm: Communicator, path: string, lstat = false): Promise<RemoteStat> {
  const r = await run(comm, `stat ${lstat ? '' : '-L '}-c '%f %s %u %g %X %Y' -- ${q(path)}`);
  if (r.code !== 0) throw classify(r, 'stat');
  const [mode, size, uid, gid, atime, mtime] = r.stdout.trim().split(' ');
  return {
    mode: parseInt(mode, 16),
    size: Number(size),
    uid: Number(uid),
    gid: Number(gid),
    atime: Number(atime),
    mtime: Number(mtime),
  };
}

export async function remoteIsDir(comm: Communicator, path: string): Promise<boolean> {
  return (await run(comm, `test -d ${q(path)}`)).code === 0;
}

/** Runs a command that only succeeds or fails. */
export async function remoteDo(comm: Communicator, command: string, what: string): Promise<void> {
  const r = await run(comm, command);
  if (r.code !== 0) throw classify(r, what);
}

/** The canonical absolute path; relative paths start at the login directory, like sftp-server. */
export async function remoteRealpath(comm: Communicator, path: string): Promise<string> {
  const r = await run(comm, `cd && realpath -m -- ${q(path || '.')}`);
  if (r.code !== 0) throw classify(r, 'realpath');
  return r.stdout.replace(/\n$/, '');
}
