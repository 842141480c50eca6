/**
 * Packer 1.6.6's legacy JSON template parser (packer-plugin-sdk/template/parse.go): Go JSON errors
 * with highlightPosition, duplicate keys, case-insensitive root keys, `_` comments, unknown root
 * keys, then builders, provisioners and post-processor chains with Packer's error texts.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError, goMultiError } from '../util/errors.js';
import type { RawConfig } from '../core/types.js';
import { decodeGoJson, GoJsonError, highlightPosition, type JsonPos } from './go-json.js';
import { goKindName } from './go-fmt.js';
import {
  FieldErrors,
  decodeBoolStrict,
  decodeDurationWeak,
  decodeMap,
  decodeString,
  decodeStringSlice,
  findKey,
} from './mapstructure.js';
import { goQuote } from './go-quote.js';
import type {
  SourcePos,
  Template,
  TemplateBuilder,
  TemplatePostProcessor,
  TemplateProvisioner,
  TemplateVariable,
} from './types.js';

/** Thrown for any parse failure; the message is `Failed to parse template: <Packer's error>`. */
export class TemplateParseError extends UserError {
  /** Packer's error text without the `Failed to parse template: ` prefix. */
  readonly detail: string;
  constructor(detail: string) {
    super(`Failed to parse template: ${detail}`); // parity: command/meta.go
    this.name = 'TemplateParseError';
    this.detail = detail;
  }
}

/** Root fields as mapstructure names them (tag, else Go field name; matched case-insensitively). */
const ROOT_FIELDS = [
  'min_packer_version',
  'Description',
  'builders',
  'Comments',
  'Push',
  'post-processors',
  'Provisioners',
  'error-cleanup-provisioner',
  'Variables',
  'sensitive-variables',
  'RawContents',
] as const;

/**
 * Reads and parses a template file. A missing file gives Packer's stat error; every other problem
 * a TemplateParseError. The returned template's `path` is absolute.
 */
