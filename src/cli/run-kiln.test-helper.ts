/** Test helper: runs the CLI in-process with captured streams and a fixed clock. */
import { Readable } from 'node:stream';
import { run } from './main.js';

export interface Transcript {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kiln <args>` in-process; stdin is `input` (not a TTY). */
export async function runKiln(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<Transcript> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin: Readable.from(opts.input !== undefined ? [opts.input] : []),
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    now: () => new Date(Date.UTC(2026, 10, 28, 1, 2, 3)),
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}
