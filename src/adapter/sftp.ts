/**
 * The proxy's own SFTP server (subsystem `sftp`): the requests ansible's sftp/scp clients make,
 * answered through the build's Communicator — metadata with small remote shell commands
 * (remote.ts), file contents streamed: a file opened for writing is written remotely by one command
 * fed as WRITE requests arrive (their replies wait while that command's input is full), a file opened
 * for reading is downloaded into a bounded window that READ requests consume. No file is ever held
 * whole in memory.
 */
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import type { Communicator } from '../core/types.js';
import {
  remoteDo,
  remoteRealpath,
  remoteStat,
  run,
  RemoteError,
  RemoteSink,
  RemoteSource,
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

/** A file opened for writing. */
interface WriteHandle {
  kind: 'write';
  path: string;
  flags: number;
  /** Permissions asked for at OPEN: given to the file when this handle creates it. */
  mode?: number;
  /** The command writing the file, fed from the next expected offset; started by the first WRITE. */
  sink?: RemoteSink;
  /** Offset the running sink writes at next (bytes received so far for appends). */
  offset: number;
  /** Whether a sink ran already (the file is open, created and truncated as asked). */
  opened: boolean;
  /** FSETSTAT asked for these; applied after the data is written, at CLOSE. */
  setMode?: number;
  setSize?: number;
  setTimes?: { atime: number; mtime: number };
  /** Requests on this handle run one after the other, in arrival order. */
  queue: Promise<void>;
}
/** A file opened for reading. */
interface ReadHandle {
  kind: 'read';
  path: string;
  source: RemoteSource;
  queue: Promise<void>;
}
interface DirHandle {
  kind: 'dir';
  entries: FileEntry[] | undefined;
}
type Handle = WriteHandle | ReadHandle | DirHandle;

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

/**
 * The shell command that writes a handle's file from its stdin, starting at `offset`: like
 * sftp-server's open(2) with the handle's flags — created only with CREAT, truncated only by the
 * first command of a TRUNC handle, appended to with APPEND, a new file given the OPEN permissions
 * (less the umask). Later commands (a write that jumps to another offset) overwrite in place.
 */
export function writeCommand(
  h: Pick<WriteHandle, 'path' | 'flags' | 'mode' | 'opened'>,
  offset: number,
): string {
  const p = q(h.path);
  const create = (h.flags & CREAT) !== 0 && !h.opened;
  const parts: string[] = [];
  if (!(h.flags & CREAT) || h.opened) {
    parts.push(`[ -e ${p} ] || { echo ${q(`${h.path}: No such file or directory`)} >&2; exit 1; }`);
  }
  const newMode = create && h.mode !== undefined ? (h.mode & 0o7777).toString(8) : undefined;
  if (newMode) parts.push(`n=0; [ -e ${p} ] || n=1`);
  if (h.flags & APPEND) parts.push(`cat >> ${p} || exit 1`);
  else if (h.flags & TRUNC && !h.opened && offset === 0) parts.push(`cat > ${p} || exit 1`);
  else {
    const conv = h.flags & TRUNC && !h.opened ? '' : ' conv=notrunc';
    if (h.flags & TRUNC && !h.opened) parts.push(`: > ${p} || exit 1`);
    parts.push(`dd of=${p} bs=65536${conv} oflag=seek_bytes seek=${offset} status=none || exit 1`);
  }
  if (newMode) parts.push(`[ $n = 0 ] || chmod $(printf %o $(( 0${newMode} & ~0$(umask) ))) ${p}`);
  return parts.join('; ');
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
  const lookup = (b: Buffer): Handle | undefined =>
    b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined;

  /** Runs an async answer; any failure becomes a status reply. */
  const answer = (reqid: number, fn: () => Promise<void>): Promise<void> =>
    fn().catch((err: unknown) => {
      const [code, msg] = statusOf(err);
      if (code === FAILURE) onError(`sftp: ${msg}`);
      sftp.status(reqid, code, msg);
    });
  /** Like `answer`, after the handle's earlier requests (WRITEs must land in order). */
  const inOrder = (h: WriteHandle | ReadHandle, reqid: number, fn: () => Promise<void>): void => {
    h.queue = h.queue.then(() => answer(reqid, fn));
  };

  /** Ends a write handle's running command and reports how it went. */
  const endSink = async (h: WriteHandle): Promise<void> => {
    const sink = h.sink;
    h.sink = undefined;
    if (sink) await sink.end();
  };

  // OPEN: string filename, uint32 pflags, ATTRS → HANDLE | STATUS
  sftp.on('OPEN', (reqid: number, path: string, flags: number, attrs: Attributes) => {
    void answer(reqid, async () => {
      if (flags & EXCL) {
        const exists = await remoteStat(comm, path).then(
          () => true,
          () => false,
        );
        if (exists) throw new RemoteError('failure', `${path}: file exists`);
      }
      if (flags & (WRITE | APPEND)) {
        const h: WriteHandle = {
          kind: 'write',
          path,
          flags,
          offset: 0,
          opened: false,
          queue: Promise.resolve(),
        };
        if (typeof attrs?.mode === 'number') h.mode = attrs.mode & 0o7777;
        sftp.handle(reqid, newHandle(h));
        return;
      }
      const source = await RemoteSource.open(comm, path);
      sftp.handle(reqid, newHandle({ kind: 'read', path, source, queue: Promise.resolve() }));
    });
  });

  // READ: HANDLE, uint64 offset, uint32 len → DATA | STATUS(EOF)
  sftp.on('READ', (reqid: number, hb: Buffer, offset: number, len: number) => {
    const h = lookup(hb);
    if (!h || h.kind === 'dir') return sftp.status(reqid, FAILURE, 'invalid handle');
    if (h.kind === 'write')
      return sftp.status(reqid, OP_UNSUPPORTED, 'Cannot read: the file is open for writing');
    inOrder(h, reqid, async () => {
      const data = await h.source.read(offset, len);
      if (data === undefined) sftp.status(reqid, EOF);
      else sftp.data(reqid, data);
    });
  });

  // WRITE: HANDLE, uint64 offset, string data → STATUS (once the bytes are on their way)
  sftp.on('WRITE', (reqid: number, hb: Buffer, offset: number, data: Buffer) => {
    const h = lookup(hb);
    if (!h || h.kind !== 'write') return sftp.status(reqid, FAILURE, 'invalid handle');
    inOrder(h, reqid, async () => {
      if (h.flags & APPEND) offset = h.offset;
      if (h.sink && offset !== h.offset) await endSink(h); // a jump: continue with a new command
      if (!h.sink) {
        h.sink = new RemoteSink(comm, writeCommand(h, offset), 'write');
        h.opened = true;
        h.offset = offset;
      }
      h.offset += data.length;
      await h.sink.write(data);
      sftp.status(reqid, OK);
    });
  });

  // FSTAT: HANDLE → ATTRS
  sftp.on('FSTAT', (reqid: number, hb: Buffer) => {
    const h = lookup(hb);
    if (!h || h.kind === 'dir') return sftp.status(reqid, FAILURE, 'invalid handle');
    if (h.kind === 'read') {
      return inOrder(h, reqid, async () => sftp.attrs(reqid, attrsOf(await remoteStat(comm, h.path))));
    }
    inOrder(h, reqid, async () => {
      const now = Math.floor(Date.now() / 1000);
      sftp.attrs(reqid, {
        mode: S_IFREG | (h.mode ?? 0o644),
        size: h.offset,
        uid: 0,
        gid: 0,
        atime: now,
        mtime: now,
      });
    });
  });

  // FSETSTAT: HANDLE, ATTRS → STATUS (applied once the data is written, at CLOSE)
  sftp.on('FSETSTAT', (reqid: number, hb: Buffer, attrs: Attributes) => {
    const h = lookup(hb);
    if (!h || h.kind === 'dir') return sftp.status(reqid, FAILURE, 'invalid handle');
    if (h.kind === 'read') {
      return inOrder(h, reqid, async () => {
        await setstat(h.path, attrs);
        sftp.status(reqid, OK);
      });
    }
    inOrder(h, reqid, async () => {
      if (typeof attrs?.mode === 'number') h.setMode = attrs.mode & 0o7777;
      if (typeof attrs?.size === 'number') h.setSize = attrs.size;
      if (typeof attrs?.mtime === 'number')
        h.setTimes = { atime: attrs.atime ?? attrs.mtime, mtime: attrs.mtime };
      sftp.status(reqid, OK);
    });
  });

  // CLOSE: HANDLE → STATUS (a written file's command finishes; FSETSTAT attributes applied)
  sftp.on('CLOSE', (reqid: number, hb: Buffer) => {
    const h = lookup(hb);
    if (!h) return sftp.status(reqid, FAILURE, 'invalid handle');
    handles.delete(hb.readUInt32BE(0));
    if (h.kind === 'dir') return sftp.status(reqid, OK);
    if (h.kind === 'read') {
      return inOrder(h, reqid, async () => {
        h.source.close();
        sftp.status(reqid, OK);
      });
    }
    inOrder(h, reqid, async () => {
      if (h.sink) await endSink(h);
      else if (!h.opened && h.flags & (CREAT | TRUNC)) {
        // Nothing was written: the file still has to exist (and be emptied for TRUNC).
        await run(comm, writeCommand(h, 0)).then((r) => {
          if (r.code !== 0)
            throw new RemoteError(/No such file/.test(r.stderr) ? 'nofile' : 'failure', r.stderr.trim());
        });
      }
      const cmds: string[] = [];
      const p = q(h.path);
      if (h.setSize !== undefined) cmds.push(`truncate -s ${h.setSize} -- ${p}`);
      if (h.setMode !== undefined) cmds.push(`chmod ${h.setMode.toString(8)} -- ${p}`);
      if (h.setTimes)
        cmds.push(`touch -m -d @${h.setTimes.mtime} -- ${p}`, `touch -a -d @${h.setTimes.atime} -- ${p}`);
      if (cmds.length) await remoteDo(comm, cmds.join(' && '), 'setstat');
      sftp.status(reqid, OK);
    });
  });

  async function setstat(path: string, attrs: Attributes): Promise<void> {
    if (typeof attrs?.size === 'number')
      await remoteDo(comm, `truncate -s ${attrs.size} -- ${q(path)}`, 'truncate');
    if (typeof attrs?.mode === 'number') {
      await remoteDo(comm, `chmod ${(attrs.mode & 0o7777).toString(8)} -- ${q(path)}`, 'chmod');
    }
    if (typeof attrs?.mtime === 'number') {
      await remoteDo(comm, `touch -m -d @${attrs.mtime} -- ${q(path)}`, 'touch');
    }
  }

  // OPENDIR: string path → HANDLE;  READDIR: HANDLE → NAME… | STATUS(EOF)
  sftp.on('OPENDIR', (reqid: number, path: string) => {
    void answer(reqid, async () => {
      const r = await run(
        comm,
        `find -L ${q(path)} -mindepth 1 -maxdepth 1 -printf '%m %y %s %U %G %A@ %T@ %f\\0'`,
      );
      if (r.code !== 0)
        throw new RemoteError(/No such file/.test(r.stderr) ? 'nofile' : 'failure', r.stderr.trim());
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
      void answer(reqid, async () => sftp.attrs(reqid, attrsOf(await remoteStat(comm, path, l))));
    });
  }

  // REALPATH: string path → NAME (one entry)
  sftp.on('REALPATH', (reqid: number, path: string) => {
    void answer(reqid, async () => {
      const p = await remoteRealpath(comm, path);
      sftp.name(reqid, [{ filename: p, longname: p, attrs: {} as Attributes }]);
    });
  });

  // SETSTAT: string path, ATTRS → STATUS
  sftp.on('SETSTAT', (reqid: number, path: string, attrs: Attributes) => {
    void answer(reqid, async () => {
      await setstat(path, attrs);
      sftp.status(reqid, OK);
    });
  });

  const simple = (ev: string, cmd: (...p: string[]) => string) => {
    sftp.on(ev, (reqid: number, ...args: unknown[]) => {
      void answer(reqid, async () => {
        await remoteDo(
          comm,
          cmd(...args.filter((a): a is string => typeof a === 'string')),
          ev.toLowerCase(),
        );
        sftp.status(reqid, OK);
      });
    });
  };
  // MKDIR: string path, ATTRS;  RMDIR/REMOVE: string path;  RENAME: old, new;  SYMLINK: target, link
  sftp.on('MKDIR', (reqid: number, path: string, attrs: Attributes) => {
    void answer(reqid, async () => {
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
    void answer(reqid, async () => {
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
  // However the session ends, files still open are closed: a written file keeps what arrived.
  sftp.on('close', () => {
    for (const h of handles.values()) {
      if (h.kind === 'read') h.source.close();
      else if (h.kind === 'write') void h.queue.then(() => endSink(h)).catch(() => undefined);
    }
    handles.clear();
  });
}
