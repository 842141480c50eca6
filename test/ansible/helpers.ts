/** Shared pieces of the ansible tests: a recording Ui, a process runner, the proxy set-up. */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ui } from '../../src/ui/ui.js';
import type { Communicator } from '../../src/core/types.js';
import type { SshEnv } from '../env/ssh-env.js';

export interface RecordingUi extends Ui {
  lines: string[];
}

/** A Ui that records `say`/`message`/`error` the way the targeted UI prints them. */
export function recordingUi(echo = !!process.env.KILN_TEST_VERBOSE): RecordingUi {
  const lines: string[] = [];
  const rec = (prefix: string) => (msg: string) => {
    for (const l of msg.split('\n')) {
      lines.push(`${prefix}${l}`);
      if (echo) console.log(`${prefix}${l}`);
    }
  };
  return {
    lines,
    say: rec('==> test: '),
    message: rec('    test: '),
    error: rec('==> test: '),
    machine: () => undefined,
    ask: () => Promise.reject(new Error('no tty')),
  };
}

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a local program (no shell) and collects its output. */
export function exec(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the program may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/** Connects kiln's SSH communicator to the test sshd as the target user. */
export async function connectComm(env: SshEnv): Promise<Communicator> {
  const { connectSsh } = await import('../../src/communicator/ssh/index.js');
  return connectSsh({
    host: env.host,
    port: env.port,
    username: env.user,
    privateKeys: [await fsp.readFile(env.keyFile)],
  });
}

/** A private temp directory for one test file. */
export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(join(tmpdir(), prefix));
}

/** OpenSSH client options for talking to a one-off server with no known_hosts entry. */
export const NO_KNOWN_HOSTS = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'BatchMode=yes',
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'LogLevel=ERROR',
];
