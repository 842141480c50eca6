/**
 * A subset of Go's fmt: Sprint, Sprintln, Sprintf (verbs v s d q x X o O b c U e E f F g G t T %,
 * flags + - # space 0, width and precision including `*`) and strconv.Quote. Wrong-type, missing and
 * extra arguments print Go's `%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA int=1)` forms.
 */
import { fmtE, fmtF, fmtG, fmtHexFloat } from './float-format.js';
import { GoComplex, GoFloat, GoUint, type GoValue, kindOf, sortedKeys, typeName, fromJs } from './value.js';

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's unicode.IsPrint (approximation via Unicode categories). */
export function isPrint(ch: string): boolean {
  return printable.test(ch);
}

function escapeRune(ch: string, quote: string, ascii = false): string {
  const cp = ch.codePointAt(0) as number;
  if (ch === quote || ch === '\\') return '\\' + ch;
  if (isPrint(ch) && (!ascii || cp < 0x80)) return ch;
  switch (ch) {
    case '\x07':
      return '\\a';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\v':
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp === 0xfffd) return '\\ufffd';
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** strconv.Quote. */
export function goQuote(s: string, ascii = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch, '"', ascii);
  return out + '"';
}

/** strconv.QuoteRune. */
export function goQuoteRune(cp: number, ascii = false): string {
  const ch = cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000) || cp < 0 ? '\ufffd' : String.fromCodePoint(cp);
  return "'" + escapeRune(ch, "'", ascii) + "'";
}

// ---- the printer --------------------------------------------------------------------------

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number; // -1: none
  prec: number; // -1: none
  sharpV?: boolean; // %#v: Go-syntax representation
}

const noSpec: Spec = {
  plus: false,
  minus: false,
  sharp: false,
  space: false,
  zero: false,
  width: -1,
  prec: -1,
};

function pad(s: string, sp: Spec, numeric: boolean): string {
  const n = [...s].length;
  if (sp.width < 0 || n >= sp.width) return s;
  const fill = sp.width - n;
  if (sp.minus) return s + ' '.repeat(fill);
  if (sp.zero) {
    if (numeric && /^[+\- ]/.test(s)) return s[0] + '0'.repeat(fill) + s.slice(1);
    return '0'.repeat(fill) + s;
  }
  return ' '.repeat(fill) + s;
}

function signed(neg: boolean, body: string, sp: Spec): string {
  if (neg) return '-' + body;
  if (sp.plus) return '+' + body;
  if (sp.space) return ' ' + body;
  return body;
}

function fmtInt(n: number, verb: string, sp: Spec): string | undefined {
  const neg = n < 0;
  const a = BigInt(Math.abs(n));
  let body: string;
  switch (verb) {
    case 'v':
    case 'd':
      body = a.toString();
      break;
    case 'b':
      body = a.toString(2);
      break;
    case 'o':
    case 'O':
      body = a.toString(8);
      break;
    case 'x':
      body = a.toString(16);
      break;
    case 'X':
      body = a.toString(16).toUpperCase();
      break;
    case 'c':
      return pad(
        n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n < 0xe000) ? String.fromCodePoint(n) : '\ufffd',
        sp,
        false,
      );
    case 'q':
      return pad(goQuoteRune(n, sp.plus), sp, false);
    case 'U': {
      let u = 'U+' + a.toString(16).toUpperCase().padStart(4, '0');
      if (sp.sharp && n <= 0x10ffff && isPrint(String.fromCodePoint(n)))
        u += " '" + String.fromCodePoint(n) + "'";
      return pad(u, sp, false);
    }
    default:
      return undefined;
  }
  if (sp.prec >= 0) body = sp.prec === 0 && a === 0n ? '' : body.padStart(sp.prec, '0');
  if (sp.sharp) {
    if (verb === 'x') body = '0x' + body;
    else if (verb === 'X') body = '0X' + body;
    else if (verb === 'o' && body[0] !== '0') body = '0' + body;
    else if (verb === 'b') body = '0b' + body;
  }
  if (verb === 'O') body = '0o' + body;
  const zero = sp.zero && sp.prec < 0 && !sp.minus;
  return pad(signed(neg, body, sp), { ...sp, zero }, true);
}

