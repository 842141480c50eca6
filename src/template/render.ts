/**
 * Core-context renders (spec §3.4): build names and provisioner `max_retries`, fixed-point, with
 * lenient `user`, no env, nil data and no build_name/build_type/packer_version.
 */
import { renderFixedPoint, type InterpolateContext } from '../interpolate/index.js';
import { UserError } from '../util/errors.js';
import type { Template } from './types.js';

/** What every core render needs besides the variables. */
export interface CoreRenderBase {
  initTime: Date;
  templatePath?: string;
}

function coreContext(vars: Record<string, string>, base: CoreRenderBase): InterpolateContext {
  return { userVariables: vars, initTime: base.initTime, templatePath: base.templatePath, data: null };
}

/**
 * Renders every builder name; returns rendered name → raw name, sorted by rendered name (two
 * builders rendering to the same name collapse to the later one, as in Packer).
 */
export function renderBuildNames(
  t: Template,
  vars: Record<string, string>,
  base: CoreRenderBase,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of t.builders.keys()) {
    let name: string;
    try {
      name = renderFixedPoint(raw, coreContext(vars, base));
    } catch (e) {
      // parity: packer/core.go init
      throw new UserError(`Error interpolating builder '${raw}': ${(e as Error).message}`);
    }
    out.set(name, raw);
  }
  return new Map([...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** Renders and parses `max_retries` ('' → 0) with Packer's error texts (UserError). */
export function renderMaxRetries(text: string, vars: Record<string, string>, base: CoreRenderBase): number {
  if (text === '') return 0;
  let rendered: string;
  try {
    rendered = renderFixedPoint(text, coreContext(vars, base));
  } catch (e) {
    throw new UserError(`failed to interpolate \`max_retries\`: ${(e as Error).message}`); // parity: packer/core.go
  }
  const n = goAtoi(rendered);
  if (n === undefined) {
    // parity: packer/core.go + strconv.Atoi
    throw new UserError(`\`max_retries\` must be a valid integer: strconv.Atoi: parsing ${JSON.stringify(rendered)}: invalid syntax`);
  }
  return n;
}

/** strconv.Atoi for the common cases: optional sign, decimal digits. */
function goAtoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}
