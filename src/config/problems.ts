/**
 * Collecting a component's problems and failing once, like the Packer SDK's
 * `packer.MultiErrorAppend` + `return errs` at the end of Prepare.
 */
import { ConfigError } from '../util/errors.js';

/** Collects validation messages; `throwIfAny` throws one ConfigError (SDK multi-error format). */
export class Problems {
  readonly messages: string[] = [];
  /** Warnings a builder returns from prepare (not errors). */
  readonly warnings: string[] = [];

  /** Adds one problem (the text Packer prints, or kiln's own sentence). */
  add(message: string): void {
    this.messages.push(message);
  }

  /** Adds every problem of an error: a ConfigError's list, or another error's message. */
  addError(err: unknown): void {
    if (err instanceof ConfigError) this.messages.push(...err.problems);
    else this.messages.push(err instanceof Error ? err.message : String(err));
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  get length(): number {
    return this.messages.length;
  }

  /** Throws `ConfigError` listing every problem (`N error(s) occurred:\n\n* a\n* b`) if there is any. */
  throwIfAny(): void {
    if (this.messages.length > 0) throw new ConfigError([...this.messages]);
  }
}
