/** Errors of core initialization, shared by src/core and src/template. */
import { UserError } from '../util/errors.js';

/** One problem found while initializing or preparing builds (HCL's diagnostic, as Packer prints it). */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Empty for initialization failures (printed as `Error: ` followed by a blank line). */
  summary: string;
  detail: string;
}

/**
 * Initialization failed (validation, min version, required variables, variable or build-name
 * rendering). The CLI prints `diagnostic` in the diagnostic box; the message is the detail alone.
 */
export class CoreInitError extends UserError {
  readonly diagnostic: Diagnostic;
  constructor(detail: string) {
    super(detail);
    this.name = 'CoreInitError';
    this.diagnostic = { severity: 'error', summary: '', detail };
  }
}
