/**
 * A JSON decoder with Go encoding/json's behaviour where users can see it: the scanner's syntax
 * error texts and byte offsets (SyntaxError.Offset), duplicate-key detection as Packer's template
 * parser does it, and source positions of every object and array for kiln's own messages.
 */

/** A syntax (or number range) error with Go's text and offset. */
export class GoJsonError extends Error {
  /** Go's error text, e.g. `invalid character '}' looking for beginning of object key string`. */
  readonly goMessage: string;
  /** Go's SyntaxError.Offset (bytes read when the error was detected); -1 for non-syntax errors. */
  readonly offset: number;
  constructor(goMessage: string, offset: number) {
    super(goMessage);
    this.name = 'GoJsonError';
    this.goMessage = goMessage;
    this.offset = offset;
  }
  get isSyntax(): boolean {
    return this.offset >= 0;
  }
}

/** 1-based line and column of a byte offset. */
export interface JsonPos {
  line: number;
  column: number;
  offset: number;
}

export interface DecodeResult {
  value: unknown;
  /** Position of the opening brace/bracket of every object and array in `value`. */
  positions: WeakMap<object, JsonPos>;
  /** The first duplicate key in document order, at any depth (case-sensitive). */
  duplicateKey?: string;
}

export interface DecodeOptions {
  /** json.Decoder semantics: decode the first value, ignore what follows; empty input → `EOF`. */
  firstValueOnly?: boolean;
}

/** Go's quoteChar for scanner messages. */
function quoteChar(b: number): string {
  if (b === 0x27) return `'\\''`;
  if (b === 0x22) return `'"'`;
  const s = JSON.stringify(String.fromCharCode(b));
  const inner = s.slice(1, -1);
  if (b < 0x20) {
    const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
    return `'${named[b] ?? '\\x' + b.toString(16).padStart(2, '0')}'`;
  }
  if (b === 0x7f) return `'\\x7f'`;
  if (b >= 0x80 && b < 0xa0) return `'\\u00${b.toString(16)}'`;
  if (b === 0xad) return `'\\u00ad'`;
  return `'${inner}'`;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

class Parser {
  pos = 0;
  positions = new WeakMap<object, JsonPos>();
  duplicateKey?: string;
  /** Go checks syntax of the whole input before decoding: a range error is reported only after. */
  rangeError?: GoJsonError;
  private depth = 0;
  private lineStarts: number[] = [0];

  constructor(private readonly buf: Buffer) {
    for (let i = 0; i < buf.length; i++) if (buf[i] === 0x0a) this.lineStarts.push(i + 1);
  }

  posOf(offset: number): JsonPos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo] + 1, offset };
  }

  /** Error at the byte at this.pos (Go's offset counts it as read). */
  /** json.Decoder semantics (reports a truncated value as `unexpected EOF`). */
  streaming = false;

  fail(context: string): never {
    if (this.pos >= this.buf.length) {
      throw new GoJsonError(this.streaming ? 'unexpected EOF' : 'unexpected end of JSON input', this.buf.length);
    }
    throw new GoJsonError(`invalid character ${quoteChar(this.buf[this.pos])} ${context}`, this.pos + 1);
  }

  skipWs(): void {
    while (this.pos < this.buf.length && WS.has(this.buf[this.pos])) this.pos++;
  }

  value(context = 'looking for beginning of value'): unknown {
    this.skipWs();
    const c = this.buf[this.pos];
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    return this.fail(context);
  }

  literal(word: string, v: unknown): unknown {
    for (let i = 0; i < word.length; i++) {
      if (this.buf[this.pos] !== word.charCodeAt(i)) {
        if (i === 0) this.fail('looking for beginning of value');
        this.fail(`in literal ${word} (expecting '${word[i]}')`);
      }
      this.pos++;
    }
    return v;
  }

  enter(): void {
    if (++this.depth > 10000) this.fail('exceeded max depth');
  }

  object(): Record<string, unknown> {
    const start = this.pos;
    this.enter();
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skipWs();
    if (this.buf[this.pos] === 0x7d) {
      this.pos++;
      return this.finishObject(out, start);
    }
    for (;;) {
      this.skipWs();
      if (this.buf[this.pos] !== 0x22) this.fail('looking for beginning of object key string');
      const key = this.string();
      const dup = Object.prototype.hasOwnProperty.call(out, key);
      if (dup && this.duplicateKey === undefined) this.duplicateKey = key;
      this.skipWs();
      if (this.buf[this.pos] !== 0x3a) this.fail('after object key');
      this.pos++;
      const v = this.value();
      // Last value wins, as in Go; `__proto__` is an ordinary key in JSON.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.skipWs();
      const c = this.buf[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return this.finishObject(out, start);
      }
      this.fail('after object key:value pair');
    }
  }

  finishObject(out: Record<string, unknown>, start: number): Record<string, unknown> {
    this.positions.set(out, this.posOf(start));
    this.depth--;
    return out;
  }

  array(): unknown[] {
    const start = this.pos;
    this.enter();
    this.pos++;
    const out: unknown[] = [];
    this.positions.set(out, this.posOf(start));
    this.skipWs();
    if (this.buf[this.pos] === 0x5d) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipWs();
      const c = this.buf[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        this.depth--;
        return out;
      }
      this.fail('after array element');
    }
  }

  string(): string {
    const start = this.pos;
    this.pos++;
    for (;;) {
      const c = this.buf[this.pos];
      if (c === undefined) this.fail('');
      if (c === 0x22) break;
      if (c < 0x20) this.fail('in string literal');
      if (c === 0x5c) {
        this.pos++;
        const e = this.buf[this.pos];
        if (e === undefined) this.fail('');
        if (e === 0x75) {
          for (let i = 0; i < 4; i++) {
            this.pos++;
            const h = this.buf[this.pos];
            if (h === undefined) this.fail('');
            if (!/[0-9a-fA-F]/.test(String.fromCharCode(h))) this.fail('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          this.fail('in string escape code');
        }
      }
      this.pos++;
    }
    this.pos++;
    const raw = this.buf.subarray(start, this.pos).toString('utf8');
    return JSON.parse(raw) as string;
  }

  number(): number {
    const start = this.pos;
    const d = (): boolean => this.buf[this.pos] >= 0x30 && this.buf[this.pos] <= 0x39;
    if (this.buf[this.pos] === 0x2d) {
      this.pos++;
      if (!d()) this.fail('in numeric literal');
    }
    if (this.buf[this.pos] === 0x30) this.pos++;
    else while (d()) this.pos++;
    if (this.buf[this.pos] === 0x2e) {
      this.pos++;
      if (!d()) this.fail('after decimal point in numeric literal');
      while (d()) this.pos++;
    }
    const e = this.buf[this.pos];
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      if (this.buf[this.pos] === 0x2b || this.buf[this.pos] === 0x2d) this.pos++;
      if (!d()) this.fail('in exponent of numeric literal');
      while (d()) this.pos++;
    }
    const text = this.buf.subarray(start, this.pos).toString('latin1');
    const n = Number(text);
    if (!Number.isFinite(n) && !this.rangeError) {
      // parity: encoding/json UnmarshalTypeError for float64 overflow
      this.rangeError = new GoJsonError(`json: cannot unmarshal number ${text} into Go value of type float64`, -1);
    }
    return n;
  }
}

