/**
 * The text/template executor (Go 1.19 exec.go semantics) over the parse trees of parser.ts.
 * Errors are thrown as ExecError with Go's text: `template: root:1:2: executing "root" at <node>: msg`.
 */
import type { ArgType, FuncDef } from './funcdef.js';
import { FuncError } from './funcdef.js';
import type {
  ArgNode,
  BranchNode,
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
} from './nodes.js';
import { nodeString } from './nodes.js';
import type { Tree } from './parser.js';
import { formatV, goQuote } from './printf.js';
import {
  GoComplex,
  GoFloat,
  type GoValue,
  fromJs,
  isTrue,
  kindOf,
  mapGet,
  sortedKeys,
  typeName,
} from './value.js';

export class ExecError extends Error {}

const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');
/** Go's maxExecDepth is 100000; JS stacks are shallower, so we stop earlier with the same message. */
const DEPTH_LIMIT = 400;

interface Shared {
  text: string;
  trees: Map<string, Tree>;
  funcs: Map<string, FuncDef>;
  out: string[];
}

class State {
  node: Node | null = null;
  vars: { name: string; value: GoValue }[];

  constructor(
    private readonly sh: Shared,
    private readonly tmplName: string,
    dot: GoValue,
    private readonly depth: number,
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  at(n: Node): void {
    this.node = n;
  }

  errorf(msg: string): never {
    const name = this.tmplName;
    if (this.node === null) throw new ExecError(`template: ${name}: ${msg}`);
    const pos = this.node.pos;
    const before = this.sh.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const col = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1));
    const line = before.split('\n').length;
    throw new ExecError(
      `template: root:${line}:${col}: executing ${goQuote(name)} at <${nodeString(this.node)}>: ${msg}`,
    );
  }

  // ---- variables ----
  private push(name: string, value: GoValue): void {
    this.vars.push({ name, value });
  }
  private pop(mark: number): void {
    this.vars.length = mark;
  }
  private setTopVar(n: number, value: GoValue): void {
    this.vars[this.vars.length - n].value = value;
  }
  private setVar(name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  private varValue(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- walking ----
  walk(dot: GoValue, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.sh.out.push(node.text);
        return;
    }
    this.errorf(`unknown node: ${nodeString(node)}`);
  }

  private printValue(n: Node, v: GoValue): void {
    this.at(n);
    if (kindOf(v) === 'func') this.errorf(`can't print ${nodeString(n)} of type ${typeName(v)}`);
    this.sh.out.push(v === undefined ? '<no value>' : formatV(v));
  }

  private walkIfOrWith(dot: GoValue, node: BranchNode): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) this.walk(node.type === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  private walkRange(dot: GoValue, r: BranchNode): void {
    this.at(r);
    const outer = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.vars.length;
      const one = (index: GoValue, elem: GoValue): void => {
        if (r.pipe.decl.length > 0) this.setTopVar(1, elem);
        if (r.pipe.decl.length > 1) this.setTopVar(2, index);
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
      };
      try {
        switch (kindOf(val)) {
          case 'slice': {
            const arr = val as unknown[];
            if (arr.length === 0) break;
            arr.forEach((e, i) => one(i, fromJs(e)));
            return;
          }
          case 'map': {
            const m = val as object;
            const keys = sortedKeys(m);
            if (keys.length === 0) break;
            for (const k of keys) one(k, mapGet(m, k));
            return;
          }
          case 'invalid':
            break;
          default:
            this.errorf(`range can't iterate over ${formatV(val)}`);
        }
      } catch (e) {
        if (e === BREAK) return;
        throw e;
      }
      if (r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  private walkTemplate(dot: GoValue, t: TemplateNode): void {
    this.at(t);
    const tree = this.sh.trees.get(t.name);
    if (tree === undefined) this.errorf(`template ${goQuote(t.name)} not defined`);
    if (this.depth >= DEPTH_LIMIT) this.errorf('exceeded maximum template depth (100000)');
    const newDot = this.evalPipeline(dot, t.pipe);
    new State(this.sh, t.name, newDot, this.depth + 1).walk(newDot, tree.root);
  }

  // ---- evaluation ----
  private evalPipeline(dot: GoValue, pipe: PipeNode | null): GoValue {
    if (pipe === null) return undefined;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      if (value === null) value = undefined; // a nil interface{} unwraps to "no value"
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.push(v.ident[0], value);
    }
    return value;
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING)
      this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.val;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
        break;
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
    this.errorf(`can't evaluate command ${goQuote(nodeString(first))}`);
  }

  private idealConstant(n: NumberNode): GoValue {
    this.at(n);
    const t = n.text;
    const hexInt = t.length > 2 && t[0] === '0' && (t[1] === 'x' || t[1] === 'X') && !/[pP]/.test(t);
    if (n.isComplex) return new GoComplex(n.complex[0], n.complex[1]);
    if (n.isFloat && !hexInt && t[0] !== "'" && /[.eEpP]/.test(t)) return new GoFloat(n.float);
    if (n.isInt) return n.int;
    if ((n as NumberNode & { isUint?: boolean }).isUint) this.errorf(`${t} overflows int`);
    return undefined;
  }

  private evalFunction(
    dot: GoValue,
    node: IdentifierNode,
    cmd: Node,
    args: ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(node);
    const fn = this.sh.funcs.get(node.ident);
    if (fn === undefined) this.errorf(`${goQuote(node.ident)} is not a defined function`);
    return this.evalCall(dot, fn, cmd, node.ident, args, final);
  }

  private evalCall(
    dot: GoValue,
    fn: FuncDef,
    node: Node,
    name: string,
    args: ArgNode[] | null,
    final: Final,
  ): GoValue {
    const argNodes = args ? args.slice(1) : [];
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    let numFixed = argNodes.length;
    if (fn.variadic !== undefined) {
      numFixed = fn.params.length;
      if (numIn < numFixed) {
        this.errorf(
          `wrong number of args for ${name}: want at least ${fn.params.length} got ${argNodes.length}`,
        );
      }
    } else if (numIn !== fn.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    }
    if (name === 'and' || name === 'or') {
      // Builtin and/or short-circuit (Go 1.18+).
      let v: GoValue = undefined;
      for (const a of argNodes) {
        v = this.evalArg(dot, 'value', a);
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = this.validateType(final, 'value');
      return v;
    }
    const argv: GoValue[] = [];
    let i = 0;
    for (; i < numFixed && i < argNodes.length; i++) argv.push(this.evalArg(dot, fn.params[i], argNodes[i]));
    if (fn.variadic !== undefined)
      for (; i < argNodes.length; i++) argv.push(this.evalArg(dot, fn.variadic, argNodes[i]));
    if (final !== MISSING) {
      let t: ArgType;
      if (fn.variadic === undefined) t = fn.params[fn.params.length - 1];
      else t = numIn - 1 < numFixed ? fn.params[numIn - 1] : fn.variadic;
      argv.push(this.validateType(final, t));
    }
    try {
      return fn.fn(argv);
    } catch (e) {
      if (e instanceof ExecError || e === BREAK || e === CONTINUE) throw e;
      this.at(node);
      const msg = e instanceof FuncError ? e.message : e instanceof Error ? e.message : String(e);
      this.errorf(`error calling ${name}: ${msg}`);
    }
  }

  private validateType(value: GoValue, typ: ArgType | null): GoValue {
    if (value === undefined) {
      if (typ === null || typ === 'value') return undefined;
      if (typ === 'any') return null;
      this.errorf(`invalid value; expected ${typ}`);
    }
    if (typ === null || typ === 'value' || typ === 'any') return value;
    const k = kindOf(value);
    const ok =
      (typ === 'string' && k === 'string') ||
      (typ === 'int' && k === 'int') ||
      (typ === 'bool' && k === 'bool') ||
      (typ === 'float64' && k === 'float');
    if (!ok) this.errorf(`wrong type for value; expected ${typ}; got ${typeName(value)}`);
    return value;
  }

  private evalArg(dot: GoValue, typ: ArgType | null, n: ArgNode): GoValue {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ === 'value') return undefined;
        if (typ === 'any' || typ === null) return null;
        this.errorf(`cannot assign nil to ${typ}`);
        break;
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, null, MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, null, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, null, MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.type === 'bool') return n.val;
        this.errorf(`expected bool; found ${nodeString(n)}`);
        break;
      case 'float64':
        if (n.type === 'number' && n.isFloat) return new GoFloat(n.float);
        this.errorf(`expected float; found ${nodeString(n)}`);
        break;
      case 'int':
        if (n.type === 'number' && n.isInt) return n.int;
        this.errorf(`expected integer; found ${nodeString(n)}`);
        break;
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
        break;
    }
    return this.evalEmptyInterface(dot, n);
  }

  private evalEmptyInterface(dot: GoValue, n: ArgNode): GoValue {
    this.at(n);
    switch (n.type) {
      case 'bool':
        return n.val;
      case 'number':
        return this.idealConstant(n);
      case 'string':
        return n.text;
      case 'dot':
        return dot;
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  private evalFieldNode(dot: GoValue, field: FieldNode, args: ArgNode[] | null, final: Final): GoValue {
    this.at(field);
    return this.evalFieldChain(dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: GoValue, chain: ChainNode, args: ArgNode[] | null, final: Final): GoValue {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, null, chain.node);
    return this.evalFieldChain(pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: GoValue, v: VariableNode, args: ArgNode[] | null, final: Final): GoValue {
    this.at(v);
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [], final);
      return value;
    }
    return this.evalFieldChain(value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(
    receiver: GoValue,
    node: Node,
    ident: string[],
    args: ArgNode[] | null,
    final: Final,
  ): GoValue {
    let boxed = false;
    for (let i = 0; i < ident.length - 1; i++) {
      receiver = this.evalField(ident[i], null, MISSING, receiver, boxed);
      boxed = true;
    }
    void node;
    return this.evalField(ident[ident.length - 1], args, final, receiver, boxed);
  }

  private evalField(
    name: string,
    args: ArgNode[] | null,
    final: Final,
    receiver: GoValue,
    boxed: boolean,
  ): GoValue {
    if (receiver === undefined) return undefined;
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${name}`);
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (kindOf(receiver) === 'map') {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return mapGet(receiver as object, name);
    }
    this.errorf(`can't evaluate field ${name} in type ${boxed ? 'interface {}' : typeName(receiver)}`);
  }
}

/** Executes template `name` of `trees` against `data`, returning the output. */
export function execute(
  text: string,
  trees: Map<string, Tree>,
  funcs: Map<string, FuncDef>,
  name: string,
  data: GoValue,
): string {
  const sh: Shared = { text, trees, funcs, out: [] };
  const st = new State(sh, name, data, 0);
  const tree = trees.get(name);
  if (tree === undefined) return st.errorf(`${goQuote(name)} is an incomplete or empty template`);
  st.walk(data, tree.root);
  return sh.out.join('');
}
