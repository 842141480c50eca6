/**
 * Opening an SSH connection with ssh2: TCP dial (direct, through a bastion's direct-tcpip channel,
 * or through a SOCKS5 proxy), the handshake with a 1-minute timeout, and authentication in Packer's
 * order (target: agent, public keys — as certificates with ssh_certificate_file —, password +
 * keyboard-interactive; bastion: the user's keyboard-interactive answers, password +
 * keyboard-interactive, key, agent). Host keys are never verified, as in Packer (spec §7.3). ssh2
 * is loaded lazily: this file is reached only when a build runs.
 */
import { createRequire } from 'node:module';
import { connect as netConnect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, Client, ConnectConfig } from 'ssh2';
import { certificateKey, enableCertificateAuth } from './cert-auth.js';
import { readCertificate } from './certificate.js';
import { parsePrivateKey, type KeyParser } from './keys.js';
import { poolPackets, type PacketPool } from './packet-pool.js';
import type { InteractiveIo } from './interactive.js';
import type { SshConnectOptions, SshProxyOptions } from './options.js';

/**
 * A failed connection attempt. `phase` tells the connect loop what to do (spec §7.4): `dial` (TCP,
 * bastion, proxy) and `handshake` errors are retried, `config` errors (agent, key parsing) are final.
 */
export class SshConnectError extends Error {
  constructor(
    message: string,
    readonly phase: 'config' | 'dial' | 'handshake',
  ) {
    super(message);
    this.name = 'SshConnectError';
  }
}

function tagged(err: unknown, phase: SshConnectError['phase']): SshConnectError {
  if (err instanceof SshConnectError) return err;
  return new SshConnectError((err as Error).message, phase);
}

export interface SshConnection {
  client: Client;
  /** Ends the target connection and, if any, the bastion connection. */
  close(): void;
}

interface AuthSpec {
  username: string;
  password?: string;
  privateKeys?: (string | Buffer)[];
  agentSock?: string;
  /** Every private key authenticates as this certificate (path of the `*-cert.pub`). */
  certificateFile?: string;
  /** Keyboard-interactive answers from the user (bastion only). */
  interactive?: InteractiveIo;
  /** Packer's method order differs: target agent → keys → password; bastion interactive → password → keys → agent. */
  order: 'target' | 'bastion';
}

/** Connects and authenticates; rejects with an SshConnectError with Packer-style text (spec §7.4). */
export async function openSshConnection(opts: SshConnectOptions): Promise<SshConnection> {
  try {
    return await openInner(opts);
  } catch (err) {
    throw tagged(err, 'dial');
  }
}

