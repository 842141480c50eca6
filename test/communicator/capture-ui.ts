/** A Ui that records every call as `say: …`, `message: …`, `error: …` lines (for assertions). */
import type { Ui } from '../../src/ui/ui.js';

export class CaptureUi implements Ui {
  readonly lines: string[] = [];
  say(msg: string): void {
    this.lines.push(`say: ${msg}`);
  }
  message(msg: string): void {
    this.lines.push(`message: ${msg}`);
  }
  error(msg: string): void {
    this.lines.push(`error: ${msg}`);
  }
  machine(): void {}
  async ask(): Promise<string> {
    throw new Error('no available tty');
  }
}
