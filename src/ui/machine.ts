/**
 * `-machine-readable` (Packer's packer.MachineReadableUi): one `<unix time>,<target>,<type>,<data…>`
 * line per event. Unlike Packer 1.6.6 (which leaks them), kiln masks sensitive values here too.
 */
import type { Ui } from './ui.js';
import type { TextSink } from './basic.js';
import { debugLog } from '../util/log.js';

/** Escapes one data item: `,` → `%!(PACKER_COMMA)`, CR → `\r`, LF → `\n` (two characters each). */
export function escapeMachineData(s: string): string {
  return s.replaceAll(',', '%!(PACKER_COMMA)').replaceAll('\r', '\\r').replaceAll('\n', '\\n');
}

export interface MachineUiOptions {
  out: TextSink;
  mask?: (s: string) => string;
  now?: () => Date;
}

/** Packer's MachineReadableUi. */
export class MachineReadableUi implements Ui {
  private readonly out: TextSink;
  private readonly mask: (s: string) => string;
  private readonly now: () => Date;

  constructor(opts: MachineUiOptions) {
    this.out = opts.out;
    this.mask = opts.mask ?? ((s) => s);
    this.now = opts.now ?? (() => new Date());
  }

  say(msg: string): void {
    this.machine('ui', 'say', msg);
  }

  message(msg: string): void {
    this.machine('ui', 'message', msg);
  }

  error(msg: string): void {
    this.machine('ui', 'error', msg);
  }

  machine(type: string, ...data: string[]): void {
    const comma = type.indexOf(',');
    const target = comma >= 0 ? type.slice(0, comma) : '';
    const category = comma >= 0 ? type.slice(comma + 1) : type;
    const args = data.map((d) => escapeMachineData(this.mask(d))).join(',');
    const line = `${Math.floor(this.now().getTime() / 1000)},${target},${category},${args}`;
    debugLog(`machine readable: ${line}`);
    this.out.write(line + '\n');
  }

  ask(_query: string): Promise<string> {
    return Promise.reject(new Error("machine-readable UI can't ask")); // parity
  }
}
