import { randomInt } from 'node:crypto';

/** Packer's TimeOrderedUUID: 8 hex digits of Unix seconds, then random hex (36 chars). */
export function timeOrderedUuid(): string {
  const hex = (n: number) => Array.from({ length: n }, () => randomInt(16).toString(16)).join('');
  const secs = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0')
    .slice(-8);
  return `${secs}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
}