async function openInner(opts: SshConnectOptions): Promise<SshConnection> {
  // Agent problems are configuration errors: check before any socket is opened.
  const agentSock = opts.agentAuth ? await checkAgent(opts.agentSock) : undefined;
  const bastionAgentSock = opts.bastion?.agentAuth ? await checkAgent(opts.agentSock) : undefined;
  let interactive: InteractiveIo | undefined;
  if (opts.bastion?.interactive) {
    const { openInteractiveIo } = await import('./interactive.js');
    try {
      interactive = openInteractiveIo(opts.bastion.interactiveInput);
    } catch (err) {
      throw new SshConnectError(`Error configuring bastion: ${(err as Error).message}`, 'config'); // parity:
    }
  }
  // Dial first, then load ssh2 while the server accepts and sends its banner (start-up overlap).
  const dialMs = opts.dialTimeoutMs ?? 15_000;
  const early = opts.bastion
    ? dialTcp(opts.bastion.host, opts.bastion.port, dialMs)
    : opts.proxy
      ? undefined
      : dialTcp(opts.host, opts.port, dialMs);
  early?.catch(() => undefined); // awaited below; this only keeps the rejection handled meanwhile
  // require(), not import(): an ESM import of the CommonJS package costs a lexing pass on top.
  const ssh2 = createRequire(import.meta.url)('ssh2') as typeof import('ssh2');
  const Client = ssh2.Client;
  const parseKey: KeyParser = ssh2.utils.parseKey;
  let bastion: Client | undefined;
  let sock: Duplex;
  if (opts.bastion) {
    const b = opts.bastion;
    let bsock: Socket;
    try {
      bsock = await (early as Promise<Socket>);
    } catch (err) {
      throw new SshConnectError(`Error connecting to bastion: ${(err as Error).message}`, 'dial'); // parity:
    }
    try {
      bastion = await handshake(
        Client,
        bsock,
        opts,
        `${b.host}:${b.port}`,
        {
          username: b.username,
          password: b.password,
          privateKeys: b.privateKeys,
          agentSock: bastionAgentSock,
          certificateFile: b.certificateFile,
          interactive,
          order: 'bastion',
        },
        parseKey,
      );
    } catch (err) {
      if (err instanceof SshConnectError && err.phase === 'config') throw err;
      throw new SshConnectError(`Error connecting to bastion: ${(err as Error).message}`, 'dial'); // parity:
    }
    try {
      sock = await forwardOut(bastion, opts.host, opts.port);
    } catch (err) {
      bastion.end();
      throw new Error(
        `Error connecting to bastion: cannot open a channel from ${b.host}:${b.port} to ${opts.host}:${opts.port}: ${(err as Error).message}`,
      );
    }
  } else if (opts.proxy) {
    try {
      sock = await dialSocks5(opts.proxy, opts.host, opts.port, dialMs);
    } catch (err) {
      throw new Error(`Can't connect to the proxy: ${(err as Error).message}`); // parity:
    }
  } else {
    const s = await (early as Promise<Socket>);
    if (opts.readWriteTimeoutMs && opts.readWriteTimeoutMs > 0) {
      s.setTimeout(opts.readWriteTimeoutMs, () => s.destroy(new Error('i/o timeout')));
    }
    sock = s;
  }
  let client: Client;
  try {
    client = await handshake(
      Client,
      sock,
      opts,
      `${opts.host}:${opts.port}`,
      {
        username: opts.username,
        password: opts.password,
        privateKeys: opts.privateKeys,
        agentSock,
        certificateFile: opts.certificateFile,
        order: 'target',
      },
      parseKey,
    );
  } catch (err) {
    bastion?.end();
    throw tagged(err, 'handshake');
  }
  const b = bastion;
  client.once('close', () => b?.end());
  return {
    client,
    close() {
      client.end();
      b?.end();
    },
  };
}

/** Opens a TCP connection with Go-like error texts (`dial tcp h:p: …`). */
export function dialTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`dial tcp ${host}:${port}: i/o timeout`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      // Until ssh2 takes the socket over, an error must not go unhandled; ssh2 reports its own.
      s.on('error', () => undefined);
      s.setKeepAlive(true, 5000);
      s.setNoDelay(true);
      resolve(s);
    });
    const onError = (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`dial tcp ${host}:${port}: ${describeNetError(e)}`));
    };
    s.once('error', onError);
  });
}

function describeNetError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connect: connection refused';
    case 'EHOSTUNREACH':
      return 'connect: no route to host';
    case 'ENETUNREACH':
      return 'connect: network is unreachable';
    case 'ENOTFOUND':
      return `lookup: no such host`;
    default:
      return e.message;
  }
}

/** Checks the agent socket like Packer does; returns its path. */
async function checkAgent(sockPath?: string): Promise<string> {
  const p = sockPath ?? process.env.SSH_AUTH_SOCK;
  if (!p) throw new SshConnectError('SSH_AUTH_SOCK is not set', 'config'); // parity:
  await new Promise<void>((resolve, reject) => {
    const s = netConnect({ path: p });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    // parity:
    s.once('error', (e) =>
      reject(new SshConnectError(`Cannot connect to SSH Agent socket "${p}": ${e.message}`, 'config')),
    );
  });
  return p;
}

