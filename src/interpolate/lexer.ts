/**
 * The text/template lexer (Go 1.19 behaviour): text, `{{ }}` actions with `{{- ` / ` -}}` trim
 * markers, comments, strings, raw strings, char constants, numbers, fields, variables, keywords.
 * Positions are UTF-16 offsets into the input; `line` is the 1-based line where the item starts.
 */
import { goQuote } from './printf.js';
import { EOF, type Item, T, isAlphaNumeric, isSpace, keywords, sharpU } from './tokens.js';

const LEFT = '{{';
const RIGHT = '}}';

type StateFn = ((l: Lexer) => StateFn) | null;

export class Lexer {
  private pos = 0;
  private start = 0;
  private width = 0;
  private parenDepth = 0;
  private state: StateFn = lexText;
  private readonly queue: Item[] = [];

  constructor(readonly input: string) {}

  nextItem(): Item {
    while (this.queue.length === 0) {
      if (this.state === null) return { typ: T.EOF, pos: this.pos, val: '', line: this.lineAt(this.pos) };
      this.state = this.state(this);
    }
    return this.queue.shift() as Item;
  }

  private lineCount = 1;
  private linePos = 0;
  /** Line of `pos`; items are requested in increasing position order, so this is incremental. */
  private lineAt(pos: number): number {
    if (pos < this.linePos) {
      this.lineCount = 1;
      this.linePos = 0;
    }
    for (
      let i = this.input.indexOf('\n', this.linePos);
      i >= 0 && i < pos;
      i = this.input.indexOf('\n', i + 1)
    ) {
      this.lineCount++;
      this.linePos = i + 1;
    }
    return this.lineCount;
  }

