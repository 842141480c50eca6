/**
 * Go formatting of decoded JSON values as mapstructure's messages show them: type names
 * (`float64`, `map[string]interface {}`), `%v` values and strconv float formats.
 */

/** The Go type of a value decoded from JSON into interface{}. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** reflect.Kind names used by mapstructure ("expected a map, got 'slice'"). */
export function goKindName(v: unknown): string {
  if (v === null || v === undefined) return 'invalid';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** Expands JS's shortest number text into plain decimal digits (no exponent). */
function expandExponent(s: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = '', expS] = m;
  const exp = Number(expS);
  const digits = int + frac;
  const point = int.length + exp;
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return sign + out;
}

/** strconv.FormatFloat(f, 'f', -1, 64). */
export function formatFloatF(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (Object.is(f, -0)) return '-0';
  return expandExponent(String(f));
}

/** fmt's %v for float64 (strconv 'g', shortest, exponent when exp < -4 || exp >= 6). */
export function formatFloatV(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const e = f.toExponential(); // shortest digits, e.g. "1.5e+6"
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(e);
  if (!m) return String(f);
  const exp = Number(m[4]);
  if (exp < -4 || exp >= 6) {
    const mant = m[3] ? `${m[2]}.${m[3]}` : m[2];
    const a = Math.abs(exp);
    return `${m[1]}${mant}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' + a : a}`;
  }
  return formatFloatF(f);
}

/** fmt's %v of a JSON-decoded value (maps with sorted keys, slices space-separated). */
export function goFmtV(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFmtV).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${goFmtV(o[k])}`)
      .join(' ')}]`;
  }
  if (typeof v === 'number') return formatFloatV(v);
  return String(v);
}
