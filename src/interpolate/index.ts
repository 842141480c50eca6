/**
 * Packer's interpolation engine: Go text/template semantics with Packer's function set.
 * Public API; the engine lives beside this file (lexer → parser → exec, funcs for Packer's set).
 */
import { builtinFuncs } from './builtins.js';
import { ExecError, execute } from './exec.js';
import type { FuncDef } from './funcdef.js';
import { packerFuncs } from './funcs.js';
import { ParseError, type Tree, parseTemplate } from './parser.js';

export { cleanResourceName } from './clean.js';
export { formatGoTime } from './go-time.js';
export { strftime } from './strftime.js';

/** What a render may see. Mirrors Packer's interpolate.Context and the per-context rules of spec §3.4. */
export interface InterpolateContext {
  /** User variables visible to {{user `x`}}. */
  userVariables?: Record<string, string>;
  /**
   * Rendering the `variables` section: `user` is strict (unknown → "Error: variable not set: x"),
   * and env/consul_key/vault/aws_secretsmanager are allowed. Elsewhere they error "… not allowed here".
   */
  variablesSection?: boolean;
  /** Absolute path of the template file; `template_dir` errors "template path not available" without it. */
  templatePath?: string;
  /** Rendered build name; absent → `build_name not available`. */
  buildName?: string;
  /** Builder type; absent → `build_type not available`. */
  buildType?: string;
  /** False in core contexts (variables, console, build names): `packer_version not available`. */
  packerVersion?: string;
  /** Data for `{{ .Key }}`; a missing key renders `<no value>`. */
  data?: Record<string, unknown> | null;
  /**
   * Generated data for the `build` function. When undefined, `build` reads `data` (as Packer does,
   * where both are the same map); with neither → the "not passed into your plugin" error.
   */
  buildData?: Record<string, string>;
  /** Extra functions, e.g. a builder's clean_resource_name (each parameter is a Go `string`). */
  extraFuncs?: Record<string, (...args: unknown[]) => unknown>;
  /** The run's fixed instant for timestamp/isotime/strftime. */
  initTime: Date;
  /** Environment for `env`, `consul_key` and `vault` (default process.env). */
  env?: Record<string, string | undefined>;
  /** Optional synchronous AWS Secrets Manager reader for `aws_secretsmanager` (name, key). */
  awsSecretsManager?: (name: string, key: string) => string;
}

export class InterpolateError extends Error {
  /** 'parse' for syntax errors, 'exec' for execution errors. */
  readonly kind: 'parse' | 'exec';
  constructor(kind: 'parse' | 'exec', message: string) {
    super(message);
    this.name = 'InterpolateError';
    this.kind = kind;
  }
}

const TEMPLATE_NAME = 'root';
const builtinNames = new Set(Object.keys(builtinFuncs));
/** Names of Packer's functions (present in every context; some only error outside theirs). */
const packerNames = new Set(Object.keys(packerFuncs({ initTime: new Date(0) })));

const cache = new Map<string, Map<string, Tree>>();
const CACHE_MAX = 500;

function parse(text: string, extra: string[]): Map<string, Tree> {
  const key = extra.join(',') + '\u0000' + text;
  const hit = cache.get(key);
  if (hit) return hit;
  const extraSet = new Set(extra);
  const has = (n: string): boolean => builtinNames.has(n) || packerNames.has(n) || extraSet.has(n);
  let trees: Map<string, Tree>;
  try {
    trees = parseTemplate(TEMPLATE_NAME, text, has);
  } catch (e) {
    throw toInterpolateError(e, 'parse');
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(key, trees);
  return trees;
}

function toInterpolateError(e: unknown, phase: 'parse' | 'exec'): InterpolateError {
  if (e instanceof InterpolateError) return e;
  if (e instanceof ParseError) return new InterpolateError('parse', e.message);
  if (e instanceof ExecError) return new InterpolateError('exec', e.message);
  if (e instanceof RangeError) {
    return new InterpolateError(
      phase,
      `template: ${TEMPLATE_NAME}: exceeded maximum template depth (100000)`,
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new InterpolateError(phase, `template: ${TEMPLATE_NAME}: internal error: ${msg}`);
}

/** Single pass (Packer's RenderOnce). Throws InterpolateError('parse'|'exec', goText). */
export function render(text: string, ctx: InterpolateContext): string {
  if (!text.includes('{{')) return text;
  const trees = parse(text, Object.keys(ctx.extraFuncs ?? {}));
  const funcs = new Map<string, FuncDef>([
    ...Object.entries(builtinFuncs),
    ...Object.entries(packerFuncs(ctx)),
  ]);
  const data = ctx.data === null || ctx.data === undefined ? undefined : ctx.data;
  try {
    return execute(text, trees, funcs, TEMPLATE_NAME, data);
  } catch (e) {
    throw toInterpolateError(e, 'exec');
  }
}

/** Safety stops for renderFixedPoint (Packer would loop forever; no real template gets near these). */
const MAX_PASSES = 100;
const MAX_OUTPUT = 16 * 1024 * 1024;

/** Render until the output equals the input (Packer's Render). */
export function renderFixedPoint(text: string, ctx: InterpolateContext): string {
  let v = text;
  for (let i = 0; i < MAX_PASSES; i++) {
    const out = render(v, ctx);
    if (out === v) return out;
    if (out.length > MAX_OUTPUT) break;
    v = out;
  }
  throw new InterpolateError(
    'exec',
    `template: ${TEMPLATE_NAME}: rendering did not settle after ${MAX_PASSES} passes`,
  );
}

/** Parse only (throws kind 'parse'). `ctx` supplies extra function names, if any. */
export function validateTemplate(text: string, ctx?: Pick<InterpolateContext, 'extraFuncs'>): void {
  if (!text.includes('{{')) return;
  parse(text, Object.keys(ctx?.extraFuncs ?? {}));
}
