/**
 * The parts of mitchellh/mapstructure (Debian 1.5.0) that Packer's template parser exposes in its
 * messages: strict and weak decoding of strings, string slices, maps, booleans and durations, the
 * `1 error(s) decoding:` aggregate (sorted), and case-insensitive field matching.
 */
import { parseGoDurationNs } from '../util/go-duration.js';
import { formatFloatF, goFmtV, goKindName, goTypeName } from './go-fmt.js';

/** One mapstructure field error; `text` is the message without the `* ` bullet. */
export class FieldErrors {
  readonly errors: string[] = [];
  add(text: string): void {
    this.errors.push(text);
  }
  /** mapstructure.Error's text, or undefined when there were no errors. */
  message(): string | undefined {
    if (!this.errors.length) return undefined;
    const points = this.errors.map((e) => `* ${e}`).sort();
    return `${this.errors.length} error(s) decoding:\n\n${points.join('\n')}`;
  }
}

function unconvertible(name: string, want: string, v: unknown): string {
  // parity: mapstructure 1.5 (Debian) decode error
  return `'${name}' expected type '${want}', got unconvertible type '${goTypeName(v)}', value: '${goFmtV(v)}'`;
}

/** Decodes a string field; undefined input (absent or null) gives ''. */
export function decodeString(name: string, v: unknown, weak: boolean, errs: FieldErrors): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (weak && typeof v === 'boolean') return v ? '1' : '0';
  if (weak && typeof v === 'number') return formatFloatF(v);
  errs.add(unconvertible(name, 'string', v));
  return '';
}

/** Decodes a []string field. */
export function decodeStringSlice(name: string, v: unknown, weak: boolean, errs: FieldErrors): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) {
    if (!weak) {
      errs.add(`'${name}': source data must be an array or slice, got ${goKindName(v)}`);
      return [];
    }
    if (typeof v === 'object' && Object.keys(v as object).length === 0) return [];
    v = [v];
  }
  return (v as unknown[]).map((item, i) => decodeString(`${name}[${i}]`, item, weak, errs));
}

/** Decodes a map[string]interface{} field; returns undefined when absent. */
export function decodeMap(
  name: string,
  v: unknown,
  errs: FieldErrors,
  weak = false,
): Record<string, unknown> | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  // weak: an empty array decodes to an empty map; otherwise mapstructure's message
  if (weak && Array.isArray(v) && v.length === 0) return {};
  errs.add(`'${name}' expected a map, got '${goKindName(v)}'`);
  return undefined;
}

/** Decodes a *bool field strictly (tri-state: undefined when absent). */
export function decodeBoolStrict(name: string, v: unknown, errs: FieldErrors): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  errs.add(unconvertible(name, 'bool', v));
  return undefined;
}

/**
 * Decodes a time.Duration field weakly with Packer's StringToTimeDurationHookFunc: strings are Go
 * durations, numbers nanoseconds. Returns nanoseconds.
 */
export function decodeDurationWeak(name: string, v: unknown, errs: FieldErrors): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'string') {
    try {
      return parseGoDurationNs(v);
    } catch (e) {
      errs.add(`error decoding '${name}': ${(e as Error).message}`); // parity: mapstructure hook error
      return 0n;
    }
  }
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'boolean') return v ? 1n : 0n;
  errs.add(unconvertible(name, 'time.Duration', v));
  return 0n;
}

/**
 * mapstructure's field lookup: the exact key, else the first key matching case-insensitively.
 * Returns the key used (or undefined).
 */
export function findKey(obj: Record<string, unknown>, field: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(obj, field)) return field;
  const lower = field.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}
