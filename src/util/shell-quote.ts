/**
 * POSIX shell quoting. Inside single quotes nothing is special except `'` itself, which is closed,
 * emitted in double quotes and reopened: `it's` → `'it'"'"'s'` (the replacement Packer's shell
 * provisioner applies to environment values, spec §6.2).
 */

/** Replaces every `'` by `'"'"'` (for a value that will be placed inside single quotes). */
export function escapeSingleQuotes(value: string): string {
  return value.replaceAll("'", `'"'"'`);
}

/** Quotes a word for a POSIX shell; safe words stay as they are. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${escapeSingleQuotes(word)}'`;
}
