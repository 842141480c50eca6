/** Go text/template's builtin functions (Go 1.19 funcs.go behaviour and messages). */
import { type FuncDef, FuncError } from './funcdef.js';
import { formatV, isPrint, sprint, sprintf, sprintln } from './printf.js';
import {
  type GoValue,
  GoComplex,
  GoFloat,
  GoUint,
  fromJs,
  goLen,
  isTrue,
  kindOf,
  mapGet,
  typeName,
} from './value.js';

const fail = (msg: string): never => {
  throw new FuncError(msg);
};

/** reflect indirectInterface: a nil interface becomes the invalid value. */
const unbox = (v: GoValue): GoValue => (v === null ? undefined : v);

type BasicKind = 'invalid' | 'bool' | 'complex' | 'int' | 'float' | 'string' | 'uint';
function basicKind(v: GoValue): BasicKind {
  const k = kindOf(v);
  switch (k) {
    case 'bool':
    case 'complex':
    case 'int':
    case 'float':
    case 'string':
    case 'uint':
      return k;
  }
  return 'invalid';
}
const num = (v: GoValue): number =>
  typeof v === 'number' ? v : v instanceof GoFloat || v instanceof GoUint ? v.v : 0;

function comparable(v: GoValue): boolean {
  const k = kindOf(v);
  return k !== 'slice' && k !== 'map' && k !== 'func';
}

function eq(arg1: GoValue, rest: GoValue[]): boolean {
  arg1 = unbox(arg1);
  if (arg1 !== undefined && !comparable(arg1)) fail(`uncomparable type ${typeName(arg1)}: ${formatV(arg1)}`);
  if (rest.length === 0) fail('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (let arg of rest) {
    arg = unbox(arg);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) truth = num(arg1) === num(arg);
      else if (arg1 !== undefined && arg !== undefined) fail('incompatible types for comparison');
    } else {
      switch (k1) {
        case 'bool':
        case 'string':
          truth = arg1 === arg;
          break;
        case 'int':
        case 'uint':
        case 'float':
          truth = num(arg1) === num(arg);
          break;
        case 'complex':
          truth =
            (arg1 as GoComplex).re === (arg as GoComplex).re &&
            (arg1 as GoComplex).im === (arg as GoComplex).im;
          break;
        default:
          if (arg === undefined || arg1 === undefined) truth = arg1 === arg;
          else {
            if (!comparable(arg)) fail(`uncomparable type ${typeName(arg)}: ${formatV(arg)}`);
            truth = arg1 === arg;
          }
      }
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  a = unbox(a);
  b = unbox(b);
  const k1 = basicKind(a);
  if (k1 === 'invalid') fail('invalid type for comparison');
  const k2 = basicKind(b);
  if (k2 === 'invalid') fail('invalid type for comparison');
  if (k1 !== k2) {
    if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) return num(a) < num(b);
    fail('incompatible types for comparison');
  }
  switch (k1) {
    case 'bool':
    case 'complex':
      return fail('invalid type for comparison');
    case 'string':
      return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0;
  }
  return num(a) < num(b);
}

function indexArg(index: GoValue, cap: number): number {
  let x: number;
  const k = kindOf(index);
  if (k === 'int' || k === 'uint') x = num(index);
  else if (k === 'invalid') return fail('cannot index slice/array with nil');
  else return fail(`cannot index slice/array with type ${typeName(index)}`);
  if (x < 0 || x > cap) fail(`index out of range: ${x}`);
  return x;
}

function index(item: GoValue, indexes: GoValue[]): GoValue {
  item = unbox(item);
  if (item === undefined) fail('index of untyped nil');
  for (let ix of indexes) {
    ix = unbox(ix);
    if (item === null) fail('index of nil pointer');
    const k = kindOf(item);
    if (k === 'slice' || k === 'string') {
      const len = goLen(item);
      const x = indexArg(ix, len);
      if (x === len) fail(`reflect: ${k === 'string' ? 'string' : 'slice'} index out of range`);
      item = k === 'string' ? new GoUint(Buffer.from(item as string)[x]) : fromJs((item as unknown[])[x]);
    } else if (k === 'map') {
      if (ix === undefined) fail('value is nil; should be of type string');
      if (typeof ix !== 'string') fail(`value has type ${typeName(ix)}; should be string`);
      const v = mapGet(item as object, ix as string);
      item = v === undefined ? null : v;
    } else fail(`can't index item of type ${typeName(item)}`);
  }
  return item;
}

