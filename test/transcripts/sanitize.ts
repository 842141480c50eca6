/** Sanitising volatile parts of `kiln build` output for transcript comparison. */

const UNIT = '(?:year|week|day|hour|minute|second|millisecond|microsecond)s?';
const DURATION = new RegExp(`\\d+ ${UNIT}(?: \\d+ ${UNIT})?`, 'g');

/** Replaces volatile parts: durations → <D>, temp script names → <N>, cleanup-time notes, colour codes. */
export function sanitize(text: string): string {
  return text
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/ \(cleanup [^)]*\)/g, '')
    .replace(DURATION, '<D>')
    .replace(/packer-shell\d+/g, 'packer-shell<N>');
}
