/**
 * kiln's per-build step table (not in Packer): after each build, how long each step (and each
 * post-processor) took, e.g.
 *
 *     ==> null: Step durations:
 *         null:   StepConnect                 12 microseconds
 *         null:   StepProvision               2 seconds 62 milliseconds (cleanup 1 millisecond)
 */
import type { StepTimings } from '../../core/runner/timings.js';
import { formatDuration } from '../../util/durafmt.js';

/** The table's lines: a heading, then one aligned row per step. */
export function formatStepTable(timings: StepTimings): string[] {
  const width = Math.max(...timings.rows.map((r) => r.name.length));
  const rows = timings.rows.map((r) => {
    const run = formatDuration(r.runNs) || '0 microseconds';
    const cleanup = r.cleanupNs >= 1000n ? ` (cleanup ${formatDuration(r.cleanupNs)})` : '';
    return `  ${r.name.padEnd(width)}  ${run}${cleanup}`;
  });
  return ['Step durations:', ...rows];
}
