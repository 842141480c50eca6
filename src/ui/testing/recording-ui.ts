/**
 * A test-only Ui that records every call and answers `ask` from a scripted list (no answers left,
 * or none given = "no available tty"). Runtime code never imports this folder.
 */
import type { Ui } from '../ui.js';

export type UiCall = ['say' | 'message' | 'error' | 'ask', string] | ['machine', string, ...string[]];

export class RecordingUi implements Ui {
  readonly calls: UiCall[] = [];

  constructor(private readonly answers: Array<string | Error> = []) {}

  say(msg: string): void {
    this.calls.push(['say', msg]);
  }
  message(msg: string): void {
    this.calls.push(['message', msg]);
  }
  error(msg: string): void {
    this.calls.push(['error', msg]);
  }
  machine(type: string, ...data: string[]): void {
    this.calls.push(['machine', type, ...data]);
  }
  async ask(query: string, signal?: AbortSignal): Promise<string> {
    this.calls.push(['ask', query]);
    if (signal?.aborted) throw new Error('interrupted');
    const a = this.answers.shift();
    if (a === undefined) throw new Error('no available tty');
    if (a instanceof Error) throw a;
    return a;
  }

  /** The calls as `kind: text` lines, for compact assertions. */
  lines(): string[] {
    return this.calls.map((c) => `${c[0]}: ${c.slice(1).join(',')}`);
  }
}
