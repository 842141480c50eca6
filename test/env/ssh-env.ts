/**
 * The tests' own SSH environment: a real OpenSSH sshd playing the target machine, a second sshd
 * playing a bastion that only forwards to the first, and an ssh-agent holding the bastion key.
 *
 * Everything listens on 127.0.0.1 on free ports and lives under `/var/lib/kiln-test/<id>/` (not
 * /tmp: sshd refuses an AuthorizedKeysCommand or StrictModes paths below world-writable
 * directories). Needs root and Debian's `openssh-server`, `openssh-client` and `sudo`; it creates
 * (once, idempotently, shared by every environment) the throw-away accounts `kilntest` (target,
 * passwordless sudo) and `kilnjump` (bastion), unlocked with `usermod -p '*'` and given a random
 * password kept in `/var/lib/kiln-test/password` (root only). It never uses the lab's ports, users
 * or state directory.
 *
 * Usage (node:test):
 * ```ts
 * import { startSshEnv } from '../env/ssh-env.js';
 * let env: SshEnv;
 * before(async () => { env = await startSshEnv(); });
 * after(() => env.stop());
 * // connect to env.host:env.port as env.user with env.keyFile (or env.password);
 * // through the bastion: env.bastion.{host,port,user,keyFile} or agent auth with env.agentSock.
 * ```
 * Every command the target's sshd runs (exec requests, `scp -t …`, the `sftp` subsystem) is recorded
 * by a ForceCommand wrapper; `env.commands()` returns them in order, byte for byte.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promises as fsp, openSync, closeSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Root of every environment's state; each environment gets its own subdirectory. */
export const SSH_ENV_ROOT = '/var/lib/kiln-test';
const TARGET_USER = 'kilntest';
const BASTION_USER = 'kilnjump';
const SUDOERS_FILE = '/etc/sudoers.d/kiln-test';

export interface SshEnvOptions {
  /** Extra lines appended to the target sshd's configuration (e.g. an AuthorizedKeysCommand). */
  targetConfig?: string[];
  /** Disable the command-recording ForceCommand (the benchmark does, to measure sshd alone). */
  recordCommands?: boolean;
  /** Extra lines appended to the bastion sshd's configuration (e.g. TrustedUserCAKeys). */
  bastionConfig?: string[];
  /**
   * The bastion accepts only keyboard-interactive, through PAM (Debian's /etc/pam.d/sshd, pam_unix:
   * one `Password: ` question answered with `bastion.password`).
   */
  bastionKeyboardInteractive?: boolean;
}

export interface SshBastion {
  host: string;
  port: number;
  user: string;
  /** Private key (OpenSSH ed25519) the bastion accepts; the agent holds the same key. */
  keyFile: string;
  password: string;
}

export interface SshEnv {
  host: string;
  port: number;
  /** Target login user (passwordless sudo). */
  user: string;
  /** Private key (OpenSSH ed25519) authorized on the target. */
  keyFile: string;
  /** The target user's password (PasswordAuthentication is on for target and bastion). */
  password: string;
  /** The target user's home directory. */
  home: string;
  bastion: SshBastion;
  /** SSH_AUTH_SOCK of an ssh-agent holding the bastion key (not the target key). */
  agentSock: string;
  /** authorized_keys file of the target (sshd also reads `~/.ssh/authorized_keys`). */
  authorizedKeysPath: string;
  /** This environment's state directory (host keys, configs, logs). */
  stateDir: string;
  /** Appends an `authorized_keys` line (e.g. a temporary key's public key) for the target user. */
  addAuthorizedKey(publicKeyLine: string): Promise<void>;
  /** Commands the target sshd ran, oldest first (empty when recording is off). */
  commands(): Promise<string[]>;
  /** Forgets the recorded commands. */
  clearCommands(): Promise<void>;
  /** The target sshd's log (LogLevel VERBOSE). */
  targetLog(): Promise<string>;
  /** Stops sshd ×2 and the agent, and removes the state directory. Users and sudoers stay. */
  stop(): Promise<void>;
}