export async function parseTemplateFile(path: string): Promise<Template> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'not a directory' : String((e as Error).message);
    // parity: command/meta.go stat error
    throw new UserError(`${goQuote(path)}: stat ${path}: ${why}`);
  }
  if (isDir) {
    throw new UserError(`Cannot read template ${goQuote(path)}: it is a directory (an HCL2 configuration); kiln reads legacy JSON template files only`);
  }
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EISDIR') throw new TemplateParseError(`read ${path}: is a directory`);
    throw new TemplateParseError(`open ${path}: ${code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  const t = parseTemplate(buf);
  t.path = resolve(path);
  return t;
}

/** Parses template bytes (Packer's template.Parse). Throws TemplateParseError. */
export function parseTemplate(input: Buffer | string): Template {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let decoded;
  try {
    decoded = decodeGoJson(buf);
  } catch (e) {
    if (!(e instanceof GoJsonError)) throw e;
    if (!e.isSyntax) throw new TemplateParseError(e.goMessage);
    const h = highlightPosition(buf, e.offset);
    // parity: template/parse.go
    throw new TemplateParseError(
      `Error parsing JSON: ${e.goMessage}\nAt line ${h.line}, column ${h.column} (offset ${e.offset}):\n${h.excerpt}`,
    );
  }
  if (decoded.duplicateKey !== undefined) {
    throw new TemplateParseError(`template has duplicate field: ${decoded.duplicateKey}`); // parity:
  }
  const positions = decoded.positions;
  const posOf = (v: unknown): SourcePos | undefined => {
    if (v === null || typeof v !== 'object') return undefined;
    const p: JsonPos | undefined = positions.get(v);
    return p ? { line: p.line, column: p.column } : undefined;
  };
  const t: Template = {
    description: '',
    minVersion: '',
    comments: {},
    variables: new Map(),
    sensitiveVariables: [],
    builders: new Map(),
    provisioners: [],
    postProcessors: [],
    rawContents: buf.toString('utf8'),
  };
  const root = decoded.value;
  if (root === null) return t;
  if (typeof root !== 'object' || Array.isArray(root)) {
    throw new TemplateParseError(`'' expected a map, got '${goKindName(root)}'`); // parity: mapstructure
  }
  const rootObj = root as Record<string, unknown>;
  const used = new Set<string>();
  const get = (field: string): unknown => {
    const k = findKey(rootObj, field);
    if (k === undefined) return undefined;
    used.add(k);
    return rootObj[k];
  };
  const values = Object.fromEntries(ROOT_FIELDS.map((f) => [f, get(f)])) as Record<(typeof ROOT_FIELDS)[number], unknown>;
  const errs = new FieldErrors();
  t.minVersion = decodeString('min_packer_version', values.min_packer_version, false, errs);
  t.description = decodeString('Description', values.Description, false, errs);
  const builders = decodeSlice('builders', values.builders, errs);
  decodeComments(values.Comments, errs);
  decodeMap('Push', values.Push, errs);
  const pps = decodeSlice('post-processors', values['post-processors'], errs);
  const provs = decodeSlice('Provisioners', values.Provisioners, errs);
  const variables = decodeMap('Variables', values.Variables, errs);
  t.sensitiveVariables = decodeStringSlice('sensitive-variables', values['sensitive-variables'], false, errs);
  if (values.RawContents !== undefined && values.RawContents !== null && !Array.isArray(values.RawContents)) {
    errs.add(`'RawContents': source data must be an array or slice, got ${goKindName(values.RawContents)}`);
  }
  const rootErr = errs.message();
  if (rootErr) throw new TemplateParseError(rootErr);

  const unused = Object.keys(rootObj)
    .filter((k) => !used.has(k))
    .sort();
  const unknown: string[] = [];
  for (const k of unused) {
    if (k.startsWith('_')) {
      const v = rootObj[k];
      // parity: template/parse.go
      if (typeof v !== 'string') throw new TemplateParseError(`Failed to cast root level comment value in comment "${k}" to string.`);
      t.comments[k] = v;
      continue;
    }
    unknown.push(`Unknown root level key in template: '${k}'`); // parity:
  }
  if (unknown.length) throw new TemplateParseError(goMultiError(unknown));

  const problems: string[] = [];
  for (const [k, v] of Object.entries(variables ?? {})) {
    const verrs = new FieldErrors();
    const def = decodeString('', v, false, verrs);
    if (verrs.errors.length) {
      problems.push(`variable ${k}: ${verrs.errors[0]}`);
      continue;
    }
    const tv: TemplateVariable = { key: k, default: def, required: v === null };
    t.variables.set(k, tv);
  }
  builders.forEach((raw, i) => {
    const r = parseBuilder(raw, i, t);
    if (typeof r === 'string') problems.push(r);
    else t.builders.set(r.name, { ...r, pos: posOf(raw) });
  });
  pps.forEach((raw, i) => {
    const r = parseChain(raw, i, posOf);
    if (Array.isArray(r) && r.every((x) => typeof x !== 'string')) t.postProcessors.push(r as TemplatePostProcessor[]);
    else problems.push(...(Array.isArray(r) ? (r as string[]) : [r]));
  });
  provs.forEach((raw, i) => {
    const r = parseProvisioner(raw);
    if (typeof r === 'string') problems.push(`provisioner ${i + 1}: ${r}`);
    else t.provisioners.push({ ...r, pos: posOf(raw) });
  });
  const cleanup = get('error-cleanup-provisioner');
  if (cleanup !== undefined && cleanup !== null) {
    const r = parseProvisioner(cleanup);
    if (typeof r === 'string') problems.push(`On Error Cleanup Provisioner error: ${r}`);
    else t.cleanupProvisioner = { ...r, pos: posOf(cleanup) };
  }
  if (problems.length) throw new TemplateParseError(goMultiError(problems));
  return t;
}

function decodeSlice(name: string, v: unknown, errs: FieldErrors): unknown[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v;
  errs.add(`'${name}': source data must be an array or slice, got ${goKindName(v)}`);
  return [];
}

function decodeComments(v: unknown, errs: FieldErrors): void {
  if (v === null || v === undefined) return;
  if (!Array.isArray(v)) {
    errs.add(`'Comments': source data must be an array or slice, got ${goKindName(v)}`);
    return;
  }
  v.forEach((item, i) => {
    const m = decodeMap(`Comments[${i}]`, item, errs);
    for (const [k, val] of Object.entries(m ?? {})) decodeString(`Comments[${i}][${k}]`, val, false, errs);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A builder, or the error text (already prefixed `builder <i>: `). */
function parseBuilder(raw: unknown, i: number, t: Template): Omit<TemplateBuilder, 'pos'> | string {
  const prefix = `builder ${i + 1}: `;
  if (raw === null || raw === undefined) return `${prefix}missing 'type'`; // kiln: Packer 1.6.6 panics here
  if (!isObject(raw)) return `${prefix}'' expected a map, got '${goKindName(raw)}'`;
  const errs = new FieldErrors();
  const name = fieldString(raw, 'Name', errs);
  const type = fieldString(raw, 'Type', errs);
  const cfgKey = findKey(raw, 'Config');
  if (cfgKey !== undefined) decodeMap('Config', raw[cfgKey], errs, true);
  const msg = errs.message();
  if (msg) return prefix + msg;
  const config: RawConfig = {};
  for (const [k, v] of Object.entries(raw)) if (k !== 'name' && k !== 'type') config[k] = v;
  if (type === '') return `${prefix}missing 'type'`; // parity:
  const finalName = name === '' ? type : name;
  if (t.builders.has(finalName)) return `${prefix}builder with name '${finalName}' already exists`; // parity:
  return { name: finalName, type, config };
}

function fieldString(raw: Record<string, unknown>, field: string, errs: FieldErrors, weak = true): string {
  const k = findKey(raw, field);
  return k === undefined ? '' : decodeString(field, raw[k], weak, errs);
}

const PROVISIONER_META = new Set(['type', 'only', 'except', 'override', 'pause_before', 'max_retries', 'timeout']);

/** Packer's decodeProvisioner: the provisioner, or the error text (unprefixed). */
function parseProvisioner(raw: unknown): Omit<TemplateProvisioner, 'pos'> | string {
  if (raw === null || raw === undefined) return `Provisioner missing 'type'`;
  if (!isObject(raw)) return `Error decoding provisioner: '' expected a map, got '${goKindName(raw)}'`; // parity:
  const errs = new FieldErrors();
  const at = (f: string): unknown => {
    const k = findKey(raw, f);
    return k === undefined ? undefined : raw[k];
  };
  const only = decodeStringSlice('Only', at('Only'), true, errs);
  const except = decodeStringSlice('Except', at('Except'), true, errs);
  const type = decodeString('Type', at('Type'), true, errs);
  if (at('Config') !== undefined) decodeMap('Config', at('Config'), errs, true);
  const override = decodeMap('Override', at('Override'), errs, true);
  const pauseNs = decodeDurationWeak('pause_before', at('pause_before'), errs);
  const maxRetries = decodeString('max_retries', at('max_retries'), true, errs);
  const timeoutNs = decodeDurationWeak('timeout', at('timeout'), errs);
  const msg = errs.message();
  if (msg) return `Error decoding provisioner: ${msg}`; // parity:
  if (type === '') return `Provisioner missing 'type'`; // parity:
  const config: RawConfig = {};
  for (const [k, v] of Object.entries(raw)) if (!PROVISIONER_META.has(k)) config[k] = v;
  return {
    type,
    only,
    except,
    override: override as Record<string, RawConfig> | undefined,
    pauseBeforeMs: Number(pauseNs) / 1e6,
    timeoutMs: Number(timeoutNs) / 1e6,
    maxRetries,
    config,
  };
}

const PP_META = new Set(['type', 'name', 'only', 'except', 'keep_input_artifact']);

/** One post-processor chain, or error texts (prefixed). */
function parseChain(
  raw: unknown,
  i: number,
  posOf: (v: unknown) => SourcePos | undefined,
): TemplatePostProcessor[] | string[] | string {
  let items: Array<Record<string, unknown>>;
  if (typeof raw === 'string') items = [{ type: raw }];
  else if (isObject(raw)) items = [raw];
  else if (Array.isArray(raw)) {
    const errs: string[] = [];
    items = [];
    raw.forEach((item, j) => {
      const where = `post-processor ${i + 1}.${j + 1}`;
      if (typeof item === 'string') items.push({ type: item });
      else if (isObject(item)) items.push(item);
      else if (Array.isArray(item)) errs.push(`${where}: sequence not allowed to be nested in a sequence`); // parity:
      else errs.push(`${where}: unknown format`); // parity:
    });
    if (errs.length) return errs;
  } else {
    return `post-processor ${i + 1}: bad format`; // parity:
  }
  const out: Array<TemplatePostProcessor | string> = [];
  items.forEach((item, j) => {
    const where = `post-processor ${i + 1}.${j + 1}`;
    const errs = new FieldErrors();
    const at = (f: string): unknown => {
      const k = findKey(item, f);
      return k === undefined ? undefined : item[k];
    };
    const only = decodeStringSlice('Only', at('Only'), false, errs);
    const except = decodeStringSlice('Except', at('Except'), false, errs);
    const type = decodeString('Type', at('Type'), false, errs);
    const name = decodeString('Name', at('Name'), false, errs);
    const keep = decodeBoolStrict('keep_input_artifact', at('keep_input_artifact'), errs);
    if (at('Config') !== undefined) decodeMap('Config', at('Config'), errs);
    const msg = errs.message();
    if (msg) return out.push(`${where}: ${msg}`);
    if (type === '') return out.push(`${where}: type is required`); // parity:
    const config: RawConfig = {};
    for (const [k, v] of Object.entries(item)) if (!PP_META.has(k)) config[k] = v;
    out.push({ type, name: name || type, only, except, keepInputArtifact: keep, config, pos: posOf(item) });
  });
  const errors = out.filter((x): x is string => typeof x === 'string');
  return errors.length ? errors : (out as TemplatePostProcessor[]);
}
