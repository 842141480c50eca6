/** Parse-tree nodes of text/template and their Go `String()` forms (used in error contexts). */
import { goQuote } from './printf.js';

interface Base {
  pos: number;
}
export interface TextNode extends Base {
  type: 'text';
  text: string;
}
export interface ActionNode extends Base {
  type: 'action';
  line: number;
  pipe: PipeNode;
}
export interface PipeNode extends Base {
  type: 'pipe';
  line: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface CommandNode extends Base {
  type: 'command';
  args: ArgNode[];
}
export interface IdentifierNode extends Base {
  type: 'identifier';
  ident: string;
}
export interface VariableNode extends Base {
  type: 'variable';
  ident: string[];
}
export interface DotNode extends Base {
  type: 'dot';
}
export interface NilNode extends Base {
  type: 'nil';
}
export interface FieldNode extends Base {
  type: 'field';
  ident: string[];
}
export interface ChainNode extends Base {
  type: 'chain';
  node: ArgNode;
  field: string[];
}
export interface BoolNode extends Base {
  type: 'bool';
  val: boolean;
}
export interface NumberNode extends Base {
  type: 'number';
  text: string;
  isInt: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int: number;
  float: number;
  complex: [number, number];
}
export interface StringNode extends Base {
  type: 'string';
  quoted: string;
  text: string;
}
export interface ListNode extends Base {
  type: 'list';
  nodes: Node[];
}
export interface BranchNode extends Base {
  type: 'if' | 'range' | 'with';
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface TemplateNode extends Base {
  type: 'template';
  line: number;
  name: string;
  pipe: PipeNode | null;
}
export interface SimpleNode extends Base {
  type: 'break' | 'continue' | 'end' | 'else';
  line: number;
}

export type ArgNode =
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | FieldNode
  | ChainNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;
export type Node =
  TextNode | ActionNode | ListNode | BranchNode | TemplateNode | SimpleNode | ArgNode | CommandNode;

/** Go's Node.String(). */
export function nodeString(n: Node): string {
  switch (n.type) {
    case 'text':
      return n.text;
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(nodeString).join(', ') + ' := ';
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'field':
      return n.ident.map((i) => '.' + i).join('');
    case 'chain': {
      const head = n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node);
      return head + n.field.map((f) => '.' + f).join('');
    }
    case 'bool':
      return String(n.val);
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'if':
    case 'range':
    case 'with': {
      const els = n.elseList ? `{{else}}${nodeString(n.elseList)}` : '';
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}${els}{{end}}`;
    }
    case 'template':
      return n.pipe
        ? `{{template ${goQuote(n.name)} ${nodeString(n.pipe)}}}`
        : `{{template ${goQuote(n.name)}}}`;
    case 'break':
    case 'continue':
    case 'end':
    case 'else':
      return `{{${n.type}}}`;
  }
}

/** parse.IsEmptyTree. */
export function isEmptyTree(n: Node | null): boolean {
  if (n === null) return true;
  if (n.type === 'list') return n.nodes.every(isEmptyTree);
  if (n.type === 'text') return n.text.trim() === '';
  return false;
}
