/**
 * File transfer over the `sftp` subsystem (ssh_file_transfer_method: sftp), spec §7.7: upload =
 * create + copy + chmod to the local mode when known; directories created with the local mode
 * (existing ones tolerated); download = open + copy. Writes are pipelined (many requests in flight).
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import { drained } from './byte-reader.js';
import type { LocalFile } from './scp.js';

const CHUNK = 255 * 1024;
const IN_FLIGHT = 16;

export class SftpTransfer {
  constructor(private readonly sftp: SFTPWrapper) {}

  end(): void {
    this.sftp.end();
  }

  /** Runs one SFTP request; errors name the operation and path (`sftp open /x: No such file`). */
  private call<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void, what = ''): Promise<T> {
    return new Promise((resolve, reject) =>
      fn((err, v) => (err ? reject(what ? new Error(`sftp ${what}: ${err.message}`) : err) : resolve(v))),
    );
  }

  async upload(remotePath: string, data: Readable | Buffer | LocalFile, mode?: number): Promise<void> {
    const handle = await this.call<Buffer>((cb) => this.sftp.open(remotePath, 'w', cb), `open ${remotePath}`);
    try {
      let pos = 0;
      const pending = new Set<Promise<void>>();
      let failure: Error | undefined;
      /** One WRITE request; `done` runs when the server has answered (the buffer is free again). */
      const sendPiece = async (piece: Buffer, done?: () => void) => {
        const at = pos;
        pos += piece.length;
        const p = this.call<void>((cb) => this.sftp.write(handle, piece, 0, piece.length, at, cb as never))
          .catch((e: Error) => {
            failure ??= e;
          })
          .finally(() => done?.());
        pending.add(p);
        void p.finally(() => pending.delete(p));
        if (pending.size >= IN_FLIGHT) await Promise.race(pending);
        if (failure) throw failure;
      };
      const send = async (buf: Buffer) => {
        for (let off = 0; off < buf.length; off += CHUNK) {
          await sendPiece(buf.subarray(off, Math.min(off + CHUNK, buf.length)));
        }
      };
      if (Buffer.isBuffer(data)) await send(data);
      else if ('file' in data && typeof data.file === 'string') {
        // Reused buffers, one per request in flight (a fresh buffer per chunk costs page faults).
        const fh = await fsp.open(data.file, 'r');
        try {
          const pool: Buffer[] = [];
          for (;;) {
            const b = pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
            const { bytesRead } = await fh.read(b, 0, CHUNK, pos);
            if (bytesRead === 0) break;
            await sendPiece(b.subarray(0, bytesRead), () => pool.push(b));
          }
        } finally {
          await fh.close();
        }
      } else {
        for await (const chunk of data as Readable)
          await send(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      }
      await Promise.all(pending);
      if (failure) throw failure;
      if (mode !== undefined)
        await this.call<void>((cb) => this.sftp.fchmod(handle, mode & 0o7777, cb as never));
    } finally {
      await this.call<void>((cb) => this.sftp.close(handle, cb as never)).catch(() => undefined);
    }
  }

  async uploadDir(remoteDir: string, localDir: string, exclude: string[]): Promise<void> {
    const src = localDir.replace(/\/+$/, '') || '/';
    let dst = remoteDir;
    if (!localDir.endsWith('/')) {
      dst = posix.join(remoteDir, posix.basename(src));
      await this.mkdir(dst, (await fsp.stat(src)).mode);
    } else {
      await this.mkdir(dst, 0o755);
    }
    await this.uploadTree(src, dst, exclude);
  }

  private async uploadTree(local: string, remote: string, exclude: string[]): Promise<void> {
    for (const entry of (await fsp.readdir(local)).sort()) {
      if (exclude.includes(entry)) continue;
      const lp = join(local, entry);
      const rp = posix.join(remote, entry);
      const st = await fsp.stat(lp);
      if (st.isDirectory()) {
        await this.mkdir(rp, st.mode);
        await this.uploadTree(lp, rp, exclude);
      } else if (st.isFile()) {
        await this.upload(rp, { file: lp }, st.mode);
      }
    }
  }

  private async mkdir(path: string, mode: number): Promise<void> {
    try {
      await this.call<void>(
        (cb) => this.sftp.mkdir(path, { mode: mode & 0o7777 }, cb as never),
        `mkdir ${path}`,
      );
    } catch (err) {
      const st = await this.call<{ isDirectory(): boolean }>((cb) => this.sftp.stat(path, cb as never)).catch(
        () => undefined,
      );
      if (!st?.isDirectory()) throw err;
    }
  }

  async download(remotePath: string, out: Writable): Promise<void> {
    const rs = this.sftp.createReadStream(remotePath, { highWaterMark: 256 * 1024 } as never);
    await new Promise<void>((resolve, reject) => {
      rs.on('error', (e: Error) => reject(new Error(`sftp open ${remotePath}: ${e.message}`)));
      rs.on('data', (d: Buffer) => {
        if (!out.write(d)) {
          rs.pause();
          drained(out).then(() => rs.resume(), reject);
        }
      });
      rs.on('end', resolve);
    });
  }

  async downloadDir(remoteDir: string, localDir: string): Promise<void> {
    const src = remoteDir.replace(/\/+$/, '') || '/';
    const dst = remoteDir.endsWith('/') ? localDir : join(localDir, posix.basename(src));
    await this.downloadTree(src, dst);
  }

  private async downloadTree(remote: string, local: string): Promise<void> {
    await fsp.mkdir(local, { recursive: true });
    const list = await this.call<{ filename: string; attrs: { mode: number } }[]>(
      (cb) => this.sftp.readdir(remote, cb as never),
      `readdir ${remote}`,
    );
    for (const e of list) {
      const rp = posix.join(remote, e.filename);
      const lp = join(local, e.filename);
      const type = e.attrs.mode & 0o170000;
      if (type === 0o040000) await this.downloadTree(rp, lp);
      else if (type === 0o100000) {
        const out = createWriteStream(lp, { mode: e.attrs.mode & 0o7777 });
        await this.download(rp, out);
        await new Promise<void>((resolve, reject) => {
          out.once('error', reject);
          out.end(resolve);
        });
      }
    }
  }
}