/**
 * Decodes `text` like Go's json.Unmarshal into interface{} (or json.Decoder.Decode with
 * `firstValueOnly`). Throws GoJsonError.
 */
export function decodeGoJson(text: string | Buffer, opts: DecodeOptions = {}): DecodeResult {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const p = new Parser(buf);
  p.streaming = opts.firstValueOnly ?? false;
  p.skipWs();
  if (opts.firstValueOnly && p.pos >= buf.length) throw new GoJsonError('EOF', -1);
  const value = p.value();
  if (!opts.firstValueOnly) {
    p.skipWs();
    if (p.pos < buf.length) p.fail('after top-level value');
  }
  if (p.rangeError) throw p.rangeError;
  return { value, positions: p.positions, duplicateKey: p.duplicateKey };
}

/**
 * Packer's highlightPosition: the line/column Packer reports for a syntax error offset and the
 * excerpt (previous line, current partial line, caret).
 */
export function highlightPosition(buf: Buffer, offset: number): { line: number; column: number; excerpt: string } {
  let line = 1;
  let col = 0;
  let last = '';
  let cur: number[] = [];
  for (let n = 0; n < offset && n < buf.length; n++) {
    const b = buf[n];
    if (b === 0x0a) {
      last = Buffer.from(cur).toString('latin1');
      cur = [];
      line++;
      col = 1;
    } else {
      col++;
      cur.push(b);
    }
  }
  const fmt = (n: number, s: string) => `${String(n).padStart(5, ' ')}: ${s}\n`;
  let excerpt = '';
  if (line > 1) excerpt += fmt(line - 1, Buffer.from(last, 'latin1').toString('utf8'));
  excerpt += fmt(line, Buffer.from(cur).toString('utf8'));
  excerpt += ' '.repeat(col + 5) + '^\n';
  return { line, column: col, excerpt };
}
