/**
 * The Ui interface every component talks to (Packer's packer.Ui). Decorators in this folder add
 * targets (`==> name: `), colours, timestamps, secret masking and the machine-readable format.
 */
export interface Ui {
  /** `==> target: msg` */
  say(msg: string): void;
  /** `    target: msg` */
  message(msg: string): void;
  /** `==> target: msg` in red */
  error(msg: string): void;
  /** A machine-readable event; logged only in human mode. */
  machine(type: string, ...data: string[]): void;
  /** Prints the query and reads one line from the terminal; rejects without a TTY or when aborted. */
  ask(query: string, signal?: AbortSignal): Promise<string>;
}