function fmtFloat(x: number, verb: string, sp: Spec): string | undefined {
  let body: string;
  const neg = x < 0 || Object.is(x, -0);
  if (Number.isNaN(x)) body = 'NaN';
  else if (!Number.isFinite(x)) body = 'Inf';
  else {
    switch (verb) {
      case 'v':
      case 'g':
        body = fmtG(x, sp.prec, 'e');
        break;
      case 'G':
        body = fmtG(x, sp.prec, 'E');
        break;
      case 'e':
        body = fmtE(x, sp.prec < 0 ? 6 : sp.prec, 'e');
        break;
      case 'E':
        body = fmtE(x, sp.prec < 0 ? 6 : sp.prec, 'E');
        break;
      case 'f':
      case 'F':
        body = fmtF(x, sp.prec < 0 ? 6 : sp.prec);
        break;
      case 'x':
      case 'X':
        body = fmtHexFloat(x, sp.prec, verb === 'X');
        break;
      default:
        return undefined;
    }
  }
  if (Number.isNaN(x))
    return pad(sp.plus ? '+NaN' : sp.space ? ' NaN' : 'NaN', { ...sp, zero: false }, false);
  if (!Number.isFinite(x))
    return pad(neg ? '-Inf' : sp.space && !sp.plus ? ' Inf' : '+Inf', { ...sp, zero: false }, false);
  return pad(signed(neg, body, sp), { ...sp, zero: sp.zero && !sp.minus }, true);
}