async function authMethods(
  spec: AuthSpec,
  parseKey: KeyParser,
  onError: (err: Error) => void,
): Promise<AnyAuthMethod[]> {
  const username = spec.username;
  const agent: AnyAuthMethod[] = spec.agentSock ? [{ type: 'agent', username, agent: spec.agentSock }] : [];
  const keys: AnyAuthMethod[] = [];
  if (spec.privateKeys?.length) {
    const parsed = spec.privateKeys.map((k) => parsePrivateKey(k, parseKey));
    if (spec.certificateFile) {
      for (const key of parsed) {
        let cert;
        try {
          cert = readCertificate(spec.certificateFile, key.getPublicSSH());
        } catch (err) {
          // Packer only logs this and retries until ssh_timeout; kiln stops with the reason.
          if (spec.order === 'bastion') throw err;
          throw new Error(`Cannot authenticate with ssh_certificate_file: ${(err as Error).message}`);
        }
        keys.push({ type: 'publickey', username, key: certificateKey(key, cert) });
      }
    } else {
      for (const key of parsed) keys.push({ type: 'publickey', username, key });
    }
  }
  const password: AnyAuthMethod[] = [];
  if (spec.password !== undefined && spec.password !== '') {
    const pw = spec.password;
    password.push({ type: 'password', username, password: pw });
    password.push({
      type: 'keyboard-interactive',
      username,
      prompt: (_name, _instr, _lang, prompts, finish) => finish(prompts.map(() => pw)),
    });
  }
  const none: AnyAuthMethod = { type: 'none', username };
  if (spec.order === 'target') return [none, ...agent, ...keys, ...password];
  const interactive: AnyAuthMethod[] = [];
  if (spec.interactive) {
    const { interactivePrompter } = await import('./interactive.js');
    interactive.push({
      type: 'keyboard-interactive',
      username,
      prompt: interactivePrompter(spec.interactive, onError),
    });
  }
  return [none, ...interactive, ...password, ...keys, ...agent];
}

type ClientCtor = typeof import('ssh2').Client;

/** The SSH handshake + authentication over an open stream. */
function handshake(
  ClientC: ClientCtor,
  sock: Duplex,
  opts: SshConnectOptions,
  where: string,
  spec: AuthSpec,
  parseKey: KeyParser,
): Promise<Client> {
  let failHandshake: (err: Error) => void = () => undefined;
  return authMethods(spec, parseKey, (err) => failHandshake(err)).then(
    (methods) => handshakeWith(ClientC, sock, opts, where, spec, methods, (f) => (failHandshake = f)),
    (err: unknown) => {
      sock.destroy();
      const e = tagged(err, 'config');
      if (spec.order === 'bastion') e.message = `Error configuring bastion: ${e.message}`; // parity:
      throw e;
    },
  );
}

function handshakeWith(
  ClientC: ClientCtor,
  sock: Duplex,
  opts: SshConnectOptions,
  where: string,
  spec: AuthSpec,
  methods: AnyAuthMethod[],
  setFail: (fail: (err: Error) => void) => void,
): Promise<Client> {
  const attempted: string[] = [];
  const client = new ClientC();
  const keepAlive = opts.keepAliveIntervalMs ?? 5000;
  const algorithms: ConnectConfig['algorithms'] = {};
  if (opts.ciphers?.length) algorithms.cipher = opts.ciphers as never;
  if (opts.keyExchangeAlgorithms?.length) algorithms.kex = opts.keyExchangeAlgorithms as never;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      sock.destroy();
      reject(err);
    };
    setFail((err) => fail(new Error(`ssh: handshake failed: ${err.message}`)));
    client.once('ready', () => {
      settled = true;
      client.removeAllListeners('error');
      client.on('error', () => undefined); // later errors surface through channel failures
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (err.level === 'client-authentication') {
        const tried = [...new Set(attempted)].join(' ');
        fail(
          new Error(
            `ssh: handshake failed: ssh: unable to authenticate as "${spec.username}" on ${where}, attempted methods [${tried}], no supported methods remain`,
          ),
        );
      } else if (err.level === 'client-timeout') {
        fail(new Error('Timeout during SSH handshake')); // parity:
      } else {
        fail(new Error(`ssh: handshake failed with ${where}: ${err.message}`));
      }
    });
    client.once('close', () => fail(new Error(`ssh: handshake failed with ${where}: connection closed`)));
    const queue = [...methods];
    const packets: { pool?: PacketPool } = {};
    if (sock instanceof Socket) coalesceWrites(sock, () => packets.pool);
    client.connect({
      sock: sock as never,
      username: spec.username,
      readyTimeout: opts.handshakeTimeoutMs ?? 60_000,
      keepaliveInterval: keepAlive > 0 ? keepAlive : 0,
      keepaliveCountMax: 3,
      algorithms,
      hostVerifier: () => true,
      agent: opts.disableAgentForwarding ? undefined : (opts.agentSock ?? process.env.SSH_AUTH_SOCK),
      authHandler: (left, _partial, next) => {
        if (spec.certificateFile) enableCertificateAuth(client);
        while (queue.length) {
          const m = queue.shift() as AnyAuthMethod;
          const wire = m.type === 'agent' ? 'publickey' : m.type;
          if (m.type === 'none' || !left || left.includes(wire as never)) {
            attempted.push(wire);
            next(m);
            return;
          }
        }
        next(false as never);
      },
    });
    packets.pool = poolPackets(client);
  });
}

