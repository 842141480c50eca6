/**
 * The proxy's own SFTP server (subsystem `sftp`): the requests ansible's sftp/scp clients make,
 * answered through the build's Communicator — file contents with download/upload, metadata with small
 * remote shell commands (remote.ts). Files opened for writing are collected in memory and uploaded on
 * CLOSE; files opened for reading are downloaded on OPEN.
 */
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import type { Communicator } from '../core/types.js';
import {
  downloadBuffer,
  remoteDo,
  remoteRealpath,
  remoteStat,
  run,
  RemoteError,
  type RemoteStat,
} from './remote.js';
import { shellQuote as q } from './shellwords.js';

// SFTP v3 constants (draft-ietf-secsh-filexfer-02).
const WRITE = 0x02;
const APPEND = 0x04;
const CREAT = 0x08;
const TRUNC = 0x10;
const EXCL = 0x20;
const OK = 0;
const EOF = 1;
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
const FAILURE = 4;
const OP_UNSUPPORTED = 8;
const S_IFREG = 0o100000;

interface FileHandle {
  kind: 'file';
  path: string;
  data: Buffer;
  length: number;
  dirty: boolean;
  append?: boolean;
  mode?: number;
}
interface DirHandle {
  kind: 'dir';
  entries: FileEntry[] | undefined;
}
type Handle = FileHandle | DirHandle;

function statusOf(err: unknown): [number, string] {
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof RemoteError) {
    if (err.kind === 'nofile') return [NO_SUCH_FILE, msg];
    if (err.kind === 'denied') return [PERMISSION_DENIED, msg];
    return [FAILURE, msg];
  }
  if (/No such file|not found/i.test(msg)) return [NO_SUCH_FILE, msg];
  if (/Permission denied/i.test(msg)) return [PERMISSION_DENIED, msg];
  return [FAILURE, msg];
}

function attrsOf(s: RemoteStat): Attributes {
  return { mode: s.mode, size: s.size, uid: s.uid, gid: s.gid, atime: s.atime, mtime: s.mtime };
}

function modeString(mode: number): string {
  const type = (mode & 0o170000) === 0o040000 ? 'd' : (mode & 0o170000) === 0o120000 ? 'l' : '-';
  let s = type;
  for (const shift of [6, 3, 0]) {
    const p = (mode >> shift) & 7;
    s += (p & 4 ? 'r' : '-') + (p & 2 ? 'w' : '-') + (p & 1 ? 'x' : '-');
  }
  return s;
}

function ensure(h: FileHandle, size: number): void {
  if (size <= h.data.length) return;
  const grown = Buffer.alloc(Math.max(size, h.data.length * 2, 64 * 1024));
  h.data.copy(grown, 0, 0, h.length);
  h.data = grown;
}

