/** Builder-supplied template helpers (passed in InterpolateContext.extraFuncs by the builder). */

/**
 * amazon's `clean_resource_name`: every byte that is not `[A-Za-z0-9]` nor one of
 * `( ) [ ] space . / - ' @ _` becomes `-` (multi-byte characters become one `-` per byte).
 */
export function cleanResourceName(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9()[\] ./\-'@_]$/.test(ch)) out += ch;
    else out += '-'.repeat(Buffer.byteLength(ch, 'utf8'));
  }
  return out;
}
