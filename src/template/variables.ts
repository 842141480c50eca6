/**
 * User variables (spec §2): var files, required-variable checks and Packer's multi-pass rendering
 * of defaults and command-line values (packer/core.go renderVarsRecursively), `{{ .X }}` kept.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { render, InterpolateError } from '../interpolate/index.js';
import { UserError } from '../util/errors.js';
import { decodeGoJson, GoJsonError } from './go-json.js';
import type { Template } from './types.js';

/** Rendering inputs besides the values. */
export interface VariableRenderBase {
  initTime: Date;
  templatePath?: string;
  env?: Record<string, string | undefined>;
}

/**
 * Reads one `-var-file` (JSON object of strings, Go json.Decoder semantics). Errors are the texts
 * the flag package reports after `invalid value "<path>" for flag -var-file: `.
 */
export async function readVarFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UserError(goOpenError(path, e));
  }
  let value: unknown;
  try {
    value = decodeGoJson(text, { firstValueOnly: true }).value;
  } catch (e) {
    if (!(e instanceof GoJsonError)) throw e;
    throw new UserError(`Error reading variables in '${path}': ${e.goMessage}`); // parity: flag-kv/flag_json.go
  }
  const out: Record<string, string> = {};
  if (value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    // parity: encoding/json UnmarshalTypeError
    throw new UserError(
      `Error reading variables in '${path}': json: cannot unmarshal ${jsonKind(value)} into Go value of type kvflag.FlagJSON`,
    );
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null) {
      out[k] = out[k] ?? '';
      continue;
    }
    if (typeof v !== 'string') {
      throw new UserError(
        `Error reading variables in '${path}': json: cannot unmarshal ${jsonKind(v)} into Go value of type string`,
      );
    }
    out[k] = v;
  }
  return out;
}

/** Reads var files in order, later files winning. */
export async function readVarFiles(paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) Object.assign(out, await readVarFile(p));
  return out;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return 'string';
}

/** Go's *PathError text for a failed open. */
export function goOpenError(path: string, e: unknown): string {
  const code = (e as { code?: string }).code;
  const why =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'ENOTDIR'
            ? 'not a directory'
            : ((e as Error).message ?? String(e));
  // parity: os.PathError ("read" for a directory: Go opens fine, then fails reading)
  return code === 'EISDIR' ? `read ${path}: is a directory` : `open ${path}: ${why}`;
}

/** `required variable not set: <name>` for each required variable without a CLI value, sorted. */
export function requiredVariableErrors(t: Template, cliVars: Record<string, string>): string[] {
  const out: string[] = [];
  for (const v of t.variables.values()) {
    if (v.required && !Object.prototype.hasOwnProperty.call(cliVars, v.key)) {
      out.push(`required variable not set: ${v.key}`); // parity: packer/core.go validate
    }
  }
  return out.sort();
}

const PROTECT_RE = /\{\{(\s|)\.(.*?)(\s|)\}\}/g;
const USER_CALL_RE = /\{\{\s*user\s*`.*`\s*\}\}/;

/** Renders one value, keeping `{{ .X }}` placeholders literally (Packer's RenderRegex). */
function renderProtected(text: string, vars: Record<string, string>, base: VariableRenderBase): string {
  const saved = new Map<string, string>();
  const shielded = text.replace(PROTECT_RE, (m) => {
    const id = randomUUID();
    saved.set(id, m);
    return id;
  });
  let out = render(shielded, {
    userVariables: vars,
    variablesSection: true,
    initTime: base.initTime,
    templatePath: base.templatePath,
    env: base.env,
    data: null,
  });
  for (const [id, m] of saved) out = out.split(id).join(m);
  return out;
}

/**
 * Packer's renderVarsRecursively: the sorted keys of defaults + CLI values (CLI wins) are rendered
 * pass after pass (≤100); values still calling `user` are re-rendered from their original text.
 * Returns the final variable map (including Packer's empty-named variable). Throws UserError.
 */
export function renderVariables(
  t: Template,
  cliVars: Record<string, string>,
  base: VariableRenderBase,
): Record<string, string> {
  const all = new Map<string, string>();
  for (const v of t.variables.values()) if (!v.required) all.set(v.key, v.default);
  for (const [k, v] of Object.entries(cliVars)) all.set(k, v);
  // Quirk (spec §2.3): the key list gains an empty name whenever there are variables.
  if (all.size > 0 && !all.has('')) all.set('', '');
  const keys = [...all.keys()].sort();
  const current: Record<string, string> = { ...cliVars };
  const pending = new Set(keys);
  let failed = '';
  for (let pass = 0; pass < 100; pass++) {
    let retry = false;
    let changed = false;
    for (const k of keys) {
      if (!pending.has(k)) continue;
      const raw = all.get(k) ?? '';
      let rendered: string;
      try {
        rendered = renderProtected(raw, current, base);
      } catch (e) {
        if (!(e instanceof InterpolateError)) throw e;
        if (e.kind === 'parse') {
          throw new UserError(`error interpolating default value for '${k}': ${e.message}`); // parity: packer/core.go
        }
        if (e.message.includes('variable not set')) {
          retry = true;
          failed = `"${k}": "${raw}"; error: ${e.message}`;
          continue;
        }
        throw new UserError(e.message);
      }
      changed = true;
      current[k] = rendered;
      if (USER_CALL_RE.test(raw)) retry = true;
      else pending.delete(k);
    }
    if (!retry) break;
    if (!changed) {
      // parity: packer/core.go renderVarsRecursively
      throw new UserError(
        `Failed to interpolate ${failed}: Please make sure that the variable you're referencing has been defined; Packer treats all variables used to interpolate other user variables as required.`,
      );
    }
  }
  return current;
}
