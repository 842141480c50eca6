/**
 * User variables (spec §2): required-variable checks and Packer's multi-pass rendering
 * of defaults and command-line values (packer/core.go renderVarsRecursively), `{{ .X }}` kept.
 */
import { randomUUID } from 'node:crypto';
import { render, InterpolateError } from '../interpolate/index.js';
import { UserError } from '../util/errors.js';
import type { Template } from './types.js';

export { readVarFile, readVarFiles, goOpenError } from './var-files.js';

/** Rendering inputs besides the values. */
export interface VariableRenderBase {
  initTime: Date;
  templatePath?: string;
  env?: Record<string, string | undefined>;
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
