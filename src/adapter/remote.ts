/**
 * Small remote operations the proxy needs beyond start/upload/download (stat, mkdir, rename …),
 * each one shell command run through the build's Communicator.
 */
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
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

/** Downloads a remote file into memory (small files only: tests and metadata). */
export async function downloadBuffer(comm: Communicator, path: string): Promise<Buffer> {
  const out = new Collect();
  await comm.download(path, out);
  return Buffer.concat(out.chunks);
}

/**
 * A remote command fed from a stream: `stdin` is piped to the command as it is written (with the
 * channel's backpressure), `done` settles when the command exits (rejecting with a RemoteError
 * unless it exits 0). Used to write files as their bytes arrive instead of collecting them first.
 */
export class RemoteSink {
  readonly stdin = new PassThrough({ highWaterMark: 1 << 20 });
  readonly done: Promise<void>;
  private settled = false;
  constructor(comm: Communicator, command: string, what: string, signal?: AbortSignal) {
    const stderr = new Collect();
    this.done = comm.start({ command, stdin: this.stdin, stderr }, signal).then((code) => {
      this.settled = true;
      if (code !== 0) throw classify({ code, stdout: '', stderr: stderr.text() }, what);
    });
    // A failure is read by whoever awaits `done`; never an unhandled rejection meanwhile.
    this.done.catch(() => {
      this.settled = true;
      this.stdin.resume(); // the command is gone: drop whatever is still written
    });
  }

  /** Writes a chunk; resolves once the stream takes more (or rejects when the command failed). */
  async write(chunk: Buffer): Promise<void> {
    if (this.settled) return this.done;
    if (this.stdin.write(chunk)) return;
    await Promise.race([once(this.stdin, 'drain'), this.done]);
  }

  /** Ends the input and waits for the command's exit status. */
  async end(): Promise<void> {
    this.stdin.end();
    await this.done;
  }
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

/** Turns a failed command's stderr into a RemoteError of the right kind. */
export function classify(r: RunResult, what: string): RemoteError {
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

/** One download of a remote file into a bounded window of held bytes. */
class DownloadWindow {
  private chunks: Buffer[] = [];
  /** File offset of chunks[0][0]. */
  base = 0;
  private held = 0;
  /** The offset the reader is at: nothing before it is kept. */
  private floor = 0;
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private resumeDownload: (() => void) | undefined;
  /** Set when the reader moved on: the rest of the download drains into nothing. */
  private abandoned = false;

  constructor(
    comm: Communicator,
    path: string,
    private readonly limit: number,
  ) {
    const sink = new Writable({
      highWaterMark: 0,
      write: (chunk: Buffer, _enc, cb) => {
        if (this.abandoned) return cb();
        this.chunks.push(chunk);
        this.held += chunk.length;
        this.discardTo(this.floor); // bytes before the offset being read are never needed
        this.notify();
        if (this.held < this.limit) return cb();
        this.resumeDownload = () => {
          this.resumeDownload = undefined;
          cb();
        };
      },
    });
    comm.download(path, sink).then(
      () => {
        this.ended = true;
        this.notify();
      },
      (err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        this.failure = classify({ code: 1, stdout: '', stderr: msg }, 'download');
        this.notify();
      },
    );
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async waitFor(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Resolves once the first bytes came or the file turned out empty; rejects if the download failed. */
  async started(): Promise<void> {
    await this.waitFor(() => this.held > 0 || this.ended || this.failure !== undefined);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Drops held bytes before `offset`, letting the download continue. */
  private discardTo(offset: number): void {
    while (this.chunks.length && this.base + this.chunks[0].length <= offset) {
      const c = this.chunks.shift() as Buffer;
      this.base += c.length;
      this.held -= c.length;
    }
    if (this.chunks.length && this.base < offset) {
      const cut = offset - this.base;
      this.chunks[0] = this.chunks[0].subarray(cut);
      this.base += cut;
      this.held -= cut;
    }
    if (this.held < this.limit) this.resumeDownload?.();
  }

  /** Up to `len` bytes at `offset` (not before `base`); undefined at or past the end of the file. */
  async read(offset: number, len: number): Promise<Buffer | undefined> {
    const want = Math.min(len, this.limit);
    this.floor = offset;
    this.discardTo(offset);
    await this.waitFor(
      () => this.failure !== undefined || this.ended || this.base + this.held >= offset + want,
    );
    if (this.failure !== undefined) throw this.failure;
    this.discardTo(offset);
    const have = this.base + this.held - offset;
    if (have <= 0) return undefined;
    let left = Math.min(want, have);
    const out: Buffer[] = [];
    for (const c of this.chunks) {
      if (left <= 0) break;
      const piece = c.subarray(0, left);
      out.push(piece);
      left -= piece.length;
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** Stops holding data; the download (if still running) drains into nothing. */
  abandon(): void {
    this.abandoned = true;
    this.chunks = [];
    this.held = 0;
    this.resumeDownload?.();
  }
}

/**
 * A remote file read as a client asks for it, without holding the file: the download streams into
 * a bounded window (4 MiB by default; the download waits while the window is full) and reads are
 * answered from it. OpenSSH's sftp and scp read a file front to back; a read before the window
 * starts the download again.
 */
export class RemoteSource {
  private constructor(
    private readonly comm: Communicator,
    private readonly path: string,
    private readonly limit: number,
    private window: DownloadWindow,
  ) {}

  /** Starts the download; rejects (with a RemoteError) when the file cannot be read. */
  static async open(comm: Communicator, path: string, limit = 4 << 20): Promise<RemoteSource> {
    const w = new DownloadWindow(comm, path, limit);
    await w.started();
    return new RemoteSource(comm, path, limit, w);
  }

  /** Up to `len` bytes at `offset`; undefined at or past the end of the file. */
  async read(offset: number, len: number): Promise<Buffer | undefined> {
    if (offset < this.window.base) {
      this.window.abandon();
      this.window = new DownloadWindow(this.comm, this.path, this.limit);
      await this.window.started();
    }
    return this.window.read(offset, len);
  }

  close(): void {
    this.window.abandon();
  }
}
