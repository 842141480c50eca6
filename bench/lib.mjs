// Helpers the benchmark scripts share: the repository root, the median, a stopwatch, the load
// average, and writing a script's section of docs/benchmarks.md between its markers.
// (bench/lab-vs-packer.mjs still has its own copies.)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/..). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Starts a monotonic clock; the function returned gives the milliseconds since. */
export function stopwatch() {
  const t0 = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The 1, 5 and 15 minute load averages as /proc/loadavg prints them ("0.52 0.61 0.70"). */
export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/**
 * Replaces what stands between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` in
 * docs/benchmarks.md with `section` (the markers are appended at the end when missing).
 */
export function writeBenchSection(name, section) {
  const doc = join(root, 'docs/benchmarks.md');
  let text = readFileSync(doc, 'utf8');
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  if (!text.includes(start) || !text.includes(end)) text = `${text.trimEnd()}\n\n${start}\n${end}\n`;
  const a = text.indexOf(start);
  const b = text.indexOf(end, a);
  writeFileSync(doc, `${text.slice(0, a + start.length)}\n${section}\n${text.slice(b)}`);
}
