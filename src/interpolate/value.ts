/**
 * The Go value model the engine works on. A template value is one of:
 * `undefined` (Go's invalid reflect.Value: a missing key, `<no value>`), `null` (a nil interface{}),
 * string, number (Go `int`; always an integer), boolean, GoFloat (float64), GoUint (uint8, from
 * indexing a string), GoComplex, arrays ([]interface{}), plain objects (map[string]interface{})
 * and JS functions (func values reachable from data, for `call`).
 */

export class GoFloat {
  constructor(readonly v: number) {}
}
export class GoUint {
  constructor(readonly v: number) {}
}
export class GoComplex {
  constructor(
    readonly re: number,
    readonly im: number,
  ) {}
}

export type GoValue = unknown;

export type Kind =
  'invalid' | 'nil' | 'string' | 'int' | 'uint' | 'float' | 'complex' | 'bool' | 'slice' | 'map' | 'func';

/** Normalises a JS value coming from data or a host function into the value model. */
export function fromJs(v: unknown): GoValue {
  if (typeof v === 'number') return Number.isInteger(v) ? v : new GoFloat(v);
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined) return null;
  return v;
}

export function kindOf(v: GoValue): Kind {
  if (v === undefined) return 'invalid';
  if (v === null) return 'nil';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'function':
      return 'func';
    case 'bigint':
      return 'int';
  }
  if (v instanceof GoFloat) return 'float';
  if (v instanceof GoUint) return 'uint';
  if (v instanceof GoComplex) return 'complex';
  if (Array.isArray(v)) return 'slice';
  return 'map';
}

/** Go's name for the dynamic type, as printed by %T and error messages. */
export function typeName(v: GoValue): string {
  switch (kindOf(v)) {
    case 'invalid':
      return '<nil>';
    case 'nil':
      return 'interface {}';
    case 'string':
      return 'string';
    case 'int':
      return 'int';
    case 'uint':
      return 'uint8';
    case 'float':
      return 'float64';
    case 'complex':
      return 'complex128';
    case 'bool':
      return 'bool';
    case 'slice':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    case 'func':
      return 'func(...interface {}) (interface {}, error)';
  }
}

/** Length in Go terms (strings count UTF-8 bytes). */
export function goLen(v: GoValue): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  return Object.keys(v as object).length;
}

/** Go's template truthiness (text/template isTrue); ok=false only for values Go cannot judge. */
export function isTrue(v: GoValue): boolean {
  switch (kindOf(v)) {
    case 'invalid':
    case 'nil':
      return false;
    case 'string':
    case 'slice':
    case 'map':
      return goLen(v) > 0;
    case 'bool':
      return v as boolean;
    case 'int':
      return (v as number) !== 0;
    case 'uint':
      return (v as GoUint).v !== 0;
    case 'float':
      return (v as GoFloat).v !== 0;
    case 'complex':
      return (v as GoComplex).re !== 0 || (v as GoComplex).im !== 0;
    case 'func':
      return true;
  }
}

/** Sorted keys of a map value (Go's fmtsort for string keys: byte order). */
export function sortedKeys(m: object): string[] {
  return Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** A map entry, or undefined (Go's invalid value) when absent. */
export function mapGet(m: object, key: string): GoValue {
  if (!Object.prototype.hasOwnProperty.call(m, key)) return undefined;
  return fromJs((m as Record<string, unknown>)[key]);
}
