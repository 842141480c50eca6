/**
 * kiln's error hierarchy. Only the process edge (src/cli/main.ts) turns these into text and exit
 * codes; everything else throws them. A plain Error reaching the edge is a bug and is reported as one.
 */

/** An error whose message is meant for the user, printed as is. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/**
 * A component configuration problem list (Packer's SDK multi-error). `message` is the SDK format:
 * `N error(s) occurred:\n\n* a\n* b`.
 */
export class ConfigError extends UserError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(sdkMultiError(problems));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A bug in kiln: a value a step needed was never produced, and so on. */
export class InternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalError';
  }
}

/** hashicorp/go-multierror's format: `1 error occurred:\n\t* m\n\n`. */
export function goMultiError(problems: string[]): string {
  const head = problems.length === 1 ? '1 error occurred:' : `${problems.length} errors occurred:`;
  return `${head}\n${problems.map((p) => `\t* ${p}`).join('\n')}\n\n`;
}

/** The Packer SDK's multi-error format: `N error(s) occurred:\n\n* a\n* b`. */
export function sdkMultiError(problems: string[]): string {
  return `${problems.length} error(s) occurred:\n\n${problems.map((p) => `* ${p}`).join('\n')}`;
}
