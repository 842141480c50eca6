/**
 * Go's encoding/json output, for the files and texts where Packer prints JSON: the manifest
 * post-processor's file and `packer fix`. One encoder: `json.MarshalIndent(v, "", "  ")` with Go's
 * default HTML-safe string escapes.
 */

/**
 * A JSON string as Go's encoder writes it: `\"`, `\\`, `\n`, `\r`, `\t`; other control
 * characters and `<`, `>`, `&` as `\u00XX`; U+2028/U+2029 escaped; a lone surrogate (invalid
 * UTF-8 to Go) becomes U+FFFD.
 */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

/** A float64 as Go's encoder writes it: shortest digits, exponent outside [1e-6, 1e21). */
export function goJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n}`);
  if (Object.is(n, -0)) return '-0';
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return n.toExponential(); // Go trims "e-07" to "e-7"; JS never pads.
  }
  return String(n); // JS prints these without an exponent, like Go's 'f' format.
}

export interface MarshalOptions {
  /**
   * Sort object keys, as Go does for a map. Without it keys keep their order (a Go struct's
   * field order) and `undefined` members are omitted (`omitempty`-like).
   */
  sortKeys?: boolean;
}

/** `json.MarshalIndent(v, "", "  ")`. */
export function goMarshalIndent(v: unknown, options: MarshalOptions = {}): string {
  return encode(v, '', options.sortKeys === true);
}

function encode(v: unknown, indent: string, sortKeys: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number') return goJsonNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((e) => inner + encode(e, inner, sortKeys)).join(',\n')}\n${indent}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = sortKeys ? Object.keys(obj).sort() : Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${goJsonString(k)}: ${encode(obj[k], inner, sortKeys)}`).join(',\n')}\n${indent}}`;
}
