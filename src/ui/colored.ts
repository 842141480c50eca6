/**
 * Per-build colours (Packer's packer.ColoredUi): `say`/`ask` bold in the build's colour, `message`
 * in the plain colour, `error` bold red. The whole (multi-line) message is wrapped once.
 */
import type { Ui } from './ui.js';

/** ANSI colour codes Packer uses. */
export const UiColor = {
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
} as const;

/** The colour of build number i (sorted order): green, cyan, magenta, yellow, blue, cycling. */
export function buildColor(i: number): number {
  const cycle = [UiColor.green, UiColor.cyan, UiColor.magenta, UiColor.yellow, UiColor.blue];
  return cycle[i % cycle.length];
}

/** Wraps text in an ANSI colour sequence (`ESC[<attr>;<color>m … ESC[0m`). */
export function colorize(msg: string, color: number, bold: boolean): string {
  return `\x1b[${bold ? 1 : 0};${color}m${msg}\x1b[0m`;
}

/** Packer's ColoredUi. `enabled=false` (PACKER_NO_COLOR) passes text through uncoloured. */
export class ColoredUi implements Ui {
  constructor(
    private readonly inner: Ui,
    private readonly color: number,
    private readonly enabled = true,
    private readonly errorColor: number = UiColor.red,
  ) {}

  private paint(msg: string, color: number, bold: boolean): string {
    return this.enabled ? colorize(msg, color, bold) : msg;
  }

  say(msg: string): void {
    this.inner.say(this.paint(msg, this.color, true));
  }

  message(msg: string): void {
    this.inner.message(this.paint(msg, this.color, false));
  }

  error(msg: string): void {
    this.inner.error(this.paint(msg, this.errorColor, true));
  }

  machine(type: string, ...data: string[]): void {
    this.inner.machine(type, ...data);
  }

  ask(query: string, signal?: AbortSignal): Promise<string> {
    return this.inner.ask(this.paint(query, this.color, true), signal);
  }
}
