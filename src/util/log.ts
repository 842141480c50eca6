/**
 * kiln's debug log (Packer's PACKER_LOG / PACKER_LOG_PATH, spec §4.9): Go `log` lines
 * (`2006/01/02 15:04:05 msg`, local time) to a file or to stderr, every line passed through the
 * secret mask. Disabled (and free) unless `configureLog` enabled it.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

interface LogSink {
  /** One entry: its lines, each stamped and ending in a newline. */
  write(entry: string): void;
  close(): void;
}

let sink: LogSink | undefined;
let mask: (s: string) => string = (s) => s;

/** Options of `configureLog`. */
export interface LogOptions {
  /** The environment to read PACKER_LOG / PACKER_LOG_PATH from. */
  env: Record<string, string | undefined>;
  /** Where the log goes without PACKER_LOG_PATH (entries with `ui:` / `ui error:` are dropped there). */
  stderr: { write(s: string): unknown };
  /** Masks secrets in every line (e.g. maskSecrets of src/template/secrets.ts). */
  mask?: (s: string) => string;
}

/** True when PACKER_LOG is set to anything but "" or "0". */
export function logRequested(env: Record<string, string | undefined>): boolean {
  const v = env.PACKER_LOG;
  return v !== undefined && v !== '' && v !== '0';
}

/**
 * Starts the debug log if the environment asks for it. Throws a plain Error when the log file
 * cannot be created (the caller prints `Couldn't setup log output: …`).
 */
export function configureLog(opts: LogOptions): void {
  closeLog();
  mask = opts.mask ?? ((s) => s);
  if (!logRequested(opts.env)) return;
  const path = opts.env.PACKER_LOG_PATH;
  if (path) {
    const fd = openSync(path, 'w');
    sink = { write: (line) => void writeSync(fd, line), close: () => closeSync(fd) };
  } else {
    const err = opts.stderr;
    sink = {
      write: (entry) => {
        // The UI lines duplicate what is on stdout; drop the whole (multi-line) entry.
        const first = entry.slice(0, entry.indexOf('\n'));
        if (first.includes('ui:') || first.includes('ui error:')) return;
        err.write(entry);
      },
      close: () => undefined,
    };
  }
}

/** Stops the debug log (closing its file). */
export function closeLog(): void {
  sink?.close();
  sink = undefined;
}

/** Whether log lines are being written (to skip building expensive messages). */
export function logEnabled(): boolean {
  return sink !== undefined;
}

/** Writes one log entry (each of its lines gets the timestamp), secrets masked. */
export function debugLog(message: string): void {
  if (!sink) return;
  const stamp = goLogTime(new Date());
  sink.write(
    mask(message)
      .split('\n')
      .map((line) => `${stamp} ${line}\n`)
      .join(''),
  );
}

/** Go log's default timestamp, local time: `2006/01/02 15:04:05`. */
export function goLogTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
