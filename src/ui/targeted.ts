/**
 * Prefixes per build (Packer's packer.TargetedUI): each line of `say`/`error`/`ask` becomes
 * `==> <target>: <line>`, each line of `message` `    <target>: <line>`; trailing whitespace of the
 * whole result is trimmed. Machine events get `<target>,` before their type.
 */
import type { Ui } from './ui.js';

/** Prefixes every line of `message` with the arrow (or four spaces) and the target. */
export function prefixLines(target: string, arrow: boolean, message: string): string {
  const head = arrow ? '==>' : '   ';
  return message
    .split('\n')
    .map((line) => `${head} ${target}: ${line}\n`)
    .join('')
    .trimEnd();
}

/** Packer's TargetedUI. */
export class TargetedUi implements Ui {
  constructor(
    private readonly inner: Ui,
    readonly target: string,
  ) {}

  say(msg: string): void {
    this.inner.say(prefixLines(this.target, true, msg));
  }

  message(msg: string): void {
    this.inner.message(prefixLines(this.target, false, msg));
  }

  error(msg: string): void {
    this.inner.error(prefixLines(this.target, true, msg));
  }

  machine(type: string, ...data: string[]): void {
    this.inner.machine(`${this.target},${type}`, ...data);
  }

  ask(query: string, signal?: AbortSignal): Promise<string> {
    return this.inner.ask(prefixLines(this.target, true, query), signal);
  }
}
