/**
 * The SSH communicator (Packer SDK `sdk-internals/communicator/ssh`): one exec session per command,
 * exit status 2300218 when the session ends without one, one reconnect when a session cannot be
 * opened, and file transfer by SCP (default) or SFTP (spec §7.6–7.7).
 */
import { createWriteStream, promises as fsp, ReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { posix, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import type { ClientChannel, PseudoTtyOptions } from 'ssh2';
import {
  DISCONNECT_EXIT_STATUS,
  type Communicator,
  type FileInfo,
  type RemoteCommand,
} from '../../core/types.js';
import { ByteReader } from './byte-reader.js';
import type { SshConnection } from './connect.js';
import type { SshConnectOptions } from './options.js';
import {
  receiveDir,
  receiveFile,
  scpTargetDir,
  sendDir,
  sendFile,
  type LocalFile,
  type ScpIo,
} from './scp.js';
import { SftpTransfer } from './sftp.js';

const PTY: PseudoTtyOptions = {
  term: 'xterm',
  cols: 80,
  rows: 40,
  modes: { ECHO: 0, TTY_OP_ISPEED: 14400, TTY_OP_OSPEED: 14400 },
};

// parity:
const SCP_NOT_FOUND =
  'SCP failed to start. This usually means that SCP is not\nproperly installed on the remote system.';

export class SshCommunicator implements Communicator {
  private conn: SshConnection;
  private forwardAgent: boolean;
  private sftp: SftpTransfer | undefined;

  constructor(
    conn: SshConnection,
    private readonly opts: SshConnectOptions,
    private readonly reconnect: () => Promise<SshConnection>,
  ) {
    this.conn = conn;
    this.forwardAgent = !opts.disableAgentForwarding && !!(opts.agentSock ?? process.env.SSH_AUTH_SOCK);
  }

  /** Opens an exec session; on failure reconnects once and tries again (Packer's behaviour). */
  private async openExec(command: string): Promise<Session> {
    try {
      return await this.execOnce(command);
    } catch {
      this.conn.close();
      this.sftp = undefined;
      this.conn = await this.reconnect();
      return this.execOnce(command);
    }
  }

  private execOnce(command: string): Promise<Session> {
    return new Promise((resolve, reject) => {
      const o: { pty?: PseudoTtyOptions; agentForward?: boolean } = {};
      if (this.opts.pty) o.pty = PTY;
      if (this.forwardAgent) o.agentForward = true;
      this.conn.client.exec(command, o, (err, ch) => {
        if (err && this.forwardAgent && /agent forwarding/i.test(err.message)) {
          // The server refuses forwarding: like Packer, carry on without it.
          this.forwardAgent = false;
          this.execOnce(command).then(resolve, reject);
          return;
        }
        if (err) reject(err);
        // The exit status can arrive in the same packet batch as the exec reply: listen now.
        else resolve({ ch, exit: exitStatus(ch) });
      });
    });
  }

  async start(cmd: RemoteCommand, signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    const { ch, exit } = await this.openExec(`${cmd.command}\n`);
    if (cmd.stdin) cmd.stdin.pipe(ch);
    else ch.end();
    ch.on('data', (d: Buffer) => cmd.stdout?.write(d));
    ch.stderr.on('data', (d: Buffer) => cmd.stderr?.write(d));
    return withAbort(ch, exit, signal);
  }

  async upload(remotePath: string, data: Readable | Buffer, info?: FileInfo): Promise<void> {
    if (this.opts.fileTransferMethod === 'sftp') {
      const file = wholeFile(data);
      if (file !== undefined) (data as ReadStream).destroy();
      return (await this.sftpSession()).upload(remotePath, file !== undefined ? { file } : data, info?.mode);
    }
    let size = Buffer.isBuffer(data) ? data.length : info?.size;
    let spooled: string | undefined;
    let body: Readable | Buffer | LocalFile = data;
    const file = wholeFile(data);
    if (file !== undefined && size !== undefined) {
      // A whole local file: read it with reused buffers (scp.ts) instead of the stream's fresh ones.
      (data as ReadStream).destroy();
      body = { file };
    } else if (size === undefined) {
      // Unknown size: spool to a local temp file first, as Packer does.
      const dir = await fsp.mkdtemp(join(tmpdir(), 'packer-upload'));
      spooled = join(dir, 'data');
      await pipeline(data as Readable, createWriteStream(spooled));
      size = (await fsp.stat(spooled)).size;
      body = { file: spooled };
    }
    const name = posix.basename(remotePath);
    const dir = posix.dirname(remotePath);
    const mode = info?.mode ?? 0o644;
    const total = size;
    try {
      await this.scp(`scp -vt ${scpTargetDir(dir)}`, (io) => sendFile(io, name, mode, total, body));
    } finally {
      if (spooled) await fsp.rm(posix.dirname(spooled), { recursive: true, force: true });
    }
  }

  async uploadDir(remoteDir: string, localDir: string, exclude: string[] = []): Promise<void> {
    if (this.opts.fileTransferMethod === 'sftp') {
      return (await this.sftpSession()).uploadDir(remoteDir, localDir, exclude);
    }
    const wrap = !localDir.endsWith('/');
    await this.scp(`scp -rvt ${remoteDir}`, (io) =>
      sendDir(io, localDir.replace(/\/+$/, '') || '/', wrap, exclude),
    );
  }

  async download(remotePath: string, out: Writable): Promise<void> {
    if (this.opts.fileTransferMethod === 'sftp') {
      return (await this.sftpSession()).download(remotePath, out);
    }
    await this.scp(`scp -vf ${goQuoteIfSpace(remotePath)}`, (io) => receiveFile(io, out));
  }

  async downloadDir(remoteDir: string, localDir: string, _exclude: string[] = []): Promise<void> {
    if (this.opts.fileTransferMethod === 'sftp') {
      return (await this.sftpSession()).downloadDir(remoteDir, localDir);
    }
    const unwrap = remoteDir.endsWith('/');
    await this.scp(`scp -vrf ${goQuoteIfSpace(remoteDir)}`, (io) => receiveDir(io, localDir, unwrap));
  }

  async close(): Promise<void> {
    this.sftp?.end();
    this.sftp = undefined;
    this.conn.close();
  }

  /** Runs a remote scp and drives it with `fn`; the remote's stderr becomes part of errors. */
  private async scp(command: string, fn: (io: ScpIo) => Promise<void>): Promise<void> {
    const { ch, exit } = await this.openExec(command);
    let stderr = '';
    ch.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    const reader = new ByteReader(ch);
    let failure: Error | undefined;
    try {
      await fn({ input: ch, reader });
    } catch (err) {
      failure = err as Error;
    }
    ch.end();
    const status = await exit;
    if (status === 127) throw new Error(SCP_NOT_FOUND);
    if (failure) throw failure;
    if (status !== 0) {
      const lastLine = stderr
        .trim()
        .split('\n')
        .filter((l) => !/^(Executing|Sending|Sink|debug\d?:)/.test(l))
        .pop();
      throw new Error(`Process exited with status ${status}${lastLine ? `: ${lastLine}` : ''}`);
    }
  }

  private async sftpSession(): Promise<SftpTransfer> {
    if (!this.sftp) {
      const open = () =>
        new Promise<SftpTransfer>((resolve, reject) =>
          this.conn.client.sftp((err, s) => (err ? reject(err) : resolve(new SftpTransfer(s)))),
        );
      try {
        this.sftp = await open();
      } catch {
        this.conn.close();
        this.conn = await this.reconnect();
        this.sftp = await open();
      }
    }
    return this.sftp;
  }
}

interface Session {
  ch: ClientChannel;
  /** Resolves with the exit status; 2300218 when the session ended without one (signal, disconnect). */
  exit: Promise<number>;
}

function exitStatus(ch: ClientChannel): Promise<number> {
  return new Promise((resolve) => {
    let status: number | undefined;
    ch.on('error', () => undefined); // a broken session ends in 'close' (status 2300218)
    ch.stderr.on('error', () => undefined);
    ch.on('exit', (code: number | null) => {
      if (typeof code === 'number') status = code;
    });
    ch.on('close', () => resolve(status ?? DISCONNECT_EXIT_STATUS));
  });
}

/** The exit status, or a rejection (after closing the session) when the signal aborts first. */
function withAbort(ch: ClientChannel, exit: Promise<number>, signal?: AbortSignal): Promise<number> {
  if (!signal) return exit;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      ch.close();
      reject(signal.reason instanceof Error ? signal.reason : new Error('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void exit.then((status) => {
      signal.removeEventListener('abort', onAbort);
      resolve(status);
    });
  });
}

/** The path of a file ReadStream that reads the whole file and has not been read from yet. */
function wholeFile(data: Readable | Buffer): string | undefined {
  if (!(data instanceof ReadStream) || typeof data.path !== 'string') return undefined;
  const s = data as ReadStream & { start?: number; end?: number };
  if ((s.start ?? 0) !== 0 || (s.end !== undefined && s.end !== Infinity) || s.bytesRead > 0)
    return undefined;
  if (s.readableFlowing || s.readableLength > 0) return undefined;
  return data.path;
}

/** Go's strconv.Quote for paths containing a space (Packer's scp download quoting). */
function goQuoteIfSpace(p: string): string {
  return p.includes(' ') ? JSON.stringify(p) : p;
}
