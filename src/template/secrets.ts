/**
 * The process-wide list of sensitive values (Packer's packer.LogSecretFilter). Every human UI line
 * and log line goes through `maskSecrets`, which replaces each non-empty secret, as a plain
 * substring at any position, with `<sensitive>`.
 */

const secrets = new Set<string>();

/** Adds a value to mask; empty values are ignored (they would match everywhere). */
export function registerSecret(value: string): void {
  if (value !== '') secrets.add(value);
}

/** The registered secrets, in registration order. */
export function listSecrets(): string[] {
  return [...secrets];
}

/** Replaces every occurrence of every registered secret with `<sensitive>`. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('<sensitive>');
  }
  return out;
}

/** Forgets every registered secret (tests, in-process repeated runs). */
export function clearSecrets(): void {
  secrets.clear();
}
