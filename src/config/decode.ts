/**
 * Decoding a component's raw config layers into a typed config, as Packer's `config.Decode`
 * (packer-plugin-sdk/template/config/decode.go) does with mapstructure: interpolate every string
 * leaf of each layer, decode the layers on top of each other with weak typing and Go durations,
 * then report unknown and deprecated keys. Every failure is a ConfigError carrying Packer's text.
 *
 * Usage (a component's config.ts):
 *
 *   export const fooFields = {
 *     ...communicatorFields,
 *     command: f.string('command', 'Command to run.'),
 *     retries: f.int('retries', 'How often to retry.', { default: 3 }),
 *   };
 *   export type FooConfig = DecodedConfig<typeof fooFields>;
 *   const cfg = decodeConfig(fooFields, raws, { pc, placeholder, exclude: ['execute_command'] });
 *   const problems = new Problems();
 *   if (cfg.command === '') problems.add('command must be specified');
 *   problems.throwIfAny();
 */
import type { GeneratedData, PackerConfig, RawConfig } from '../core/types.js';
import type { InterpolateContext } from '../interpolate/index.js';
import { goQuote } from '../template/go-quote.js';
import { ConfigError, goMultiError } from '../util/errors.js';
import { type Decoded, type Field, type FieldTable, goTypeOf } from './fields.js';
import { defaultEngine, RenderError, renderLayer, setOwn, type TemplateEngine } from './render-walk.js';
import {
  goKindName,
  isPlainObject,
  weakBool,
  WeakDecodeError,
  weakDuration,
  weakFloat,
  weakInt,
  weakString,
  weakTristate,
} from './weak.js';

export { f, fieldDocs, type Decoded, type Field, type FieldDoc, type FieldKind, type FieldTable } from './fields.js';
export { Problems } from './problems.js';
export { defaultEngine, type TemplateEngine } from './render-walk.js';

/** The `packer_*` values every component sees (Packer's common.PackerConfig). */
export interface PackerCommon {
  /** packer_build_name */
  buildName: string;
  /** packer_builder_type */
  builderType: string;
  /** packer_core_version */
  coreVersion: string;
  /** packer_debug */
  debug: boolean;
  /** packer_force */
  force: boolean;
  /** packer_on_error */
  onError: PackerConfig['onError'];
  /** packer_user_variables */
  userVariables: Record<string, string>;
  /** packer_template_path */
  templatePath: string;
  /** packer_sensitive_variables */
  sensitive: string[];
}

/** A decoded config: the table's fields plus the common `packer` values. */
export type DecodedConfig<T extends FieldTable> = Decoded<T> & { packer: PackerCommon };

/** Options of `decodeConfig`. */
export interface DecodeOptions {
  pc: PackerConfig;
  /**
   * Provisioners and post-processors: the prepare-time placeholder map (`placeholderData()`), seen
   * as `.Key` data and by `build`. Builders leave it out (nil data; `build` errors).
   */
  placeholder?: GeneratedData;
  /** Template functions only this component has, e.g. amazon's clean_resource_name. */
  extraFuncs?: InterpolateContext['extraFuncs'];
  /** Top-level keys syntax-checked but not rendered at prepare time (case-insensitive). */
  exclude?: readonly string[];
  /** Deprecated keys of this plugin beyond the global list (e.g. amazon's `shutdown_behaviour`). */
  deprecated?: readonly string[];
  /** Replaces the context built from pc/placeholder/extraFuncs. */
  ctx?: InterpolateContext;
  /** Skip interpolation (layers already rendered). */
  skipInterpolation?: boolean;
  /** The template engine (tests); default: src/interpolate/index.ts. */
  engine?: TemplateEngine;
}

/** A decoding failure: a ConfigError whose message is exactly the text Packer prints. */
export class DecodeError extends ConfigError {
  constructor(problems: string[], message: string) {
    super(problems);
    this.name = 'DecodeError';
    this.message = message;
  }
  /** The same error with `prefix` in front of the message (e.g. `Error decoding config: `). */
  withPrefix(prefix: string): DecodeError {
    return new DecodeError(this.problems, prefix + this.message);
  }
}

