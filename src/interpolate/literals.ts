/** Go literal parsing used by the parser: strconv.Unquote / UnquoteChar and parse.newNumber. */
import type { NumberNode } from './nodes.js';

export class SyntaxErr extends Error {}

const invalid = (): never => {
  throw new SyntaxErr('invalid syntax');
};

/** One escape-or-char step of strconv.UnquoteChar: returns [value, isByte, rest]. */
function unquoteChar(s: string, quote: string): [number, boolean, string] {
  const c = s[0];
  if (c === quote && (quote === "'" || quote === '"')) invalid();
  if (c !== '\\') {
    const cp = s.codePointAt(0) as number;
    return [cp, false, s.slice(cp > 0xffff ? 2 : 1)];
  }
  if (s.length <= 1) invalid();
  const e = s[1];
  let rest = s.slice(2);
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
  if (e in simple) return [simple[e], false, rest];
  if (e === 'x' || e === 'u' || e === 'U') {
    const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
    const hex = rest.slice(0, n);
    if (hex.length < n || !/^[0-9a-fA-F]+$/.test(hex)) invalid();
    const v = parseInt(hex, 16);
    rest = rest.slice(n);
    if (e === 'x') return [v, true, rest];
    if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) invalid();
    return [v, false, rest];
  }
  if (e >= '0' && e <= '7') {
    const oct = e + rest.slice(0, 2);
    if (!/^[0-7]{3}$/.test(oct)) invalid();
    const v = parseInt(oct, 8);
    if (v > 255) invalid();
    return [v, true, rest.slice(2)];
  }
  if (e === "'" || e === '"') {
    if (e !== quote) invalid();
    return [e.charCodeAt(0), false, rest];
  }
  return invalid();
}

/** strconv.Unquote for "…", `…` and '…'. Throws SyntaxErr("invalid syntax"). */
export function unquote(q: string): string {
  if (q.length < 2) invalid();
  const quote = q[0];
  if (quote !== q[q.length - 1]) invalid();
  let s = q.slice(1, -1);
  if (quote === '`') {
    if (s.includes('`')) invalid();
    return s.replace(/\r/g, '');
  }
  if (quote !== '"' && quote !== "'") invalid();
  if (s.includes('\n')) invalid();
  const bytes: number[] = [];
  let count = 0;
  while (s.length > 0) {
    const [v, isByte, rest] = unquoteChar(s, quote);
    s = rest;
    count++;
    if (isByte) bytes.push(v);
    else bytes.push(...Buffer.from(String.fromCodePoint(v), 'utf8'));
    if (quote === "'" && s.length > 0) invalid();
  }
  if (quote === "'" && count !== 1) invalid();
  return Buffer.from(bytes).toString('utf8');
}

function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1])) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseInt(s, 0, 64) / ParseUint: the value, or null when malformed. */
function parseGoInt(s: string): bigint | null {
  let neg = false;
  let body = s;
  if (body[0] === '+' || body[0] === '-') {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  let base = 10;
  let prefixed = false;
  if (/^0[xX]/.test(body)) [base, body, prefixed] = [16, body.slice(2), true];
  else if (/^0[oO]/.test(body)) [base, body, prefixed] = [8, body.slice(2), true];
  else if (/^0[bB]/.test(body)) [base, body, prefixed] = [2, body.slice(2), true];
  else if (body.length > 1 && body[0] === '0') [base, body] = [8, body.slice(1)];
  if (body.includes('_') && !underscoreOK(s)) return null;
  body = body.replace(/_/g, '');
  if (body === '' && (prefixed || base === 10)) return null;
  if (body === '') body = '0';
  const digitRe = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base] as RegExp;
  if (!digitRe.test(body)) return null;
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[base] as string;
  const v = BigInt(prefix + body);
  return neg ? -v : v;
}

/** strconv.ParseFloat(s, 64) for Go-syntax decimal and hex floats; null when malformed. */
function parseGoFloat(s: string): number | null {
  if (s.includes('_') && !underscoreOK(s)) return null;
  const t = s.replace(/_/g, '');
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(t);
  if (hex) {
    const [, sign, int, frac = '', exp] = hex;
    if (int === '' && frac === '') return null;
    const mant = parseInt(int || '0', 16) + (frac ? parseInt(frac, 16) / 16 ** frac.length : 0);
    const v = mant * 2 ** Number(exp);
    return sign === '-' ? -v : v;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  return Number(t);
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** parse.newNumber: classifies a number token. Throws SyntaxErr with Go's message. */
export function parseNumber(pos: number, text: string, isChar: boolean, isComplexItem: boolean): NumberNode {
  const n: NumberNode = {
    type: 'number',
    pos,
    text,
    isInt: false,
    isFloat: false,
    isComplex: false,
    int: 0,
    float: 0,
    complex: [0, 0],
  };
  const simplify = (): NumberNode => {
    if (n.complex[1] === 0) {
      n.isFloat = true;
      n.float = n.complex[0];
      if (Number.isInteger(n.float) && Math.abs(n.float) < 2 ** 63) {
        n.isInt = true;
        n.int = n.float;
      }
    }
    return n;
  };
  if (isChar) {
    let v: number;
    try {
      const [cp, , rest] = unquoteCharPublic(text.slice(1), "'");
      if (rest !== "'") throw new SyntaxErr(`malformed character constant: ${text}`);
      v = cp;
    } catch (e) {
      throw e instanceof SyntaxErr ? e : new SyntaxErr('invalid syntax');
    }
    return { ...n, isInt: true, isFloat: true, int: v, float: v };
  }
  if (isComplexItem) {
    const m = /^([+-]?[^+-]+(?:[eE][+-]\d+)?)([+-].+)i$/.exec(text);
    const re = m ? parseGoFloat(m[1]) : null;
    const im = m ? parseGoFloat(m[2]) : null;
    if (re === null || im === null) throw new SyntaxErr(`expected integer`);
    n.isComplex = true;
    n.complex = [re, im];
    return simplify();
  }
  if (text.endsWith('i')) {
    const f = parseGoFloat(text.slice(0, -1));
    if (f !== null) {
      n.isComplex = true;
      n.complex = [0, f];
      return simplify();
    }
  }
  const i = parseGoInt(text);
  let isUint = false;
  if (i !== null && i >= INT64_MIN && i <= INT64_MAX) {
    n.isInt = true;
    n.int = Number(i);
    n.isFloat = true;
    n.float = Number(i);
  } else if (i !== null && i >= 0n && i <= UINT64_MAX) {
    isUint = true;
    n.isFloat = true;
    n.float = Number(i);
  } else {
    const f = parseGoFloat(text);
    if (f !== null && Number.isFinite(f)) {
      if (!/[.eEpP]/.test(text)) throw new SyntaxErr(`integer overflow: ${JSON.stringify(text)}`);
      n.isFloat = true;
      n.float = f;
      if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
        n.isInt = true;
        n.int = f;
      }
    }
  }
  if (!n.isInt && !isUint && !n.isFloat)
    throw new SyntaxErr(`illegal number syntax: ${JSON.stringify(text)}`);
  if (isUint) (n as NumberNode & { isUint?: boolean }).isUint = true;
  return n;
}

function unquoteCharPublic(s: string, quote: string): [number, boolean, string] {
  if (s.length === 0) invalid();
  return unquoteChar(s, quote);
}
