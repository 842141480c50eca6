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
