/**
 * Human durations as Packer prints them (hako/durafmt `Parse(d).LimitFirstN(2)`): the first two
 * non-zero units of years, weeks, days, hours, minutes, seconds, milliseconds, microseconds.
 */

const UNITS: Array<[singular: string, plural: string, ns: bigint]> = [
  ['year', 'years', 365n * 24n * 3600n * 1_000_000_000n],
  ['week', 'weeks', 7n * 24n * 3600n * 1_000_000_000n],
  ['day', 'days', 24n * 3600n * 1_000_000_000n],
  ['hour', 'hours', 3600n * 1_000_000_000n],
  ['minute', 'minutes', 60n * 1_000_000_000n],
  ['second', 'seconds', 1_000_000_000n],
  ['millisecond', 'milliseconds', 1_000_000n],
  ['microsecond', 'microseconds', 1_000n],
];

/**
 * Formats a duration given in nanoseconds, e.g. `2 seconds 62 milliseconds`, `1 minute 39 seconds`.
 * Durations below one microsecond give the empty string, as in Packer (`… after .`).
 */
export function formatDuration(ns: bigint | number, limit = 2): string {
  let rest = typeof ns === 'bigint' ? ns : BigInt(Math.max(0, Math.round(ns)));
  if (rest < 0n) rest = 0n;
  const parts: string[] = [];
  for (const [one, many, size] of UNITS) {
    const n = rest / size;
    rest %= size;
    if (n === 0n) continue;
    parts.push(`${n} ${n === 1n ? one : many}`);
  }
  return parts.slice(0, limit).join(' ');
}

/** Formats a duration given in milliseconds (may be fractional). */
export function formatDurationMs(ms: number, limit = 2): string {
  return formatDuration(Math.round(ms * 1e6), limit);
}

/** A monotonic stopwatch in nanoseconds. */
export function stopwatch(): () => bigint {
  const start = process.hrtime.bigint();
  return () => process.hrtime.bigint() - start;
}