/**
 * ssh2 writes every SSH packet (≤ 32 KiB of channel data) with its own `socket.write`, i.e. one
 * syscall each. Corking the socket at the first write of a tick and uncorking on the next tick
 * hands all packets of that tick to one writev: a bulk upload makes far fewer syscalls. A pooled
 * packet (packet-pool.ts) goes back to its pool when its write is done.
 */
function coalesceWrites(sock: Socket, packets: () => PacketPool | undefined): void {
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  let corked = false;
  const flush = () => {
    corked = false;
    sock.uncork();
  };
  sock.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(flush);
    }
    const release = args.length === 1 ? packets()?.releaserFor(args[0]) : undefined;
    return release ? write(args[0], release) : write(...args);
  }) as typeof sock.write;
}

/** A direct-tcpip channel from the bastion to host:port. */
function forwardOut(bastion: Client, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    bastion.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/** A minimal SOCKS5 client (RFC 1928/1929): no-auth or username/password, CONNECT by name. */
async function dialSocks5(
  proxy: SshProxyOptions,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Socket> {
  const s = await dialTcp(proxy.host, proxy.port, timeoutMs);
  try {
    return await socks5Handshake(s, proxy, host, port);
  } catch (err) {
    s.destroy();
    throw err;
  }
}

async function socks5Handshake(
  s: Socket,
  proxy: SshProxyOptions,
  host: string,
  port: number,
): Promise<Socket> {
  const { ByteReader } = await import('./byte-reader.js');
  const r = new ByteReader(s);
  const need = async (n: number): Promise<Buffer> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = await r.byte();
      if (b === undefined) throw new Error('proxy closed the connection');
      out.push(b);
    }
    return Buffer.from(out);
  };
  const withAuth = proxy.username !== undefined && proxy.username !== '';
  s.write(Buffer.from(withAuth ? [5, 2, 0, 2] : [5, 1, 0]));
  const [ver, method] = await need(2);
  if (ver !== 5) throw new Error('proxy is not a SOCKS5 server');
  if (method === 2) {
    const u = Buffer.from(proxy.username ?? '');
    const p = Buffer.from(proxy.password ?? '');
    s.write(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]));
    const [, status] = await need(2);
    if (status !== 0) throw new Error('SOCKS5 username/password authentication failed');
  } else if (method !== 0) {
    throw new Error('no acceptable SOCKS5 authentication method');
  }
  const name = Buffer.from(host);
  const req = Buffer.concat([
    Buffer.from([5, 1, 0, 3, name.length]),
    name,
    Buffer.from([port >> 8, port & 0xff]),
  ]);
  s.write(req);
  const [, rep, , atyp] = await need(4);
  if (rep !== 0) throw new Error(`SOCKS5 connect to ${host}:${port} failed (reply ${rep})`);
  const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : (await need(1))[0];
  await need(addrLen + 2);
  r.detach();
  return s;
}
