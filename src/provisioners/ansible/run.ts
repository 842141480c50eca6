/**
 * Runs a local command (ansible-playbook, ansible-galaxy) with no shell, streaming its stdout and
 * stderr line by line to the UI as Packer does (§D.9): each line with trailing whitespace trimmed,
 * through `ui.message`.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Ui } from '../../ui/ui.js';

/** How the command ended, worded like Go's exec errors. */
export class CommandFailed extends Error {}

function pumpLines(stream: Readable, emit: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        emit(rest.slice(0, nl).replace(/\s+$/u, ''));
        rest = rest.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (rest !== '') emit(rest.replace(/\s+$/u, ''));
      resolve();
    });
    stream.on('error', () => resolve());
  });
}

/** Go's os/exec start errors. */
export function startError(command: string, err: NodeJS.ErrnoException): string {
  if (!command.includes('/') && err.code === 'ENOENT') {
    return `exec: ${JSON.stringify(command)}: executable file not found in $PATH`; // parity:
  }
  if (err.code === 'ENOENT') return `fork/exec ${command}: no such file or directory`; // parity:
  if (err.code === 'EACCES') return `fork/exec ${command}: permission denied`; // parity:
  return err.message;
}

/**
 * Starts `command args…` with `env`; resolves when it exits 0. Rejects with CommandFailed:
 * `Non-zero exit status: exit status N` (or `signal: killed`), or Go's start error text.
 */
export async function runStreaming(
  command: string,
  args: string[],
  env: Record<string, string>,
  ui: Ui,
  signal?: AbortSignal,
  cwd?: string,
): Promise<void> {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(new CommandFailed(startError(command, err)));
    });
  });
  await started;
  const onAbort = (): void => {
    child.kill('SIGINT');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const out = pumpLines(child.stdout, (l) => ui.message(l));
  const err = pumpLines(child.stderr, (l) => ui.message(l));
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (c, s) => resolve([c, s])),
  );
  await Promise.all([out, err]);
  signal?.removeEventListener('abort', onAbort);
  if (code === 0) return;
  const how = sig ? `signal: ${sig === 'SIGKILL' ? 'killed' : sig === 'SIGINT' ? 'interrupt' : sig}` : `exit status ${code}`;
  throw new CommandFailed(`Non-zero exit status: ${how}`); // parity:
}

/** Runs a command and captures its combined output (the `--version` check). */
export function runCapture(
  command: string,
  args: string[],
): Promise<{ output: string; error?: string }> {
  return new Promise((resolve) => {
    let output = '';
    let child;
    try {
      child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ output: '', error: (e as Error).message });
      return;
    }
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (err: NodeJS.ErrnoException) => {
      resolve({ output, error: startError(command, err) });
    });
    child.once('close', (code, sig) => {
      if (code === 0) resolve({ output });
      else resolve({ output, error: sig ? `signal: ${sig}` : `exit status ${code}` });
    });
  });
}
