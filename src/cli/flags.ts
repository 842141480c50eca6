/**
 * Command-line flags with Go's `flag` package semantics, as every Packer command parses them:
 * `-x` / `--x`, `-x=v` or `-x v` (booleans only `-x` or `-x=false`), parsing stops at the first
 * non-flag argument or `--`, and Go's error texts (`flag provided but not defined: -foo`).
 */
import { goQuote } from '../template/go-quote.js';

/** One flag a command accepts. */
export type FlagSpec =
  | { name: string; kind: 'bool' }
  | { name: string; kind: 'string' }
  | { name: string; kind: 'int' }
  /** Repeatable `-var k=v` (Packer's flag-kv). */
  | { name: string; kind: 'kv' }
  /** Repeatable string (e.g. -var-file). */
  | { name: string; kind: 'strings' }
  /** Repeatable comma-separated list (-only, -except). */
  | { name: string; kind: 'list' }
  /** One of a fixed set (Packer's enumflag). */
  | { name: string; kind: 'enum'; values: string[] };

/** Parsed flag values by flag name, plus the arguments after the flags. */
export interface ParsedFlags {
  bools: Record<string, boolean>;
  strings: Record<string, string>;
  ints: Record<string, number>;
  kvs: Record<string, Array<[string, string]>>;
  lists: Record<string, string[]>;
  args: string[];
}

/** A flag error: Go's message; the caller prints it with the usage text and exits 1. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** `-h` / `-help` was given: the caller prints the usage text and exits 0. */
export class HelpRequested extends Error {
  constructor() {
    super('flag: help requested');
    this.name = 'HelpRequested';
  }
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** strconv.ParseInt(s, 0, 64) for flag values; throws the flag package's reason text. */
function parseGoInt(s: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*|0)$/.exec(s);
  if (!m) throw new Error('parse error');
  const body = m[2].replace(/_/g, '');
  let n: bigint;
  if (/^0[xX]/.test(body)) n = BigInt(body);
  else if (/^0[bB]/.test(body)) n = BigInt(body);
  else if (/^0[oO]/.test(body)) n = BigInt('0o' + body.slice(2));
  else if (body.length > 1 && body[0] === '0') n = BigInt('0o' + body.slice(1));
  else n = BigInt(body);
  if (m[1] === '-') n = -n;
  if (n > 9223372036854775807n || n < -9223372036854775808n) throw new Error('value out of range');
  return Number(n);
}

function setValue(spec: FlagSpec, value: string, out: ParsedFlags): void {
  const name = spec.name;
  switch (spec.kind) {
    case 'string':
      out.strings[name] = value;
      return;
    case 'int':
      out.ints[name] = parseGoInt(value);
      return;
    case 'kv': {
      const i = value.indexOf('=');
      if (i < 0) throw new Error(`No '=' value in arg: ${value}`); // parity: flag-kv
      (out.kvs[name] ??= []).push([value.slice(0, i), value.slice(i + 1)]);
      return;
    }
    case 'strings':
      (out.lists[name] ??= []).push(value);
      return;
    case 'list':
      (out.lists[name] ??= []).push(...value.split(','));
      return;
    case 'enum':
      if (!spec.values.includes(value)) {
        // parity: command/enumflag
        throw new Error(`expected one of [${spec.values.map((v) => goQuote(v)).join(' ')}]`);
      }
      out.strings[name] = value;
      return;
    case 'bool': {
      const b = parseGoBool(value);
      if (b === undefined) throw new Error('parse error');
      out.bools[name] = b;
      return;
    }
  }
}

/** Parses `args` against `specs` like Go's FlagSet.Parse. Throws FlagError or HelpRequested. */
export function parseFlags(args: string[], specs: FlagSpec[]): ParsedFlags {
  const out: ParsedFlags = { bools: {}, strings: {}, ints: {}, kvs: {}, lists: {}, args: [] };
  const byName = new Map(specs.map((s) => [s.name, s]));
  let i = 0;
  while (i < args.length) {
    const s = args[i];
    if (s.length < 2 || s[0] !== '-') break;
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) {
        i++;
        break;
      }
    }
    let name = s.slice(minuses);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') {
      throw new FlagError(`bad flag syntax: ${s}`); // parity: flag
    }
    i++;
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = byName.get(name);
    if (!spec) {
      if (name === 'help' || name === 'h') throw new HelpRequested();
      throw new FlagError(`flag provided but not defined: -${name}`); // parity: flag
    }
    if (spec.kind === 'bool') {
      if (value === undefined) {
        out.bools[name] = true;
        continue;
      }
      const b = parseGoBool(value);
      // parity: flag (Go ≥1.19 reason text)
      if (b === undefined) throw new FlagError(`invalid boolean value ${goQuote(value)} for -${name}: parse error`);
      out.bools[name] = b;
      continue;
    }
    if (value === undefined) {
      if (i >= args.length) throw new FlagError(`flag needs an argument: -${name}`); // parity: flag
      value = args[i++];
    }
    try {
      setValue(spec, value, out);
    } catch (e) {
      // parity: flag
      throw new FlagError(`invalid value ${goQuote(value)} for flag -${name}: ${(e as Error).message}`);
    }
  }
  out.args = args.slice(i);
  return out;
}
