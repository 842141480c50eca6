/** Token kinds and character classes of the text/template lexer. */

export const enum T {
  Error,
  Bool,
  Char,
  CharConstant,
  Complex,
  Assign,
  Declare,
  EOF,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  Keyword, // delimiter: keywords follow
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
}

export interface Item {
  typ: T;
  pos: number;
  val: string;
  line: number;
}

export const keywords: Record<string, T> = {
  '.': T.Dot,
  block: T.Block,
  break: T.Break,
  continue: T.Continue,
  define: T.Define,
  else: T.Else,
  end: T.End,
  if: T.If,
  range: T.Range,
  nil: T.Nil,
  template: T.Template,
  with: T.With,
};

export const EOF = '';

export function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

const alnum = /^[_\p{L}\p{Nd}]$/u;
export function isAlphaNumeric(c: string): boolean {
  return c !== EOF && alnum.test(c);
}

/** Go's %#U: `U+0041 'A'` (the quoted form only for printable runes). */
export function sharpU(c: string): string {
  const cp = c.codePointAt(0) as number;
  const hex = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(c) ? `${hex} '${c}'` : hex;
}
