/**
 * Runs the built CLI (bin/kiln) as users do, for end-to-end tests: `runKiln` waits for it to end;
 * `startKiln` hands back the child, so a test can wait for a line of output and then signal it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from dist/ or from the sources. */
export const ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'bin', 'kiln')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('Cannot find bin/kiln above ' + fileURLToPath(import.meta.url));
})();
export const KILN = join(ROOT, 'bin', 'kiln');

/** Environment for amazon builds against moto: fake static keys, no instance metadata lookups. */
export const AWS_TEST_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_EC2_METADATA_DISABLED: 'true',
};

export interface KilnOptions {
  cwd?: string;
  /** Added to this process's environment (`undefined` values remove a variable). */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin, then closed. Default: no stdin. */
  input?: string;
  timeoutMs?: number;
  /** Own process group (pid = pgid), so `process.kill(-child.pid, 'SIGINT')` acts like a terminal's Ctrl-C. */
  detached?: boolean;
}

export interface KilnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  out: string;
}

export interface RunningKiln {
  child: ChildProcess;
  /** Output so far (stdout and stderr interleaved). */
  out(): string;
  /** Resolves when the output matches `re` (rejects if kiln ends first or after `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  done: Promise<KilnResult>;
}

export function startKiln(args: string[], opts: KilnOptions = {}): RunningKiln {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [KILN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  let stdout = '';
  let stderr = '';
  let out = '';
  const watchers = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    out += d.toString();
    for (const w of watchers) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    out += d.toString();
    for (const w of watchers) w();
  });
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
  const done = new Promise<KilnResult>((resolve) => {
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w();
      resolve({ code, signal, stdout, stderr, out });
    });
  });
  let ended = false;
  void done.then(() => (ended = true));
  return {
    child,
    out: () => out,
    done,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            cleanup();
            resolve(m);
          } else if (ended || child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(new Error(`kiln ended before printing ${re}:\n${out}`));
          }
        };
        const t = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${re} after ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(t);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
  };
}

export function runKiln(args: string[], opts: KilnOptions = {}): Promise<KilnResult> {
  return startKiln(args, opts).done;
}

/**
 * An `opts.env` under which kiln sees only `vars`: every other variable of this process is
 * removed (no AWS credentials, proxies or SSH agent leak into the run).
 */
export function onlyEnv(vars: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) env[k] = undefined;
  return { ...env, ...vars };
}

/** A `-debug` pause kiln asked about on the terminal. */
export interface Pause {
  /** `after run of`, `before cleanup of` or `before the next provisioner`. */
  where: string;
  /** The step's name ('' before a provisioner). */
  step: string;
  /** Output printed before this pause. */
  before: string;
  /** How much output there is now (kiln printing while paused would grow it). */
  now(): number;
}

/** What the test does while kiln waits at a pause; Enter is typed once it resolves. */
export type OnPause = (p: Pause) => Promise<void>;

export interface TerminalResult {
  code: number | null;
  /** Everything the terminal showed, `\r\n` made `\n`. */
  out: string;
  /** Every pause, in order. */
  pauses: Pause[];
}

export interface TerminalOptions extends KilnOptions {
  /** A command kiln runs under, e.g. `['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']` to run it as nobody. */
  prefix?: string[];
}

const PAUSE_PROMPT =
  /Pausing (after run of|before cleanup of|before the next provisioner)(?: step '([^']+)'| )\. Press enter to continue\. $/;

const shellQuote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Runs kiln on a pseudo-terminal (util-linux `script`): like Packer, kiln reads answers to `-debug`
 * pauses from the terminal only, never from a pipe. At each pause `onPause` runs, then Enter is
 * typed; if `onPause` throws, kiln is killed and the promise rejects with that error. `opts.input`
 * and `opts.detached` do not apply; `opts.timeoutMs` defaults to 180 s (then kiln is killed).
 */
export function runKilnOnTerminal(
  args: string[],
  opts: TerminalOptions,
  onPause: OnPause,
): Promise<TerminalResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const command = [...(opts.prefix ?? []), process.execPath, KILN, ...args].map(shellQuote).join(' ');
    const child = spawn('script', ['-q', '-f', '-e', '-c', command, '/dev/null'], {
      cwd: opts.cwd ?? ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    let out = '';
    let busy = false;
    const pauses: Pause[] = [];
    const check = () => {
      if (busy) return;
      const m = PAUSE_PROMPT.exec(out);
      if (!m) return;
      busy = true;
      const pause: Pause = {
        where: m[1],
        step: m[2] ?? '',
        before: out.slice(0, m.index),
        now: () => out.length,
      };
      pauses.push(pause);
      // The prompt's trailing space becomes a newline: the next check only sees a new prompt.
      out = out.slice(0, out.length - 1) + '\n';
      onPause(pause).then(
        () => {
          busy = false;
          child.stdin.write('\n');
          check();
        },
        (err: unknown) => {
          child.kill('SIGKILL');
          reject(err as Error);
        },
      );
    };
    const onData = (d: Buffer) => {
      out += d.toString().replace(/\r\n/g, '\n');
      check();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, pauses });
    });
  });
}
