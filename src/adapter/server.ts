/**
 * The local SSH server ansible talks to (Packer's "proxy adapter"): listens on 127.0.0.1 only,
 * accepts exactly one public key (the one-time key made for this run) for one user name, and turns
 * each session into work on the build's Communicator — exec (stdin/stdout/stderr/exit status), the
 * legacy scp protocol (scp.ts) and the sftp subsystem (sftp.ts, or a remote sftp-server command).
 * ssh2 is loaded here, lazily by the provisioner, never on the validate path.
 */
import { Writable, type Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { Algorithms, Connection, ServerChannel, Server, PublicKey, ParsedKey } from 'ssh2';
import type { Communicator } from '../core/types.js';
import { DISCONNECT_EXIT_STATUS } from '../core/types.js';
import type { Ui } from '../ui/ui.js';
import { parseScpCommand, scpSink, scpSource, type ScpTarget } from './scp.js';
import { serveSftp } from './sftp.js';
import { remoteDo, remoteIsDir, remoteStat } from './remote.js';
import { shellQuote } from './shellwords.js';
import { debugLog, logEnabled } from '../util/log.js';

export interface AdapterOptions {
  comm: Communicator;
  ui: Ui;
  /** The only user name accepted. */
  user: string;
  /** Private host key (OpenSSH or PEM text). */
  hostKey: string | Buffer;
  /** The only public key accepted (`<type> <base64> [comment]`). */
  authorizedKey: string;
  /** 0 (default): an ephemeral port; otherwise this port or one of the next 9. */
  port?: number;
  /**
   * When set, the sftp subsystem runs this command on the remote machine and pipes the channel to it
   * (Packer's behaviour); when unset, the proxy answers SFTP itself through the Communicator.
   */
  sftpCommand?: string;
}

export interface Adapter {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Stops listening, ends every connection and aborts commands still running. */
  close(): Promise<void>;
}

/**
 * The hop from ansible's ssh to the proxy never leaves the machine: no compression (ansible's
 * default `-C` would otherwise make both ends zlib every byte) and only AES-GCM (one pass, hardware
 * AES through OpenSSL; OpenSSH would otherwise pick chacha20-poly1305 or aes-ctr + HMAC). Both are
 * enabled by default in every OpenSSH since 6.2.
 */
const LOOPBACK_ALGORITHMS: Algorithms = {
  compress: ['none'],
  cipher: ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'],
};

interface ChannelInternals {
  outgoing?: { state: string };
  _chunk?: Buffer;
  _chunkcb?: () => void;
  _chunkErr?: Buffer;
  _chunkcbErr?: () => void;
}

/**
 * Two Writables (stdout, stderr) that forward into a channel one chunk at a time, in order, each
 * waiting until the channel took the previous one; they never end the channel.
 *
 * One lane for both streams works around ssh2 (1.17): when stdout and stderr both wait for the
 * client's window, a window adjust resumes only stdout, and the stalled stdout chunk it remembers
 * is never cleared, so a later stderr stall re-sends old stdout bytes and calls a finished write
 * back again. With more than a window of output on both streams the old proxy lost stderr (or hung
 * waiting for it); a client reading slowly (a loaded machine) makes the stall likelier. So only one
 * write is ever outstanding, and the remembered chunk is cleared once its write completed.
 */
function channelLanes(ch: ServerChannel): { stdout: Writable; stderr: Writable } {
  const c = ch as unknown as ChannelInternals;
  let tail: Promise<void> = Promise.resolve();
  const lane = (target: Writable, isStderr: boolean): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        tail = tail.then(
          () =>
            new Promise<void>((resolve) => {
              if (c.outgoing?.state !== 'open' || target.writableEnded || target.destroyed) return resolve();
              const onClose = (): void => resolve();
              ch.once('close', onClose);
              target.write(chunk, () => {
                ch.off('close', onClose);
                if (isStderr) {
                  c._chunkErr = undefined;
                  c._chunkcbErr = undefined;
                } else {
                  c._chunk = undefined;
                  c._chunkcb = undefined;
                }
                resolve();
              });
            }),
        );
        void tail.then(() => cb());
      },
    });
  return { stdout: lane(ch, false), stderr: lane(ch.stderr as Writable, true) };
}

/**
 * Ends an exec/subsystem channel the way sshd does: all output delivered, then the exit status,
 * then EOF and close. ssh (and a ControlMaster's mux client) exits 255 when the channel closes
 * without an exit status, so one is always sent while the channel is open; stderr is flushed
 * before the channel ends because ending the channel closes it, dropping stderr still queued
 * behind a full window.
 */
async function finish(ch: ServerChannel, code: number): Promise<void> {
  if (code === DISCONNECT_EXIT_STATUS)
    debugLog('[WARN] ansible proxy: the remote command ended without an exit status');
  if (ch.destroyed || ch.writableEnded) {
    debugLog('[WARN] ansible proxy: channel already closed, no exit status sent');
    return;
  }
  for (const w of [ch.stderr as Writable, ch as Writable]) {
    if (w.writableLength === 0 || ch.destroyed || w.writableEnded) continue;
    // An empty write is called back once everything queued before it went out.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        ch.off('close', done);
        resolve();
      };
      ch.on('close', done);
      w.write(Buffer.alloc(0), done);
    });
  }
  if (ch.destroyed || ch.writableEnded) return;
  ch.exit(code === DISCONNECT_EXIT_STATUS ? 255 : code);
  ch.end();
}