/** Serves one SFTP session on `sftp` until the channel closes. */
export function serveSftp(sftp: SFTPWrapper, comm: Communicator, onError: (msg: string) => void): void {
  const handles = new Map<number, Handle>();
  let next = 1;
  const newHandle = (h: Handle): Buffer => {
    const id = next++;
    handles.set(id, h);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id);
    return b;
  };
  const lookup = (b: Buffer): Handle | undefined => (b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined);

  /** Runs an async answer; any failure becomes a status reply. */
  const answer = (reqid: number, fn: () => Promise<void>): void => {
    fn().catch((err: unknown) => {
      const [code, msg] = statusOf(err);
      if (code === FAILURE) onError(`sftp: ${msg}`);
      sftp.status(reqid, code, msg);
    });
  };

  // OPEN: string filename, uint32 pflags, ATTRS → HANDLE | STATUS
  sftp.on('OPEN', (reqid: number, path: string, flags: number, attrs: Attributes) => {
    answer(reqid, async () => {
      const h: FileHandle = { kind: 'file', path, data: Buffer.alloc(0), length: 0, dirty: false };
      if (typeof attrs?.mode === 'number') h.mode = attrs.mode;
      if (flags & EXCL) {
        const exists = await remoteStat(comm, path).then(
          () => true,
          () => false,
        );
        if (exists) throw new RemoteError('failure', `${path}: file exists`);
      }
      const writing = (flags & (WRITE | APPEND)) !== 0;
      h.append = (flags & APPEND) !== 0;
      if (flags & TRUNC) {
        h.dirty = writing;
      } else {
        try {
          h.data = await downloadBuffer(comm, path);
          h.length = h.data.length;
        } catch (err) {
          if (!(flags & CREAT)) throw err;
          h.dirty = writing;
        }
      }
      sftp.handle(reqid, newHandle(h));
    });
  });

  // READ: HANDLE, uint64 offset, uint32 len → DATA | STATUS(EOF)
  sftp.on('READ', (reqid: number, hb: Buffer, offset: number, len: number) => {
    const h = lookup(hb);
    if (!h || h.kind !== 'file') return sftp.status(reqid, FAILURE, 'invalid handle');
    if (offset >= h.length) return sftp.status(reqid, EOF);
    sftp.data(reqid, h.data.subarray(offset, Math.min(h.length, offset + len)));
  });

  // WRITE: HANDLE, uint64 offset, string data → STATUS
  sftp.on('WRITE', (reqid: number, hb: Buffer, offset: number, data: Buffer) => {
    const h = lookup(hb);
    if (!h || h.kind !== 'file') return sftp.status(reqid, FAILURE, 'invalid handle');
    if (h.append) offset = h.length;
    ensure(h, offset + data.length);
    data.copy(h.data, offset);
    h.length = Math.max(h.length, offset + data.length);
    h.dirty = true;
    sftp.status(reqid, OK);
  });

  // FSTAT: HANDLE → ATTRS
  sftp.on('FSTAT', (reqid: number, hb: Buffer) => {
    const h = lookup(hb);
    if (!h || h.kind !== 'file') return sftp.status(reqid, FAILURE, 'invalid handle');
    const now = Math.floor(Date.now() / 1000);
    sftp.attrs(reqid, { mode: S_IFREG | (h.mode ?? 0o644), size: h.length, uid: 0, gid: 0, atime: now, mtime: now });
  });

  // FSETSTAT: HANDLE, ATTRS → STATUS (the mode is applied when the file is written)
  sftp.on('FSETSTAT', (reqid: number, hb: Buffer, attrs: Attributes) => {
    const h = lookup(hb);
    if (!h || h.kind !== 'file') return sftp.status(reqid, FAILURE, 'invalid handle');
    if (typeof attrs?.mode === 'number') {
      h.mode = attrs.mode & 0o7777;
      h.dirty = true;
    }
    if (typeof attrs?.size === 'number' && attrs.size < h.length) {
      h.length = attrs.size;
      h.dirty = true;
    }
    sftp.status(reqid, OK);
  });

  // CLOSE: HANDLE → STATUS (uploads what was written)
  sftp.on('CLOSE', (reqid: number, hb: Buffer) => {
    const h = lookup(hb);
    if (!h) return sftp.status(reqid, FAILURE, 'invalid handle');
    handles.delete(hb.readUInt32BE(0));
    if (h.kind !== 'file' || !h.dirty) return sftp.status(reqid, OK);
    answer(reqid, async () => {
      const mode = (h.mode ?? 0o644) & 0o7777;
      await comm.upload(h.path, Buffer.from(h.data.subarray(0, h.length)), { mode, size: h.length });
      sftp.status(reqid, OK);
    });
  });

  // OPENDIR: string path → HANDLE;  READDIR: HANDLE → NAME… | STATUS(EOF)
  sftp.on('OPENDIR', (reqid: number, path: string) => {
    answer(reqid, async () => {
      const r = await run(
        comm,
        `find -L ${q(path)} -mindepth 1 -maxdepth 1 -printf '%m %y %s %U %G %A@ %T@ %f\\0'`,
      );
      if (r.code !== 0) throw new RemoteError(/No such file/.test(r.stderr) ? 'nofile' : 'failure', r.stderr.trim());
      const types: Record<string, number> = { d: 0o040000, l: 0o120000, f: S_IFREG };
      const entries = r.stdout
        .split('\0')
        .filter(Boolean)
        .map((rec): FileEntry => {
          const [perm, type, size, uid, gid, atime, mtime, ...name] = rec.split(' ');
          const mode = (types[type] ?? S_IFREG) | parseInt(perm, 8);
          const filename = name.join(' ');
          const attrs = {
            mode,
            size: Number(size),
            uid: Number(uid),
            gid: Number(gid),
            atime: Math.floor(Number(atime)),
            mtime: Math.floor(Number(mtime)),
          };
          return { filename, longname: `${modeString(mode)} 1 ${uid} ${gid} ${size} ${filename}`, attrs };
        });
      sftp.handle(reqid, newHandle({ kind: 'dir', entries }));
    });
  });
  sftp.on('READDIR', (reqid: number, hb: Buffer) => {
    const h = lookup(hb);
    if (!h || h.kind !== 'dir') return sftp.status(reqid, FAILURE, 'invalid handle');
    if (!h.entries) return sftp.status(reqid, EOF);
    const list = h.entries;
    h.entries = undefined;
    if (!list.length) return sftp.status(reqid, EOF);
    sftp.name(reqid, list);
  });

  // STAT / LSTAT: string path → ATTRS
  for (const [ev, l] of [
    ['STAT', false],
    ['LSTAT', true],
  ] as const) {
    sftp.on(ev, (reqid: number, path: string) => {
      answer(reqid, async () => sftp.attrs(reqid, attrsOf(await remoteStat(comm, path, l))));
    });
  }

  // REALPATH: string path → NAME (one entry)
  sftp.on('REALPATH', (reqid: number, path: string) => {
    answer(reqid, async () => {
      const p = await remoteRealpath(comm, path);
      sftp.name(reqid, [{ filename: p, longname: p, attrs: {} as Attributes }]);
    });
  });

  // SETSTAT: string path, ATTRS → STATUS
  sftp.on('SETSTAT', (reqid: number, path: string, attrs: Attributes) => {
    answer(reqid, async () => {
      if (typeof attrs?.mode === 'number') {
        await remoteDo(comm, `chmod ${(attrs.mode & 0o7777).toString(8)} -- ${q(path)}`, 'chmod');
      }
      if (typeof attrs?.mtime === 'number') {
        await remoteDo(comm, `touch -m -d @${attrs.mtime} -- ${q(path)}`, 'touch');
      }
      sftp.status(reqid, OK);
    });
  });

  const simple = (ev: string, cmd: (...p: string[]) => string) => {
    sftp.on(ev, (reqid: number, ...args: unknown[]) => {
      answer(reqid, async () => {
        await remoteDo(comm, cmd(...args.filter((a): a is string => typeof a === 'string')), ev.toLowerCase());
        sftp.status(reqid, OK);
      });
    });
  };
  // MKDIR: string path, ATTRS;  RMDIR/REMOVE: string path;  RENAME: old, new;  SYMLINK: target, link
  sftp.on('MKDIR', (reqid: number, path: string, attrs: Attributes) => {
    answer(reqid, async () => {
      const mode = typeof attrs?.mode === 'number' ? `-m ${(attrs.mode & 0o7777).toString(8)} ` : '';
      await remoteDo(comm, `mkdir ${mode}-- ${q(path)}`, 'mkdir');
      sftp.status(reqid, OK);
    });
  });
  simple('RMDIR', (p) => `rmdir -- ${q(p)}`);
  simple('REMOVE', (p) => `rm -- ${q(p)}`);
  simple('RENAME', (a, b) => `test ! -e ${q(b)} && mv -- ${q(a)} ${q(b)}`);
  simple('SYMLINK', (target, link) => `ln -s -- ${q(target)} ${q(link)}`);

  // READLINK: string path → NAME
  sftp.on('READLINK', (reqid: number, path: string) => {
    answer(reqid, async () => {
      const r = await run(comm, `readlink -- ${q(path)}`);
      if (r.code !== 0) throw new RemoteError('nofile', r.stderr.trim() || `${path}: not a link`);
      const t = r.stdout.replace(/\n$/, '');
      sftp.name(reqid, [{ filename: t, longname: t, attrs: {} as Attributes }]);
    });
  });

  sftp.on('EXTENDED', (reqid: number) => sftp.status(reqid, OP_UNSUPPORTED));

  // The client's EOF ends the session: report exit status 0 (as sftp-server does; OpenSSH's sftp
  // and scp fail without one) and close the channel. ssh2 has no public exit() on an SFTP channel.
  sftp.on('end', () => {
    const ch = sftp as unknown as {
      outgoing?: { id: number; state: string };
      _protocol?: { exitStatus(id: number, status: number): void };
    };
    if (ch.outgoing?.state === 'open') ch._protocol?.exitStatus(ch.outgoing.id, 0);
    sftp.end();
  });
}
