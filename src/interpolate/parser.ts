/**
 * The text/template parser (Go 1.19 parse.Tree): builds a set of named trees from one text.
 * Errors are thrown as ParseError with Go's exact text, `template: root:<line>: <msg>`.
 */
import { Lexer } from './lexer.js';
import { type Item, T } from './tokens.js';
import { SyntaxErr, parseNumber, unquote } from './literals.js';
import {
  type ArgNode,
  type BranchNode,
  type CommandNode,
  type ListNode,
  type Node,
  type PipeNode,
  type SimpleNode,
  type TemplateNode,
  type VariableNode,
  isEmptyTree,
  nodeString,
} from './nodes.js';
import { goQuote } from './printf.js';

export class ParseError extends Error {}

export interface Tree {
  name: string;
  root: ListNode;
}

/** Go's item.String(). */
function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.Error) return i.val;
  if (i.typ > T.Keyword) return `<${i.val}>`;
  if (Buffer.byteLength(i.val) > 10) return goQuote([...i.val].slice(0, 10).join('')) + '...';
  return goQuote(i.val);
}

class TreeParser {
  root: ListNode = { type: 'list', pos: 0, nodes: [] };
  private token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;

  constructor(
    public name: string,
    private readonly lex: Lexer,
    private readonly treeSet: Map<string, Tree>,
    private readonly hasFunction: (name: string) => boolean,
    private readonly parseName: string,
  ) {}

