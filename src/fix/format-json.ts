/**
 * `packer fix` output: Go's `json.MarshalIndent(v, "", "  ")` of the fixed template (object keys
 * sorted, HTML-safe escapes) with Packer turning `\u003c`/`\u003e` back into `<`/`>`.
 */

/** A JSON string as Go 1.19's encoder writes it (`&` → \u0026, U+2028/2029 escaped, \b/\f as \u00XX). */
function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '&') out += '\\u0026';
    else if (c < 0x20 || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd'; // a lone surrogate is invalid UTF-8 to Go
    else out += ch;
  }
  return `${out}"`;
}

/** A float64 as Go's encoder writes it: shortest digits, exponent outside [1e-6, 1e21). */
function goJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n}`);
  if (Object.is(n, -0)) return '-0';
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return n.toExponential(); // Go trims "e-07" to "e-7"; JS never pads.
  }
  return String(n); // JS prints these without an exponent, like Go's 'f' format.
}

function encode(v: unknown, indent: string): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number') return goJsonNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((e) => inner + encode(e, inner)).join(',\n')}\n${indent}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${goJsonString(k)}: ${encode(obj[k], inner)}`).join(',\n')}\n${indent}}`;
}

/**
 * The fixed template as `packer fix` prints it, without the trailing newlines: the CLI writes
 * this text followed by "\n\n" (Packer prints the JSON and then an empty line).
 */
export function formatFixedJson(value: unknown): string {
  return encode(value, '');
}