/** Starts a fresh environment; rejects with a message naming what is missing when it cannot. */
export async function startSshEnv(opts: SshEnvOptions = {}): Promise<SshEnv> {
  await checkPrerequisites();
  await fsp.mkdir(SSH_ENV_ROOT, { recursive: true, mode: 0o755 });
  await fsp.chmod(SSH_ENV_ROOT, 0o755);
  await fsp.mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd privilege separation dir
  const pw = await sharedPassword();
  await ensureUser(TARGET_USER, pw);
  await ensureUser(BASTION_USER, pw);
  const password = pw.password;
  await ensureSudoers();

  const stateDir = await fsp.mkdtemp(join(SSH_ENV_ROOT, 'env-'));
  killChildrenOnExit();
  await fsp.chmod(stateDir, 0o755);
  const procs: ChildProcess[] = [];
  try {
    const env = await startInside(stateDir, password, opts, procs);
    return env;
  } catch (err) {
    await stopAll(procs);
    await fsp.rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}

async function startInside(
  stateDir: string,
  password: string,
  opts: SshEnvOptions,
  procs: ChildProcess[],
): Promise<SshEnv> {
  const home = (await run('getent', ['passwd', TARGET_USER])).stdout.split(':')[5];
  for (const role of ['target', 'bastion']) {
    await keygen(join(stateDir, `${role}_host_ed25519_key`), 'kiln-test-host');
  }
  const keyFile = join(stateDir, 'target_user_key');
  await keygen(keyFile, `${TARGET_USER}@kiln-test`);
  const bastionKey = join(stateDir, 'bastion_user_key');
  await keygen(bastionKey, `${BASTION_USER}@kiln-test`);

  const authorizedKeysPath = join(stateDir, 'authorized_keys_target');
  await fsp.writeFile(authorizedKeysPath, await fsp.readFile(`${keyFile}.pub`), { mode: 0o644 });
  const bastionAuthorized = join(stateDir, 'authorized_keys_bastion');
  await fsp.writeFile(bastionAuthorized, await fsp.readFile(`${bastionKey}.pub`), { mode: 0o644 });

  const record = opts.recordCommands !== false;
  const commandLog = join(stateDir, 'commands.log');
  const wrapper = join(stateDir, 'record-command');
  if (record) {
    await fsp.writeFile(commandLog, '', { mode: 0o666 });
    await run('chown', [`${TARGET_USER}:`, commandLog]);
    await fsp.writeFile(wrapper, recordWrapper(commandLog), { mode: 0o755 });
  }

  const targetPort = await freePort();
  const targetConf = join(stateDir, 'sshd_target.conf');
  await fsp.writeFile(
    targetConf,
    [
      ...commonSshd(stateDir, 'target', targetPort, TARGET_USER),
      `AuthorizedKeysFile ${authorizedKeysPath} .ssh/authorized_keys`,
      'Subsystem sftp internal-sftp',
      'AllowTcpForwarding yes',
      'PermitTTY yes',
      ...(record ? [`ForceCommand ${wrapper}`] : []),
      ...(opts.targetConfig ?? []),
      '',
    ].join('\n'),
  );
  const bastionPort = await freePort();
  const bastionConf = join(stateDir, 'sshd_bastion.conf');
  await fsp.writeFile(
    bastionConf,
    [
      ...commonSshd(stateDir, 'bastion', bastionPort, BASTION_USER, opts.bastionKeyboardInteractive),
      `AuthorizedKeysFile ${bastionAuthorized}`,
      ...(opts.bastionKeyboardInteractive ? ['AuthenticationMethods keyboard-interactive'] : []),
      ...(opts.bastionConfig ?? []),
      'AllowTcpForwarding yes',
      `PermitOpen 127.0.0.1:${targetPort} localhost:${targetPort}`,
      'PermitTTY no',
      'ForceCommand /bin/false',
      '',
    ].join('\n'),
  );
  procs.push(await startSshd(targetConf, join(stateDir, 'sshd_target.log'), targetPort));
  procs.push(await startSshd(bastionConf, join(stateDir, 'sshd_bastion.log'), bastionPort));

  const agentSock = join(stateDir, 'agent.sock');
  const agent = track(spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' }));
  procs.push(agent);
  await waitFor(async () => (await exists(agentSock)) || agent.exitCode !== null, 5000, 'ssh-agent socket');
  if (agent.exitCode !== null) throw new Error(`Cannot start ssh-agent: exited with ${agent.exitCode}`);
  await run('ssh-add', ['-q', bastionKey], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });

  let stopped = false;
  return {
    host: '127.0.0.1',
    port: targetPort,
    user: TARGET_USER,
    keyFile,
    password,
    home,
    bastion: { host: '127.0.0.1', port: bastionPort, user: BASTION_USER, keyFile: bastionKey, password },
    agentSock,
    authorizedKeysPath,
    stateDir,
    async addAuthorizedKey(line: string) {
      await fsp.appendFile(authorizedKeysPath, line.endsWith('\n') ? line : `${line}\n`);
    },
    async commands() {
      if (!record) return [];
      const text = await fsp.readFile(commandLog, 'utf8');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => Buffer.from(l, 'base64').toString('utf8'));
    },
    async clearCommands() {
      if (record) await fsp.truncate(commandLog, 0);
    },
    async targetLog() {
      return fsp.readFile(join(stateDir, 'sshd_target.log'), 'utf8');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopAll(procs);
      await fsp.rm(stateDir, { recursive: true, force: true });
    },
  };
}