  next(): string {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return EOF;
    }
    const cp = this.input.codePointAt(this.pos) as number;
    const c = String.fromCodePoint(cp);
    this.width = c.length;
    this.pos += this.width;
    return c;
  }
  peek(): string {
    const c = this.next();
    this.backup();
    return c;
  }
  backup(): void {
    this.pos -= this.width;
  }
  emit(typ: T): void {
    this.queue.push({
      typ,
      pos: this.start,
      val: this.input.slice(this.start, this.pos),
      line: this.lineAt(this.start),
    });
    this.start = this.pos;
  }
  ignore(): void {
    this.start = this.pos;
  }
  accept(valid: string): boolean {
    const c = this.next();
    if (c !== EOF && valid.includes(c)) return true;
    this.backup();
    return false;
  }
  acceptRun(valid: string): void {
    for (let c = this.next(); c !== EOF && valid.includes(c); c = this.next());
    this.backup();
  }
  errorf(msg: string): StateFn {
    this.queue.push({ typ: T.Error, pos: this.start, val: msg, line: this.lineAt(this.start) });
    return null;
  }
  rest(at = this.pos): string {
    return this.input.slice(at);
  }

  // ---- state functions (closures over the lexer's private fields) ----

  static lexText(l: Lexer): StateFn {
    const x = l.input.indexOf(LEFT, l.pos);
    if (x >= 0) {
      l.pos = x;
      let trim = 0;
      if (hasLeftTrimMarker(l.rest(x + LEFT.length))) {
        const pending = l.input.slice(l.start, l.pos);
        trim = pending.length - pending.replace(/[ \t\r\n]+$/, '').length;
      }
      l.pos -= trim;
      if (l.pos > l.start) l.emit(T.Text);
      l.pos += trim;
      l.ignore();
      return Lexer.lexLeftDelim;
    }
    l.pos = l.input.length;
    if (l.pos > l.start) l.emit(T.Text);
    l.emit(T.EOF);
    return null;
  }

  static lexLeftDelim(l: Lexer): StateFn {
    l.pos += LEFT.length;
    const trim = hasLeftTrimMarker(l.rest());
    const after = trim ? 2 : 0;
    if (l.rest(l.pos + after).startsWith('/*')) {
      l.pos += after;
      l.ignore();
      return Lexer.lexComment;
    }
    l.emit(T.LeftDelim);
    l.pos += after;
    l.ignore();
    l.parenDepth = 0;
    return Lexer.lexInsideAction;
  }

  static lexComment(l: Lexer): StateFn {
    l.pos += 2;
    const x = l.input.indexOf('*/', l.pos);
    if (x < 0) return l.errorf('unclosed comment');
    l.pos = x + 2;
    const [delim, trim] = l.atRightDelim();
    if (!delim) return l.errorf('comment ends before closing delimiter');
    if (trim) l.pos += 2;
    l.pos += RIGHT.length;
    if (trim) l.pos += leftTrimLength(l.rest());
    l.ignore();
    return Lexer.lexText;
  }

  atRightDelim(): [boolean, boolean] {
    const r = this.rest();
    if (hasRightTrimMarker(r) && r.startsWith(RIGHT, 2)) return [true, true];
    if (r.startsWith(RIGHT)) return [true, false];
    return [false, false];
  }

  static lexRightDelim(l: Lexer): StateFn {
    const trim = hasRightTrimMarker(l.rest());
    if (trim) {
      l.pos += 2;
      l.ignore();
    }
    l.pos += RIGHT.length;
    l.emit(T.RightDelim);
    if (trim) {
      l.pos += leftTrimLength(l.rest());
      l.ignore();
    }
    return Lexer.lexText;
  }

  static lexInsideAction(l: Lexer): StateFn {
    const [delim] = l.atRightDelim();
    if (delim) {
      if (l.parenDepth === 0) return Lexer.lexRightDelim;
      return l.errorf('unclosed left paren');
    }
    const r = l.next();
    if (r === EOF) return l.errorf('unclosed action');
    if (isSpace(r)) {
      l.backup();
      return Lexer.lexSpace;
    }
    switch (r) {
      case '=':
        l.emit(T.Assign);
        return Lexer.lexInsideAction;
      case ':':
        if (l.next() !== '=') return l.errorf('expected :=');
        l.emit(T.Declare);
        return Lexer.lexInsideAction;
      case '|':
        l.emit(T.Pipe);
        return Lexer.lexInsideAction;
      case '"':
        return Lexer.lexQuote;
      case '`':
        return Lexer.lexRawQuote;
      case '$':
        return Lexer.lexVariable;
      case "'":
        return Lexer.lexChar;
      case '(':
        l.emit(T.LeftParen);
        l.parenDepth++;
        return Lexer.lexInsideAction;
      case ')':
        l.emit(T.RightParen);
        l.parenDepth--;
        if (l.parenDepth < 0) return l.errorf(`unexpected right paren ${sharpU(r)}`);
        return Lexer.lexInsideAction;
    }
    if (r === '.') {
      if (l.pos < l.input.length) {
        const c = l.input[l.pos];
        if (c < '0' || c > '9') return (x: Lexer) => Lexer.lexFieldOrVariable(x, T.Field);
      }
      l.backup();
      return Lexer.lexNumber;
    }
    if (r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      l.backup();
      return Lexer.lexNumber;
    }
    if (isAlphaNumeric(r)) {
      l.backup();
      return Lexer.lexIdentifier;
    }
    const cp = r.codePointAt(0) as number;
    if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) {
      l.emit(T.Char);
      return Lexer.lexInsideAction;
    }
    return l.errorf(`unrecognized character in action: ${sharpU(r)}`);
  }

  static lexSpace(l: Lexer): StateFn {
    let num = 0;
    while (isSpace(l.peek())) {
      l.next();
      num++;
    }
    const r = l.rest(l.pos - 1);
    if (hasRightTrimMarker(r) && r.startsWith(RIGHT, 2)) {
      l.backup();
      if (num === 1) return Lexer.lexRightDelim;
    }
    l.emit(T.Space);
    return Lexer.lexInsideAction;
  }

  static lexIdentifier(l: Lexer): StateFn {
    for (;;) {
      const r = l.next();
      if (isAlphaNumeric(r)) continue;
      l.backup();
      const word = l.input.slice(l.start, l.pos);
      if (!l.atTerminator()) return l.errorf(`bad character ${sharpU(r)}`);
      const kw = keywords[word];
      if (kw !== undefined && kw > T.Keyword) l.emit(kw);
      else if (word[0] === '.') l.emit(T.Field);
      else if (word === 'true' || word === 'false') l.emit(T.Bool);
      else l.emit(T.Identifier);
      return Lexer.lexInsideAction;
    }
  }

  static lexVariable(l: Lexer): StateFn {
    if (l.atTerminator()) {
      l.emit(T.Variable);
      return Lexer.lexInsideAction;
    }
    return Lexer.lexFieldOrVariable(l, T.Variable);
  }

  static lexFieldOrVariable(l: Lexer, typ: T): StateFn {
    if (l.atTerminator()) {
      l.emit(typ === T.Variable ? T.Variable : T.Dot);
      return Lexer.lexInsideAction;
    }
    let r: string;
    for (;;) {
      r = l.next();
      if (!isAlphaNumeric(r)) {
        l.backup();
        break;
      }
    }
    if (!l.atTerminator()) return l.errorf(`bad character ${sharpU(r)}`);
    l.emit(typ);
    return Lexer.lexInsideAction;
  }

  atTerminator(): boolean {
    const r = this.peek();
    if (isSpace(r)) return true;
    switch (r) {
      case EOF:
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
    }
    return this.rest().startsWith(RIGHT);
  }

  static lexChar(l: Lexer): StateFn {
    for (;;) {
      let c = l.next();
      if (c === '\\') {
        c = l.next();
        if (c !== EOF && c !== '\n') continue;
        return l.errorf('unterminated character constant');
      }
      if (c === EOF || c === '\n') return l.errorf('unterminated character constant');
      if (c === "'") break;
    }
    l.emit(T.CharConstant);
    return Lexer.lexInsideAction;
  }

  static lexNumber(l: Lexer): StateFn {
    if (!l.scanNumber()) return l.errorf(`bad number syntax: ${goQuote(l.input.slice(l.start, l.pos))}`);
    const sign = l.peek();
    if (sign === '+' || sign === '-') {
      if (!l.scanNumber() || l.input[l.pos - 1] !== 'i') {
        return l.errorf(`bad number syntax: ${goQuote(l.input.slice(l.start, l.pos))}`);
      }
      l.emit(T.Complex);
    } else l.emit(T.Number);
    return Lexer.lexInsideAction;
  }

  scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  static lexQuote(l: Lexer): StateFn {
    for (;;) {
      let c = l.next();
      if (c === '\\') {
        c = l.next();
        if (c !== EOF && c !== '\n') continue;
        return l.errorf('unterminated quoted string');
      }
      if (c === EOF || c === '\n') return l.errorf('unterminated quoted string');
      if (c === '"') break;
    }
    l.emit(T.String);
    return Lexer.lexInsideAction;
  }

  static lexRawQuote(l: Lexer): StateFn {
    for (;;) {
      const c = l.next();
      if (c === EOF) return l.errorf('unterminated raw quoted string');
      if (c === '`') break;
    }
    l.emit(T.RawString);
    return Lexer.lexInsideAction;
  }
}

const lexText = Lexer.lexText;

function hasLeftTrimMarker(s: string): boolean {
  return s.length >= 2 && s[0] === '-' && isSpace(s[1]);
}
function hasRightTrimMarker(s: string): boolean {
  return s.length >= 2 && isSpace(s[0]) && s[1] === '-';
}
function leftTrimLength(s: string): number {
  return s.length - s.replace(/^[ \t\r\n]+/, '').length;
}