  // ---- token stream (three-token lookahead, as Go) ----
  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lex.nextItem();
    return this.token[this.peekCount];
  }
  private backup(): void {
    this.peekCount++;
  }
  private backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1];
    this.peekCount = 1;
    this.token[0] = this.lex.nextItem();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === T.Space);
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  // ---- errors ----
  errorf(msg: string): never {
    throw new ParseError(`template: ${this.parseName}:${this.token[0]?.line ?? 1}: ${msg}`);
  }
  private expect(expected: T, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== expected) this.unexpected(t, context);
    return t;
  }
  private unexpected(t: Item, context: string): never {
    if (t.typ === T.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${itemString(t)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }

  // ---- grammar ----
  parse(): void {
    this.root = { type: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          const sub = new TreeParser('definition', this.lex, this.treeSet, this.hasFunction, this.parseName);
          sub.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      this.root.nodes.push(n);
    }
  }

  add(): void {
    const tree = this.treeSet.get(this.name);
    if (tree === undefined || isEmptyTree(tree.root)) {
      this.treeSet.set(this.name, { name: this.name, root: this.root });
      return;
    }
    if (!isEmptyTree(this.root))
      this.errorf(`template: multiple definition of template ${goQuote(this.name)}`);
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const t = this.nextNonSpace();
    if (t.typ !== T.String && t.typ !== T.RawString) this.unexpected(t, context);
    this.name = this.unquote(t.val);
    this.expect(T.RightDelim, context);
    const [list, end] = this.itemList();
    this.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add();
  }

  private unquote(q: string): string {
    try {
      return unquote(q);
    } catch (e) {
      if (e instanceof SyntaxErr) this.errorf(e.message);
      throw e;
    }
  }

  private itemList(): [ListNode, Node] {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const t = this.nextNonSpace();
    if (t.typ === T.Text) return { type: 'text', pos: t.pos, text: t.val };
    if (t.typ === T.LeftDelim) {
      this.actionLine = t.line;
      try {
        return this.action();
      } finally {
        this.actionLine = 0;
      }
    }
    this.unexpected(t, 'input');
  }

  private action(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case T.Block:
        return this.blockControl();
      case T.Break:
      case T.Continue:
        return this.branchControl(t);
      case T.Else:
        return this.elseControl();
      case T.End:
        return { type: 'end', pos: this.expect(T.RightDelim, 'end').pos, line: t.line };
      case T.If:
        return this.parseControl(true, 'if');
      case T.Range:
        return this.parseControl(false, 'range');
      case T.Template:
        return this.templateControl();
      case T.With:
        return this.parseControl(false, 'with');
    }
    this.backup();
    const tok = this.peek();
    return { type: 'action', pos: tok.pos, line: tok.line, pipe: this.pipeline('command', T.RightDelim) };
  }

  private branchControl(t: Item): SimpleNode {
    const word = t.typ === T.Break ? 'break' : 'continue';
    const next = this.nextNonSpace();
    if (next.typ !== T.RightDelim) this.unexpected(next, `{{${word}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
    return { type: word, pos: t.pos, line: t.line };
  }

  private elseControl(): SimpleNode {
    const peek = this.peekNonSpace();
    if (peek.typ === T.If) return { type: 'else', pos: peek.pos, line: peek.line };
    const t = this.expect(T.RightDelim, 'else');
    return { type: 'else', pos: t.pos, line: t.line };
  }

  private parseControl(allowElseIf: boolean, context: 'if' | 'range' | 'with'): BranchNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, T.RightDelim);
      if (context === 'range') this.rangeDepth++;
      let list: ListNode;
      let next: Node;
      try {
        [list, next] = this.itemList();
      } finally {
        if (context === 'range') this.rangeDepth--;
      }
      let elseList: ListNode | null = null;
      if (next.type === 'else') {
        if (allowElseIf && this.peek().typ === T.If) {
          this.next();
          elseList = { type: 'list', pos: next.pos, nodes: [this.parseControl(true, 'if')] };
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return { type: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  private parseTemplateName(t: Item, context: string): string {
    if (t.typ !== T.String && t.typ !== T.RawString) this.unexpected(t, context);
    return this.unquote(t.val);
  }

  private templateControl(): TemplateNode {
    const context = 'template clause';
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.RightDelim);
    }
    return { type: 'template', pos: t.pos, line: t.line, name, pipe };
  }

  private blockControl(): TemplateNode {
    const context = 'block clause';
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    const pipe = this.pipeline(context, T.RightDelim);
    const block = new TreeParser(name, this.lex, this.treeSet, this.hasFunction, this.parseName);
    const [list, end] = block.itemList();
    block.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    block.add();
    return { type: 'template', pos: t.pos, line: t.line, name, pipe };
  }

  private pipeline(context: string, end: T): PipeNode {
    const first = this.peekNonSpace();
    const pipe: PipeNode = {
      type: 'pipe',
      pos: first.pos,
      line: first.line,
      isAssign: false,
      decl: [],
      cmds: [],
    };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.Variable) break;
      this.next();
      const after = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === T.Assign || next.typ === T.Declare) {
        pipe.isAssign = next.typ === T.Assign;
        this.nextNonSpace();
        pipe.decl.push(newVariable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (next.typ === T.Char && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === T.Variable || p === T.RightDelim || p === T.RightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (after.typ === T.Space) this.backup3(v, after);
      else this.backup2(v);
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.typ) {
        case T.Bool:
        case T.CharConstant:
        case T.Complex:
        case T.Dot:
        case T.Field:
        case T.Identifier:
        case T.Number:
        case T.Nil:
        case T.RawString:
        case T.String:
        case T.Variable:
        case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = c.args[0].type;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === T.Space) continue;
      if (t.typ === T.RightDelim || t.typ === T.RightParen) this.backup();
      else if (t.typ !== T.Pipe) this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | null {
    let node = this.term();
    if (node === null) return null;
    if (this.peek().typ === T.Field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === T.Field) fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos, ident: [...node.ident, ...fields] };
          break;
        case 'variable':
          node = { type: 'variable', pos, ident: [...node.ident, ...fields] };
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${goQuote(nodeString(node))}`);
          break;
        default:
          node = { type: 'chain', pos, node, field: fields };
      }
    }
    return node;
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case T.Identifier:
        if (!this.hasFunction(t.val)) this.errorf(`function ${goQuote(t.val)} not defined`);
        return { type: 'identifier', pos: t.pos, ident: t.val };
      case T.Dot:
        return { type: 'dot', pos: t.pos };
      case T.Nil:
        return { type: 'nil', pos: t.pos };
      case T.Variable:
        return this.useVar(t.pos, t.val);
      case T.Field:
        return { type: 'field', pos: t.pos, ident: [t.val.slice(1)] };
      case T.Bool:
        return { type: 'bool', pos: t.pos, val: t.val === 'true' };
      case T.CharConstant:
      case T.Complex:
      case T.Number:
        try {
          return parseNumber(t.pos, t.val, t.typ === T.CharConstant, t.typ === T.Complex);
        } catch (e) {
          if (e instanceof SyntaxErr) this.errorf(e.message);
          throw e;
        }
      case T.LeftParen:
        return this.pipeline('parenthesized pipeline', T.RightParen);
      case T.String:
      case T.RawString:
        return { type: 'string', pos: t.pos, quoted: t.val, text: this.unquote(t.val) };
    }
    this.backup();
    return null;
  }

  private useVar(pos: number, name: string): VariableNode {
    const v = newVariable(pos, name);
    if (this.vars.includes(v.ident[0])) return v;
    this.errorf(`undefined variable ${goQuote(v.ident[0])}`);
  }
}

function newVariable(pos: number, name: string): VariableNode {
  return { type: 'variable', pos, ident: name.split('.') };
}

/** Parses `text` as template `name`; returns every tree it defines (including `name`). */
export function parseTemplate(
  name: string,
  text: string,
  hasFunction: (n: string) => boolean,
): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const p = new TreeParser(name, new Lexer(text), treeSet, hasFunction, name);
  p.parse();
  p.add();
  return treeSet;
}