function commonSshd(stateDir: string, role: string, port: number, user: string, pam = false): string[] {
  return [
    `# kiln test environment (${role}); written by test/env/ssh-env.ts`,
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(stateDir, `${role}_host_ed25519_key`)}`,
    `PidFile ${join(stateDir, `sshd_${role}.pid`)}`,
    'LogLevel VERBOSE',
    `AllowUsers ${user}`,
    'PermitRootLogin no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    `KbdInteractiveAuthentication ${pam ? 'yes' : 'no'}`,
    `UsePAM ${pam ? 'yes' : 'no'}`,
    'StrictModes yes',
    'AllowAgentForwarding yes',
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'MaxStartups 100:30:200',
    'MaxSessions 50',
  ];
}

/** ForceCommand wrapper: logs $SSH_ORIGINAL_COMMAND (base64, one per line), then runs it. */
function recordWrapper(logFile: string): string {
  return `#!/bin/bash
# Records each command sshd runs, then runs it as sshd would (login shell -c, or the sftp server).
printf '%s' "$SSH_ORIGINAL_COMMAND" | base64 -w0 >> ${logFile}
echo >> ${logFile}
case "$SSH_ORIGINAL_COMMAND" in
  internal-sftp|sftp) exec /usr/lib/openssh/sftp-server ;;
  '') exec /bin/bash -l ;;
  *) exec /bin/bash -c "$SSH_ORIGINAL_COMMAND" ;;
esac
`;
}

async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'Cannot start the SSH test environment: it must run as root (it creates users and runs sshd)',
    );
  }
  for (const bin of ['/usr/sbin/sshd', '/usr/bin/ssh-keygen', '/usr/bin/ssh-agent', '/usr/bin/sudo']) {
    if (!(await exists(bin))) {
      throw new Error(
        `Cannot start the SSH test environment: ${bin} is missing (apt-get install openssh-server openssh-client sudo)`,
      );
    }
  }
}

/** The accounts' password: random, made once per machine, kept root-only in SSH_ENV_ROOT. */
async function sharedPassword(): Promise<{ password: string; fresh: boolean }> {
  const file = join(SSH_ENV_ROOT, 'password');
  const fresh = randomBytes(18).toString('base64url');
  try {
    await fsp.writeFile(file, fresh, { mode: 0o600, flag: 'wx' });
    return { password: fresh, fresh: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another environment may have just created it; wait until its content is there.
    let text = '';
    await waitFor(
      async () => (text = (await fsp.readFile(file, 'utf8')).trim()) !== '',
      2000,
      'password file',
    );
    return { password: text, fresh: false };
  }
}

async function ensureUser(name: string, pw: { password: string; fresh: boolean }): Promise<void> {
  let created = false;
  if (!(await userExists(name))) {
    try {
      await run('useradd', ['-m', '-s', '/bin/bash', '-U', name]);
      created = true;
    } catch (err) {
      if (!(await userExists(name))) throw err; // lost a race with a parallel environment: fine
    }
  }
  // Unlocked (sshd with UsePAM no refuses '!' accounts) and with the shared password.
  const current = (await run('getent', ['shadow', name])).stdout.split(':')[1] ?? '';
  if (!created && !pw.fresh && current.startsWith('$')) return;
  for (let attempt = 0; ; attempt++) {
    try {
      await runWithInput('chpasswd', [], `${name}:${pw.password}\n`);
      return;
    } catch (err) {
      if (attempt >= 20) throw err; // /etc/shadow locked by a parallel environment: retry
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function runWithInput(cmd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${err.trim()}`)),
    );
    child.stdin.end(input);
  });
}

async function userExists(name: string): Promise<boolean> {
  try {
    await run('getent', ['passwd', name]);
    return true;
  } catch {
    return false;
  }
}

async function ensureSudoers(): Promise<void> {
  const text = `# kiln test environment (test/env/ssh-env.ts)\n${TARGET_USER} ALL=(ALL) NOPASSWD:ALL\nDefaults:${TARGET_USER} !requiretty\n`;
  const current = await fsp.readFile(SUDOERS_FILE, 'utf8').catch(() => '');
  if (current === text) return;
  const tmp = `${SUDOERS_FILE}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, text, { mode: 0o440 });
  await fsp.rename(tmp, SUDOERS_FILE);
}

async function keygen(file: string, comment: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

async function startSshd(conf: string, log: string, port: number): Promise<ChildProcess> {
  await run('/usr/sbin/sshd', ['-t', '-f', conf]).catch((err: { stderr?: string }) => {
    throw new Error(`Cannot start sshd: config ${conf} is invalid: ${err.stderr ?? String(err)}`);
  });
  const fd = openSync(log, 'a');
  const child = track(spawn('/usr/sbin/sshd', ['-D', '-f', conf, '-E', log], { stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  await waitFor(
    async () => child.exitCode !== null || (await bannerReady(port)),
    10_000,
    `sshd on 127.0.0.1:${port}`,
  );
  if (child.exitCode !== null) {
    const text = await fsp.readFile(log, 'utf8').catch(() => '');
    throw new Error(`Cannot start sshd on 127.0.0.1:${port}: exited with ${child.exitCode}\n${text}`);
  }
  return child;
}

function bannerReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
    sock.once('error', () => done(false));
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something accepts a TCP connection on 127.0.0.1:port now. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test process that dies without calling stop() must not leave daemons behind. */
function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

function track(p: ChildProcess): ChildProcess {
  live.add(p);
  p.once('exit', () => live.delete(p));
  return p;
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGTERM');
          setTimeout(() => {
            if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
          }, 3000).unref();
        }),
    ),
  );
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Cannot start the SSH test environment: timed out waiting for ${what}`);
}