/** Ends the `into` writables and waits until everything they took was handed to the channel. */
async function flushed(...ws: Writable[]): Promise<void> {
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.end(() => resolve());
          w.once('error', () => resolve());
        }),
    ),
  );
}

function scpTarget(comm: Communicator): ScpTarget {
  return {
    upload: (path, data, info) => comm.upload(path, data, info),
    stat: async (path) => {
      const st = await remoteStat(comm, path);
      return {
        size: st.size,
        mode: st.mode,
        mtime: new Date(st.mtime * 1000),
        isDir: (st.mode & 0o170000) === 0o040000,
      };
    },
    download: (path, out) => comm.download(path, out),
    isDir: (path) => remoteIsDir(comm, path),
    mkdir: (path, mode) =>
      remoteDo(comm, `mkdir -p -m ${(mode & 0o7777).toString(8)} -- ${shellQuote(path)}`, 'mkdir'),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Starts the proxy. */
export async function startAdapter(opts: AdapterOptions): Promise<Adapter> {
  const ssh2 = (await import('ssh2')).default;
  const { comm, ui, user } = opts;
  const allowed = ssh2.utils.parseKey(opts.authorizedKey);
  if (allowed instanceof Error || Array.isArray(allowed)) throw new Error('Failed to read public key'); // parity:
  const allowedKey = allowed as ParsedKey;
  const allowedBlob = allowedKey.getPublicSSH();
  const hostKey = ssh2.utils.parseKey(opts.hostKey);
  if (hostKey instanceof Error) {
    throw new Error('error creating host signer: Failed to load private host key'); // parity:
  }
  const aborter = new AbortController();
  const connections = new Set<Connection>();

  const server: Server = new ssh2.Server(
    { hostKeys: [opts.hostKey], algorithms: LOOPBACK_ALGORITHMS },
    (conn: Connection) => {
      connections.add(conn);
      // Request/response traffic of small packets: Nagle's algorithm would hold back replies.
      (conn as unknown as { setNoDelay?(on: boolean): void }).setNoDelay?.(true);
      let ready = false;
      conn.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey' || ctx.username !== user) return ctx.reject(['publickey']);
        const key = ctx.key as PublicKey;
        if (!Buffer.from(key.data).equals(allowedBlob)) return ctx.reject(['publickey']);
        if (ctx.signature && ctx.blob && allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          return ctx.reject(['publickey']);
        }
        ctx.accept();
      });
      conn.on('ready', () => {
        ready = true;
        conn.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('pty', (accept) => accept?.()); // accepted and ignored (sudo with requiretty)
          session.on('env', (accept) => accept?.()); // accepted, not forwarded
          session.on('exec', (accept, reject, info) => {
            if (!info.command) return reject?.();
            const ch = accept();
            runExec(ch, info.command).catch((err: unknown) => {
              ui.error(errorText(err));
              void finish(ch, 1);
            });
          });
          session.on('subsystem', (accept, reject, info) => {
            if (info.name !== 'sftp') {
              ui.error(`unsupported subsystem requested: ${info.name}`); // parity:
              return reject?.();
            }
            if (opts.sftpCommand) {
              const ch = accept();
              runRemote(ch, opts.sftpCommand).catch((err: unknown) => {
                ui.error(errorText(err));
                void finish(ch, 1);
              });
            } else {
              // Rejected here: the 'sftp' listener below serves it (ssh2 routes to one of the two).
              reject?.();
            }
          });
          if (!opts.sftpCommand) {
            session.on('sftp', (accept) => {
              serveSftp(accept(), comm, (m) => ui.error(m));
            });
          }
        });
      });
      conn.on('error', () => undefined);
      conn.on('close', () => {
        connections.delete(conn);
        if (!ready && !aborter.signal.aborted) ui.error('failed to handshake'); // parity:
      });
    },
  );

  async function runRemote(ch: ServerChannel, command: string): Promise<void> {
    const { stdout, stderr } = channelLanes(ch);
    const code = await comm.start(
      { command, stdin: ch as unknown as Readable, stdout, stderr },
      aborter.signal,
    );
    // Output still queued (the client's window was full) goes out before the exit status.
    await flushed(stdout, stderr);
    await finish(ch, code);
  }

  async function runExec(ch: ServerChannel, command: string): Promise<void> {
    const started = Date.now();
    const scp = parseScpCommand(command);
    if (!scp) {
      await runRemote(ch, command);
    } else {
      const input = ch as unknown as Readable;
      const code =
        scp.direction === 'sink'
          ? await scpSink(input, ch, scp, scpTarget(comm))
          : await scpSource(input, ch, scp, scpTarget(comm));
      await finish(ch, code);
    }
    if (logEnabled())
      debugLog(`[INFO] ansible proxy: ${command.slice(0, 200)} done after ${Date.now() - started} ms`);
  }

  const port = await listen(server, opts.port ?? 0);
  return {
    host: '127.0.0.1',
    port,
    async close() {
      aborter.abort();
      for (const c of connections) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function listen(server: Server, first: number): Promise<number> {
  const ports = first === 0 ? [0] : Array.from({ length: 10 }, (_, i) => first + i);
  let last: unknown;
  for (const p of ports) {
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(p, '127.0.0.1', () => {
          server.off('error', onError);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`Error setting up SSH proxy connection: ${errorText(last)}`);
}