/** Deprecated keys for every plugin (`deprecated_options.go`, entry `*`). */
export const GLOBAL_DEPRECATED_KEYS: readonly string[] = [
  'iso_md5',
  'ssh_key_path',
  'ssh_disable_agent',
  'ssh_host_port_min',
  'ssh_host_port_max',
  'ssh_skip_nat_mapping',
  'ssh_wait_timeout',
  'iso_checksum_url',
  'iso_checksum_type',
];

/** Keys of the prepare-time placeholder map every provisioner/post-processor sees (§3.6). */
export const PLACEHOLDER_KEYS: readonly string[] = [
  'ID',
  'Host',
  'Port',
  'User',
  'Password',
  'ConnType',
  'PackerRunUUID',
  'PackerHTTPPort',
  'PackerHTTPIP',
  'PackerHTTPAddr',
  'SSHPublicKey',
  'SSHPrivateKey',
  'WinRMPassword',
];

/** The prepare-time placeholder map: the common keys plus the builder's generated keys. */
export function placeholderData(generatedKeys: readonly string[] = []): GeneratedData {
  const data: GeneratedData = {};
  for (const key of [...PLACEHOLDER_KEYS, ...generatedKeys]) {
    // parity:
    data[key] =
      key === 'WinRMPassword'
        ? '{{.WinRMPassword}}'
        : `Build_${key}. To set this dynamically in the Packer template, you must use the \`build\` function`;
  }
  return data;
}

/** The `packer_*` values of a PackerConfig. */
export function packerCommon(pc: PackerConfig): PackerCommon {
  return {
    buildName: pc.buildName,
    builderType: pc.builderType,
    coreVersion: pc.coreVersion,
    debug: pc.debug,
    force: pc.force,
    onError: pc.onError,
    userVariables: { ...pc.userVariables },
    templatePath: pc.templatePath,
    sensitive: [...pc.sensitive],
  };
}

/**
 * The interpolation context of a component's prepare (§3.4): lenient `user`, build_name,
 * build_type, packer_version "1.6.6"; with a placeholder map it is both `.Key` data and `build`
 * data (provisioners, post-processors); without one, data is nil and `build` errors (builders).
 */
export function interpolationContext(
  pc: PackerConfig,
  placeholder?: GeneratedData,
  extraFuncs?: InterpolateContext['extraFuncs'],
): InterpolateContext {
  return {
    userVariables: pc.userVariables,
    templatePath: pc.templatePath === '' ? undefined : pc.templatePath,
    buildName: pc.buildName,
    buildType: pc.builderType,
    packerVersion: '1.6.6',
    data: placeholder ?? null,
    buildData: placeholder,
    extraFuncs,
    initTime: pc.initTime,
  };
}

interface DecodeState {
  errors: string[];
  unused: string[];
}

/** The zero value of a field (bools start at their default: Go cannot tell absent from false). */
function zeroOf(spec: Field<unknown>): unknown {
  switch (spec.kind) {
    case 'string':
      return '';
    case 'int':
    case 'float':
    case 'duration':
      return 0;
    case 'bool':
      return spec.default ?? false;
    case 'tristate':
    case 'any':
      return undefined;
    case 'strings':
    case 'ints':
    case 'objects':
      return [];
    case 'stringMap':
      return {};
    case 'object':
      return zeroStruct(spec.fields ?? {});
  }
}

function zeroStruct(table: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [prop, spec] of Object.entries(table)) out[prop] = zeroOf(spec);
  return out;
}

