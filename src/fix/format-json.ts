/**
 * `packer fix` output: Go's `json.MarshalIndent(v, "", "  ")` of the fixed template (a Go map:
 * object keys sorted, HTML-safe escapes), after which Packer turns every `\u003c` and `\u003e` of
 * the text back into `<` and `>`.
 */
import { goMarshalIndent } from '../util/go-json.js';

/**
 * The fixed template as `packer fix` prints it, without the trailing newlines: the CLI writes
 * this text followed by "\n\n" (Packer prints the JSON and then an empty line).
 */
export function formatFixedJson(value: unknown): string {
  return goMarshalIndent(value, { sortKeys: true }).replaceAll('\\u003c', '<').replaceAll('\\u003e', '>');
}
