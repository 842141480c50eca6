/**
 * Go encoding/json output for the manifest file: `json.MarshalIndent(v, "", "  ")` of plain data
 * (objects keep their key order; Go sorts map keys, so callers sort maps). Strings escape `<>&`,
 * U+2028/U+2029 and control characters as Go does; no trailing newline.
 */

/** Go's encodeState.string: `\"`, `\\`, `\n`, `\r`, `\t`, other controls and `<>&` as \u00XX. */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&') out += '\\u00' + c.toString(16).padStart(2, '0');
    else if (c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16);
    else out += ch;
  }
  return out + '"';
}

/** MarshalIndent with prefix "" and indent "  ". `undefined` object members are omitted. */
export function goMarshalIndent(v: unknown, depth = 0): string {
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => pad + goMarshalIndent(x, depth + 1)).join(',\n')}\n${end}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, x]) => `${pad}${goJsonString(k)}: ${goMarshalIndent(x, depth + 1)}`).join(',\n')}\n${end}}`;
}