function fmtString(s: string, verb: string, sp: Spec): string | undefined {
  if (sp.prec >= 0 && (verb === 's' || verb === 'v' || verb === 'q')) s = [...s].slice(0, sp.prec).join('');
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, sp, false);
    case 'q':
      return pad(
        sp.sharp && !/[`\r\n\t]/.test(s) && [...s].every(isPrint) ? '`' + s + '`' : goQuote(s, sp.plus),
        sp,
        false,
      );
    case 'x':
    case 'X': {
      let bytes = Buffer.from(s, 'utf8');
      if (sp.prec >= 0) bytes = bytes.subarray(0, sp.prec);
      const parts = [...bytes].map((b) => {
        const h = b.toString(16).padStart(2, '0');
        return verb === 'X' ? h.toUpperCase() : h;
      });
      const pre = sp.sharp ? (verb === 'X' ? '0X' : '0x') : '';
      const out = sp.space ? parts.map((p) => pre + p).join(' ') : pre + parts.join('');
      return pad(out, sp, false);
    }
  }
  return undefined;
}

/** Formats one value with one verb; `undefined` when the verb does not apply to the value. */
function fmtValue(v: GoValue, verb: string, sp: Spec, depth = 0): string | undefined {
  switch (kindOf(v)) {
    case 'invalid':
      return verb === 'v' ? pad('<invalid reflect.Value>', sp, false) : undefined;
    case 'nil':
      return verb === 'v' ? pad('<nil>', sp, false) : undefined;
    case 'bool':
      return verb === 'v' || verb === 't' ? pad(String(v), sp, false) : undefined;
    case 'int':
      return fmtInt(v as number, verb, sp);
    case 'uint':
      return fmtInt((v as GoUint).v, verb, sp);
    case 'float':
      return fmtFloat((v as GoFloat).v, verb, sp);
    case 'complex': {
      const c = v as GoComplex;
      const re = fmtFloat(c.re, verb, { ...sp, width: -1 });
      const im = fmtFloat(c.im, verb, { ...sp, width: -1, plus: true });
      return re === undefined || im === undefined ? undefined : pad(`(${re}${im}i)`, sp, false);
    }
    case 'string':
      if (sp.sharpV) return pad(goQuote(v as string), sp, false);
      return fmtString(v as string, verb, sp);
    case 'slice': {
      if (sp.sharpV) {
        const items = (v as unknown[]).map((e) => sharpElem(fromJs(e), sp, depth));
        return '[]interface {}{' + items.join(', ') + '}';
      }
      const items = (v as unknown[]).map((e) => fmtElem(fromJs(e), verb, sp, depth));
      return '[' + items.join(' ') + ']';
    }
    case 'map': {
      const m = v as Record<string, unknown>;
      if (sp.sharpV) {
        const items = sortedKeys(m).map((k) => goQuote(k) + ':' + sharpElem(fromJs(m[k]), sp, depth));
        return 'map[string]interface {}{' + items.join(', ') + '}';
      }
      const items = sortedKeys(m).map(
        (k) => fmtElem(k, verb, sp, depth) + ':' + fmtElem(fromJs(m[k]), verb, sp, depth),
      );
      return 'map[' + items.join(' ') + ']';
    }
    case 'func':
      return verb === 'v' || verb === 'p' ? pad('0xc000010000', sp, false) : undefined;
  }
}

function fmtElem(v: GoValue, verb: string, sp: Spec, depth: number): string {
  if (depth > 50) return '...';
  if (v === null && verb === 'v') return '<nil>';
  return fmtValue(v, verb, sp, depth + 1) ?? badVerb(v, verb);
}

function sharpElem(v: GoValue, sp: Spec, depth: number): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  return fmtElem(v, 'v', sp, depth);
}

function badVerb(v: GoValue, verb: string): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${fmtValue(v, 'v', noSpec)})`;
}

/** fmt.Sprint of one value (%v). */
export function formatV(v: GoValue): string {
  if (v === null || v === undefined) return '<nil>';
  return fmtValue(v, 'v', noSpec) ?? '';
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: GoValue[]): string {
  let out = '';
  let prevString = false;
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += formatV(a);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln: always spaces, newline at the end. */
export function sprintln(args: GoValue[]): string {
  return args.map(formatV).join(' ') + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const sp: Spec = { ...noSpec };
    for (; i < n; i++) {
      const c = format[i];
      if (c === '+') sp.plus = true;
      else if (c === '-') sp.minus = true;
      else if (c === '#') sp.sharp = true;
      else if (c === ' ') sp.space = true;
      else if (c === '0') sp.zero = !sp.minus;
      else break;
    }
    let bad = '';
    if (format[i] === '*') {
      i++;
      const w = args[argi++];
      if (typeof w === 'number' && Math.abs(w) <= 1e6) {
        sp.width = Math.abs(w);
        if (w < 0) sp.minus = true;
      } else bad += '%!(BADWIDTH)';
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        // Go gives up on absurd widths (fmt's tooLarge): the number is consumed and ignored.
        sp.width = m[0].length > 7 || Number(m[0]) > 1e7 ? -1 : Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = args[argi++];
        if (typeof p === 'number' && p >= 0 && p <= 1e6) sp.prec = p;
        else bad += '%!(BADPREC)';
      } else {
        const m = /^\d+/.exec(format.slice(i));
        sp.prec = m ? (m[0].length > 7 || Number(m[0]) > 1e7 ? -1 : Number(m[0])) : 0;
        if (m) i += m[0].length;
      }
    }
    out += bad;
    if (sp.minus) sp.zero = false;
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) as number);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    if (verb === 'v') {
      // %+v only matters for structs; %#v asks for Go syntax.
      sp.plus = false;
      if (sp.sharp) [sp.sharp, sp.sharpV] = [false, true];
    }
    if (verb === 'T') {
      out += pad(arg === null || arg === undefined ? '<nil>' : typeName(arg), sp, false);
      continue;
    }
    if (arg === null || arg === undefined) {
      out += verb === 'v' ? pad('<nil>', sp, false) : `%!${verb}(<nil>)`;
      continue;
    }
    out += fmtValue(arg, verb, sp) ?? badVerb(arg, verb);
  }
  if (argi < args.length) {
    const extra = args
      .slice(argi)
      .map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${formatV(a)}`));
    out += '%!(EXTRA ' + extra.join(', ') + ')';
  }
  return out;
}
