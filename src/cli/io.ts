/**
 * What a command may touch of the process: streams, environment, working directory. `main` builds
 * it from the real process; tests build one with captured streams.
 */

/** A writable text sink (process.stdout, or a test buffer). */
export interface TextSink {
  write(s: string): unknown;
}

/** The process edge handed to every command. */
export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** `-machine-readable` was given (removed from the arguments before the command saw them). */
  machineReadable: boolean;
  /** Clock for machine-readable timestamps and the run's init time (tests fix it). */
  now: () => Date;
}

/** A command's entry point: arguments after the command name → exit code. */
export type CommandRun = (args: string[], io: CliIo) => Promise<number>;
