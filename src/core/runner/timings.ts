/**
 * How long each step of a build took (kiln's own addition: the table printed at the end of every
 * build). The runner records into a StepTimings when the builder passes one (BuildContext.stepTimings).
 */

/** One row: the step's name, its total run time and its total cleanup time, in nanoseconds. */
export interface StepTiming {
  name: string;
  runNs: bigint;
  cleanupNs: bigint;
}

/** An ordered record of step durations; a step recorded twice (a retry) accumulates. */
export class StepTimings {
  readonly rows: StepTiming[] = [];

  /** Adds `ns` to the run or cleanup time of the row named `name` (created on first use). */
  record(name: string, phase: 'run' | 'cleanup', ns: bigint): void {
    let row = this.rows.find((r) => r.name === name);
    if (!row) {
      row = { name, runNs: 0n, cleanupNs: 0n };
      this.rows.push(row);
    }
    if (phase === 'run') row.runNs += ns;
    else row.cleanupNs += ns;
  }

  /** Appends a row of its own (e.g. one per post-processor, even when two share a name). */
  add(name: string, runNs: bigint): void {
    this.rows.push({ name, runNs, cleanupNs: 0n });
  }
}