function slice(item: GoValue, indexes: GoValue[]): GoValue {
  item = unbox(item);
  if (item === undefined) fail('slice of untyped nil');
  if (indexes.length > 3) fail(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  if (k === 'string' && indexes.length === 3) fail('cannot 3-index slice a string');
  if (k !== 'string' && k !== 'slice') fail(`can't slice item of type ${typeName(item)}`);
  const len = goLen(item);
  const idx = [0, len, len];
  indexes.forEach((ix, i) => (idx[i] = indexArg(unbox(ix), len)));
  if (idx[0] > idx[1]) fail(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) fail(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (k === 'string')
    return Buffer.from(item as string)
      .subarray(idx[0], idx[1])
      .toString('utf8');
  return (item as unknown[]).slice(idx[0], idx[1]);
}

function length(item: GoValue): number {
  if (item === null) fail('len of nil pointer');
  if (item === undefined) fail('reflect: call of reflect.Value.Type on zero Value');
  const k = kindOf(item);
  if (k === 'string' || k === 'slice' || k === 'map') return goLen(item);
  return fail(`len of type ${typeName(item)}`);
}

function call(fn: GoValue, args: GoValue[]): GoValue {
  fn = unbox(fn);
  if (fn === undefined) fail('call of nil');
  if (typeof fn !== 'function') fail(`non-function of type ${typeName(fn)}`);
  return fromJs((fn as (...a: unknown[]) => unknown)(...args.map((a) => (a === undefined ? null : a))));
}

/** Go's evalArgs for html/js/urlquery: a missing value prints as `<no value>`. */
function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === null || a === undefined ? '<no value>' : a)));
}

export function htmlEscape(s: string): string {
  return s.replace(
    /["'&<>]/g,
    (c) => ({ '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string,
  );
}

export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (cp < 0x20) out += '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0');
    else if (cp < 0x80 || isPrint(ch)) out += ch;
    else out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const V = 'value' as const;
const A = 'any' as const;

export const builtinFuncs: Record<string, FuncDef> = {
  and: { params: [V], variadic: V, fn: () => undefined }, // short-circuit handled by the executor
  or: { params: [V], variadic: V, fn: () => undefined },
  call: { params: [V], variadic: V, fn: ([f, ...a]) => call(f, a) },
  html: { params: [], variadic: A, fn: (a) => htmlEscape(evalArgs(a)) },
  index: { params: [V], variadic: V, fn: ([x, ...i]) => index(x, i) },
  slice: { params: [V], variadic: V, fn: ([x, ...i]) => slice(x, i) },
  js: { params: [], variadic: A, fn: (a) => jsEscape(evalArgs(a)) },
  len: { params: [V], fn: ([x]) => length(x) },
  not: { params: [V], fn: ([x]) => !isTrue(unbox(x)) },
  print: { params: [], variadic: A, fn: (a) => sprint(a) },
  printf: { params: ['string'], variadic: A, fn: ([f, ...a]) => sprintf(f as string, a) },
  println: { params: [], variadic: A, fn: (a) => sprintln(a) },
  urlquery: { params: [], variadic: A, fn: (a) => queryEscape(evalArgs(a)) },
  eq: { params: [V], variadic: V, fn: ([a, ...b]) => eq(a, b) },
  ne: { params: [V, V], fn: ([a, b]) => !eq(a, [b]) },
  lt: { params: [V, V], fn: ([a, b]) => lt(a, b) },
  le: { params: [V, V], fn: ([a, b]) => lt(a, b) || eq(a, [b]) },
  gt: { params: [V, V], fn: ([a, b]) => !(lt(a, b) || eq(a, [b])) },
  ge: { params: [V, V], fn: ([a, b]) => !lt(a, b) },
};