function isZero(v: unknown): boolean {
  if (v === undefined || v === '' || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.keys(v).length === 0;
  return false;
}

function applyDefaults(table: FieldTable, obj: Record<string, unknown>): void {
  for (const [prop, spec] of Object.entries(table)) {
    if (spec.kind === 'object') applyDefaults(spec.fields ?? {}, obj[prop] as Record<string, unknown>);
    else if (spec.kind === 'objects') {
      for (const el of obj[prop] as Record<string, unknown>[]) applyDefaults(spec.fields ?? {}, el);
    }
    if (spec.default !== undefined && spec.kind !== 'bool' && isZero(obj[prop])) {
      obj[prop] = structuredClone(spec.default);
    }
  }
}

function catchWeak<V>(st: DecodeState, current: V, fn: () => V): V {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WeakDecodeError) {
      st.errors.push(err.message);
      return current;
    }
    throw err;
  }
}

/** Weak list lifting: a string splits on ",", an empty map is an empty list, one value is a list of one. */
function decodeList(
  name: string,
  data: unknown,
  current: unknown[],
  zero: () => unknown,
  decodeElem: (name: string, data: unknown, current: unknown) => unknown,
): unknown[] {
  let items: unknown[];
  if (typeof data === 'string') items = data === '' ? [] : data.split(',');
  else if (Array.isArray(data)) items = data;
  else if (isPlainObject(data) && Object.keys(data).length === 0) return [];
  else items = [data];
  const out = [...current];
  items.forEach((item, i) => {
    if (i >= out.length) out.push(zero());
    out[i] = decodeElem(`${name}[${i}]`, item, out[i]);
  });
  return out;
}

function decodeStringMap(name: string, data: unknown, current: Record<string, string>, st: DecodeState): Record<string, string> {
  if (Array.isArray(data)) {
    let merged = current;
    data.forEach((el, i) => {
      if (el !== null && el !== undefined) merged = decodeStringMap(`${name}[${i}]`, el, merged, st);
    });
    return merged;
  }
  if (!isPlainObject(data)) {
    st.errors.push(`'${name}' expected a map, got '${goKindName(data)}'`); // parity:
    return current;
  }
  const out: Record<string, string> = { ...current };
  for (const k of Object.keys(data).sort()) {
    const v = data[k];
    // mapstructure names map elements by a reflect.Value of an interface key: literally this.
    const elemName = `${name}[<interface {} Value>]`;
    setOwn(out, k, v === null || v === undefined ? '' : catchWeak(st, '', () => weakString(elemName, v)));
  }
  return out;
}

function decodeValue(spec: Field<unknown>, name: string, data: unknown, current: unknown, st: DecodeState): unknown {
  if (data === null || data === undefined) return current;
  switch (spec.kind) {
    case 'string':
      return catchWeak(st, current, () => weakString(name, data, goTypeOf(spec)));
    case 'int':
      return catchWeak(st, current, () => weakInt(name, data, goTypeOf(spec)));
    case 'float':
      return catchWeak(st, current, () => weakFloat(name, data, goTypeOf(spec)));
    case 'bool':
      return catchWeak(st, current, () => weakBool(name, data));
    case 'tristate':
      return catchWeak(st, current, () => weakTristate(name, data));
    case 'duration':
      return catchWeak(st, current, () => weakDuration(name, data));
    case 'strings':
      return decodeList(name, data, current as unknown[], () => '', (n, d, c) =>
        d === null || d === undefined ? c : catchWeak(st, c, () => weakString(n, d, goTypeOf(spec))),
      );
    case 'ints':
      return decodeList(name, data, current as unknown[], () => 0, (n, d, c) =>
        d === null || d === undefined ? c : catchWeak(st, c, () => weakInt(n, d, goTypeOf(spec))),
      );
    case 'stringMap':
      return decodeStringMap(name, data, current as Record<string, string>, st);
    case 'object':
      return decodeStructValue(spec.fields ?? {}, name, data, current as Record<string, unknown>, st);
    case 'objects':
      return decodeList(name, data, current as unknown[], () => zeroStruct(spec.fields ?? {}), (n, d, c) =>
        decodeStructValue(spec.fields ?? {}, n, d, c as Record<string, unknown>, st),
      );
    case 'any':
      return structuredClone(data);
  }
}

