/**
 * The innermost UI (Packer's packer.BasicUi): every message is secret-masked, logged
 * (`ui: …` / `ui error: …`) and written with a newline; errors go to the same stream (stdout) as
 * Packer does. `ask` prints the query and reads one line from the terminal.
 */
import type { Ui } from './ui.js';
import type { LineReader } from './tty.js';
import { debugLog, logEnabled } from '../util/log.js';

/** A place to write text (process.stdout, a test buffer …). */
export interface TextSink {
  write(s: string): unknown;
}

export interface BasicUiOptions {
  out: TextSink;
  /** Where `error` writes; default `out` (Packer writes errors to stdout too). */
  errOut?: TextSink;
  /** Opens the terminal on the first `ask`; undefined (or returning undefined) = no TTY. */
  tty?: () => LineReader | undefined;
  /** Replaces secret values (maskSecrets). */
  mask?: (s: string) => string;
}

/** Packer's BasicUi. */
export class BasicUi implements Ui {
  private readonly out: TextSink;
  private readonly errOut: TextSink;
  private readonly mask: (s: string) => string;
  private readonly openTty?: () => LineReader | undefined;
  private reader: LineReader | undefined | null = null;
  private interrupted = false;
  private asking: Promise<unknown> = Promise.resolve();
  /** Ends the read of the question being asked, if any. */
  private pending?: AbortController;

  constructor(opts: BasicUiOptions) {
    this.out = opts.out;
    this.errOut = opts.errOut ?? opts.out;
    this.mask = opts.mask ?? ((s) => s);
    this.openTty = opts.tty;
  }

  say(msg: string): void {
    const m = this.mask(msg);
    debugLog(`ui: ${m}`);
    this.out.write(m + '\n');
  }

  message(msg: string): void {
    this.say(msg);
  }

  error(msg: string): void {
    const m = this.mask(msg);
    debugLog(`ui error: ${m}`);
    this.errOut.write(m + '\n');
  }

  machine(type: string, ...data: string[]): void {
    if (logEnabled()) debugLog(`machine readable: ${type} []string{${data.map((d) => JSON.stringify(this.mask(d))).join(', ')}}`);
  }

  /** Asks one question at a time (Packer holds the UI lock while asking). */
  ask(query: string, signal?: AbortSignal): Promise<string> {
    const run = this.asking.then(() => this.askNow(query, signal));
    this.asking = run.catch(() => undefined);
    return run;
  }

  /**
   * An interrupt (SIGINT/SIGTERM) arrived: like Packer's BasicUi, a question being asked is ended
   * with a newline and fails with `interrupted`, and so does every later question.
   */
  interrupt(): void {
    if (this.interrupted) return;
    this.interrupted = true;
    if (this.pending) {
      this.out.write('\n');
      this.pending.abort();
    }
  }

  /** Releases the terminal. */
  close(): void {
    this.reader?.close();
  }

  private async askNow(query: string, signal?: AbortSignal): Promise<string> {
    if (this.interrupted || signal?.aborted) throw new Error('interrupted'); // parity: BasicUi.Ask
    if (this.reader === null) this.reader = this.openTty?.();
    if (!this.reader) throw new Error('no available tty'); // parity: BasicUi.Ask
    debugLog(`ui: ask: ${this.mask(query)}`);
    if (query !== '') this.out.write(this.mask(query) + ' ');
    const pending = new AbortController();
    this.pending = pending;
    const onAbort = (): void => pending.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const line = await this.reader.readLine(pending.signal);
      return line.trim();
    } catch (e) {
      if (this.interrupted) throw new Error('interrupted'); // parity
      if (signal?.aborted) {
        this.out.write('\n');
        this.interrupted = true;
        throw new Error('interrupted'); // parity
      }
      throw e;
    } finally {
      this.pending = undefined;
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
