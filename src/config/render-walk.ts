/**
 * Interpolation of one raw config layer before typing, as Packer's `config.Decode` does with
 * `interpolate.RenderMap`: every string leaf at any depth and every key of a nested object is
 * syntax-checked, then — unless its top-level key is excluded — rendered single-pass.
 */
import { InterpolateError, render, validateTemplate, type InterpolateContext } from '../interpolate/index.js';
import type { RawConfig } from '../core/types.js';

/** The two engine entry points decoding needs (tests may substitute a stand-in). */
export interface TemplateEngine {
  render(text: string, ctx: InterpolateContext): string;
  validateTemplate(text: string, ctx?: Pick<InterpolateContext, 'extraFuncs'>): void;
}

const ENGINE: TemplateEngine = { render, validateTemplate };

/** The engine of src/interpolate. */
export function defaultEngine(): TemplateEngine {
  return ENGINE;
}

/** A template error found while rendering a layer; `message` is Packer's full text. */
export class RenderError extends Error {}

function goErrorText(err: unknown): string {
  if (err instanceof InterpolateError) return err.message;
  throw err;
}

/** Sets an own enumerable property, even for keys like `__proto__`. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

interface WalkState {
  engine: TemplateEngine;
  ctx: InterpolateContext;
  topKey: string;
  render: boolean;
}

function walkString(s: string, st: WalkState): string {
  try {
    st.engine.validateTemplate(s, st.ctx);
  } catch (err) {
    throw new RenderError(`invalid '${st.topKey}': ${goErrorText(err)} in:\n\n${s}`); // parity:
  }
  if (!st.render) return s;
  try {
    return st.engine.render(s, st.ctx);
  } catch (err) {
    throw new RenderError(`render '${st.topKey}': ${goErrorText(err)} in:\n\n${s}`); // parity:
  }
}

function walkValue(v: unknown, st: WalkState): unknown {
  if (typeof v === 'string') return walkString(v, st);
  if (Array.isArray(v)) return v.map((e) => walkValue(e, st));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      setOwn(out, walkString(k, st), walkValue((v as Record<string, unknown>)[k], st));
    }
    return out;
  }
  return v;
}

/**
 * Returns a rendered copy of `raw`. Top-level keys are not rendered; keys in `exclude`
 * (case-insensitive) are only syntax-checked. Throws RenderError on the first failure.
 */
export function renderLayer(raw: RawConfig, ctx: InterpolateContext, exclude: readonly string[], engine: TemplateEngine): RawConfig {
  const excluded = new Set(exclude.map((k) => k.toLowerCase()));
  const out: RawConfig = {};
  for (const key of Object.keys(raw).sort()) {
    const st: WalkState = { engine, ctx, topKey: key, render: !excluded.has(key.toLowerCase()) };
    setOwn(out, key, walkValue(raw[key], st));
  }
  return out;
}
