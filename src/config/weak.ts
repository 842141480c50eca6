/**
 * mapstructure's WeaklyTypedInput conversions of JSON scalars into Go scalar types, with the error
 * texts of the Debian build (mapstructure 1.5: `…, value: '…'` suffix), and Go's `%v` formatting of
 * the JSON values a plugin sees (maps arrive as `map[interface {}]interface {}` over Packer's RPC).
 */
import { goQuote } from '../template/go-quote.js';
import { parseGoDurationNs } from '../util/go-duration.js';

/** A conversion failure; `message` is mapstructure's text for it. */
export class WeakDecodeError extends Error {}

/** Go type name of a decoded JSON value, as mapstructure prints it in plugin configs. */
export function goTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v === null || v === undefined) return '<nil>';
  return 'map[interface {}]interface {}';
}

/** Go reflect.Kind name of a decoded JSON value (`expected a map, got 'slice'`). */
export function goKindName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'slice';
  if (v === null || v === undefined) return 'invalid';
  return 'map';
}

/** Go's `%v` of a float64 (strconv 'g' with the shortest digits; exponent when < -4 or >= 21). */
export function goFormatFloatV(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, expText] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 21) {
    const sign = exp < 0 ? '-' : '+';
    return `${mant}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return formatFloatF(n);
}

/** strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloatF(n: number): string {
  if (!Number.isFinite(n)) return goFormatFloatV(n);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const neg = n < 0;
  const [mant, expText] = Math.abs(n).toExponential().split('e');
  const exp = Number(expText);
  const digits = mant.replace('.', '');
  let out: string;
  if (exp >= 0) {
    out = digits.length - 1 <= exp ? digits + '0'.repeat(exp - (digits.length - 1)) : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return neg ? `-${out}` : out;
}

/** Go's `%v` of a decoded JSON value: `map[a:1 b:[x y]]`, `[a b]`, `true`, `<nil>`. */
export function goFormatV(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFormatFloatV(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormatV).join(' ')}]`;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return `map[${keys.map((k) => `${k}:${goFormatV(obj[k])}`).join(' ')}]`;
}

/** mapstructure's "unconvertible type" error. */
export function unconvertible(name: string, goType: string, v: unknown): WeakDecodeError {
  // parity:
  return new WeakDecodeError(
    `'${name}' expected type '${goType}', got unconvertible type '${goTypeName(v)}', value: '${goFormatV(v)}'`,
  );
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Weakly decodes into a Go string. */
export function weakString(name: string, v: unknown, goType = 'string'): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatFloatF(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  throw unconvertible(name, goType, v);
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** strconv.ParseInt(s, 0, 64) → number; throws with Go's strconv error text. */
export function parseGoInt(s: string): number {
  const syntax = (): Error => new Error(`strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
  let body = s;
  let neg = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  let base = 10;
  let digits = body;
  let prefixed = false;
  if (/^0[xX]/.test(body)) [base, digits, prefixed] = [16, body.slice(2), true];
  else if (/^0[bB]/.test(body)) [base, digits, prefixed] = [2, body.slice(2), true];
  else if (/^0[oO]/.test(body)) [base, digits, prefixed] = [8, body.slice(2), true];
  else if (body.length > 1 && body[0] === '0') [base, digits, prefixed] = [8, body.slice(1), true];
  // Go allows underscores only between digits when a base prefix is present.
  if (prefixed && /^_?[0-9a-zA-Z]+(_[0-9a-zA-Z]+)*$/.test(digits)) digits = digits.replace(/_/g, '');
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base];
  if (digits === '' || !valid?.test(digits)) throw syntax();
  let value = 0n;
  for (const ch of digits) value = value * BigInt(base) + BigInt(parseInt(ch, 16));
  if (neg) value = -value;
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new Error(`strconv.ParseInt: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(value);
}

/** Weakly decodes into a Go int (mapstructure decodeInt). */
export function weakInt(name: string, v: unknown, goType = 'int'): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    try {
      return parseGoInt(v === '' ? '0' : v);
    } catch (err) {
      throw new WeakDecodeError(`cannot parse '${name}' as int: ${(err as Error).message}`); // parity:
    }
  }
  throw unconvertible(name, goType, v);
}

const FLOAT_RE = /^[+-]?(\d+(_\d+)*\.?(\d+(_\d+)*)?|\.\d+(_\d+)*)([eE][+-]?\d+)?$/;

/** Weakly decodes into a Go float64 (mapstructure decodeFloat). */
export function weakFloat(name: string, v: unknown, goType = 'float64'): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v === '' ? '0' : v;
    const lower = s.toLowerCase().replace(/^[+-]/, '');
    if (lower === 'inf' || lower === 'infinity') return s.startsWith('-') ? -Infinity : Infinity;
    if (lower === 'nan') return NaN;
    if (FLOAT_RE.test(s) && !s.includes('_')) return Number(s);
    // parity:
    throw new WeakDecodeError(`cannot parse '${name}' as float: strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  }
  throw unconvertible(name, goType, v);
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool; throws Go's error text. */
export function parseGoBool(s: string): boolean {
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

/** Weakly decodes into a Go bool (mapstructure decodeBool). */
export function weakBool(name: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    if (v === '') return false;
    try {
      return parseGoBool(v);
    } catch (err) {
      throw new WeakDecodeError(`cannot parse '${name}' as bool: ${(err as Error).message}`); // parity:
    }
  }
  throw unconvertible(name, 'bool', v);
}

/** Decodes Packer's config.Trilean: `""` → unset, bools, ParseBool strings. */
export function weakTristate(name: string, v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    if (v === '') return undefined;
    try {
      return parseGoBool(v);
    } catch (err) {
      // parity: the SDK's StringToTrilean hook
      throw new WeakDecodeError(`error decoding '${name}': Error parsing bool from given var: ${(err as Error).message}`);
    }
  }
  // A number reaches Trilean's uint8 weakly: 1 = true, 2 = false, anything else unset.
  if (typeof v === 'number') return Math.trunc(v) === 1 ? true : Math.trunc(v) === 2 ? false : undefined;
  throw unconvertible(name, 'config.Trilean', v);
}

/** Decodes a Go time.Duration into milliseconds: strings via time.ParseDuration, numbers as ns. */
export function weakDuration(name: string, v: unknown): number {
  if (typeof v === 'string') {
    try {
      return Number(parseGoDurationNs(v)) / 1e6;
    } catch (err) {
      throw new WeakDecodeError(`error decoding '${name}': ${(err as Error).message}`); // parity:
    }
  }
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) / 1e6 : 0;
  if (typeof v === 'boolean') return v ? 1e-6 : 0;
  throw unconvertible(name, 'time.Duration', v);
}

export { isPlainObject };