function decodeStructValue(
  table: FieldTable,
  name: string,
  data: unknown,
  current: Record<string, unknown>,
  st: DecodeState,
): Record<string, unknown> {
  if (data === null || data === undefined) return current;
  if (!isPlainObject(data)) {
    st.errors.push(`'${name}' expected a map, got '${goKindName(data)}'`); // parity:
    return current;
  }
  return decodeStruct(table, name, data, current, st);
}

/** mapstructure's struct decode: exact key first, else a case-insensitive match; the rest is unused. */
function decodeStruct(
  table: FieldTable,
  prefix: string,
  data: Record<string, unknown>,
  current: Record<string, unknown>,
  st: DecodeState,
): Record<string, unknown> {
  const keys = Object.keys(data).sort();
  const unused = new Set(keys);
  const out = { ...current };
  for (const [prop, spec] of Object.entries(table)) {
    const lower = spec.key.toLowerCase();
    const key = Object.hasOwn(data, spec.key) ? spec.key : keys.find((k) => k.toLowerCase() === lower);
    if (key === undefined) continue;
    unused.delete(key);
    const own = spec.errorName ?? spec.key;
    out[prop] = decodeValue(spec, prefix ? `${prefix}.${own}` : own, data[key], out[prop], st);
  }
  for (const k of unused) st.unused.push(prefix ? `${prefix}.${k}` : k);
  return out;
}

/** The SDK's message for a deprecated key. */
export function deprecatedKeyMessage(key: string): string {
  // parity:
  return `Deprecated configuration key: '${key}'. Please call \`packer fix\` against your template to update your template to be compatible with the current version of Packer. Visit https://www.packer.io/docs/commands/fix/ for more detail.`;
}

/**
 * Decodes `raws` (template config first, then override layers) with `table`. Throws DecodeError
 * (a ConfigError) with Packer's exact text: the first template error (`invalid 'k': … in:\n\n…` /
 * `render 'k': …`), else the type errors of the first failing layer (`N error(s) decoding:\n\n* …`,
 * sorted), else unknown/deprecated keys (go-multierror format, sorted). Has no side effects.
 */
export function decodeConfig<T extends FieldTable>(table: T, raws: readonly RawConfig[], opts: DecodeOptions): DecodedConfig<T> {
  const ctx = opts.ctx ?? interpolationContext(opts.pc, opts.placeholder, opts.extraFuncs);
  let layers: readonly RawConfig[] = raws;
  if (!opts.skipInterpolation) {
    const engine = opts.engine ?? defaultEngine();
    try {
      layers = raws.map((raw) => renderLayer(raw, ctx, opts.exclude ?? [], engine));
    } catch (err) {
      if (err instanceof RenderError) throw new DecodeError([err.message], err.message);
      throw err;
    }
  }

  const st: DecodeState = { errors: [], unused: [] };
  let value = zeroStruct(table);
  for (const layer of layers) {
    value = decodeStruct(table, '', layer, value, st);
    if (st.errors.length > 0) {
      const errors = [...st.errors].sort();
      // parity: mapstructure.Error
      throw new DecodeError(errors, `${errors.length} error(s) decoding:\n\n${errors.map((e) => `* ${e}`).join('\n')}`);
    }
  }

  const deprecated = new Set([...GLOBAL_DEPRECATED_KEYS, ...(opts.deprecated ?? [])]);
  const unknown: string[] = [];
  for (const key of [...st.unused].sort()) {
    if (key === 'type' || key.startsWith('packer_')) continue;
    if (deprecated.has(key)) unknown.push(deprecatedKeyMessage(key));
    else unknown.push(`unknown configuration key: '${goQuote(key)}'`); // parity: fmt "'%q'"
  }
  if (unknown.length > 0) throw new DecodeError(unknown, goMultiError(unknown));

  applyDefaults(table, value);
  return { ...(value as Decoded<T>), packer: packerCommon(opts.pc) };
}
