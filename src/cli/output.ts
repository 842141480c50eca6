/**
 * The command-level UI of validate/inspect/console/fix/version: Packer's BasicUi writing to stdout
 * (errors included, spec §0.3) with secrets masked, or the machine-readable format (§4.8), which —
 * like Packer — does not mask.
 */
import { maskSecrets } from '../template/secrets.js';
import type { CliIo } from './io.js';

/** Packer's machine-readable escaping of one data item. */
export function machineEscape(s: string): string {
  return s.replace(/,/g, '%!(PACKER_COMMA)').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** The UI a command prints through. */
export interface CommandUi {
  say(msg: string): void;
  message(msg: string): void;
  error(msg: string): void;
  /** A machine-readable event (ignored in human mode). */
  machine(type: string, ...data: string[]): void;
}

/** The command UI for `io`: human (masked, stdout) or machine-readable. */
export function commandUi(io: CliIo): CommandUi {
  if (io.machineReadable) {
    const line = (type: string, data: string[]) => {
      const ts = Math.floor(io.now().getTime() / 1000);
      io.stdout.write(`${ts},,${[type, ...data.map(machineEscape)].join(',')}\n`);
    };
    return {
      say: (m) => line('ui', ['say', m]),
      message: (m) => line('ui', ['message', m]),
      error: (m) => line('ui', ['error', m]),
      machine: (t, ...d) => line(t, d),
    };
  }
  return {
    say: (m) => void io.stdout.write(maskSecrets(m) + '\n'),
    message: (m) => void io.stdout.write(maskSecrets(m) + '\n'),
    error: (m) => void io.stdout.write(maskSecrets(m) + '\n'),
    machine: () => undefined,
  };
}
