/**
 * Streaming command output into a UI (Packer's RemoteCmd.RunWithUi and shell-local's local
 * runner): each stdout line → `message`, each stderr line → `error`. A line loses its trailing
 * whitespace and everything up to its last `\r` (progress bars keep their final state); empty lines
 * are skipped.
 */
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Ui } from './ui.js';

/** Cleans one output line as Packer does; '' means "skip it". */
export function cleanOutputLine(line: string): string {
  const trimmed = line.trimEnd();
  const cr = trimmed.lastIndexOf('\r');
  return cr >= 0 ? trimmed.slice(cr + 1) : trimmed;
}

/** A Writable that calls `emit` with every cleaned, non-empty line (the last partial one at end). */
export class LineEmitter extends Writable {
  private buffer = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly onLine: (line: string) => void) {
    super();
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      this.push1(this.buffer.slice(0, nl));
      this.buffer = this.buffer.slice(nl + 1);
    }
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.buffer += this.decoder.end();
    if (this.buffer !== '') this.push1(this.buffer);
    this.buffer = '';
    done();
  }

  private push1(raw: string): void {
    const line = cleanOutputLine(raw);
    if (line !== '') this.onLine(line);
  }
}

/** The pair of streams a command's stdout and stderr are piped into. */
export function uiOutputStreams(ui: Ui): { stdout: LineEmitter; stderr: LineEmitter } {
  return {
    stdout: new LineEmitter((l) => ui.message(l)),
    stderr: new LineEmitter((l) => ui.error(l)),
  };
}
