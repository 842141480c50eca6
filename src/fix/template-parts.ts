/**
 * How Packer's fixers (fix/fixer_*.go) read and write a template's sections: each fixer
 * mapstructure-decodes `builders` into `[]map[string]interface{}` (so a missing section is written
 * back as `"builders": null`), and `provisioners` / `post-processors` into `[]interface{}`.
 */
import { UserError } from '../util/errors.js';
import { goKindName } from '../config/weak.js';

/** A JSON object of the template. */
export type JsonMap = Record<string, unknown>;

/**
 * `packer fix` failed. `message` is the full line Packer prints (`Error fixing: <detail>` or
 * `Error parsing template: <detail>`); the CLI prints it and exits 1.
 */
export class FixError extends UserError {
  readonly detail: string;
  constructor(detail: string, prefix = 'Error fixing: ') {
    super(prefix + detail); // parity:
    this.name = 'FixError';
    this.detail = detail;
  }
}

export const isMap = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);

/** mapstructure's field lookup: the exact key first, else the first case-insensitive match. */
function lookup(input: JsonMap, key: string): unknown {
  if (Object.hasOwn(input, key)) return input[key];
  const lower = key.toLowerCase();
  const found = Object.keys(input)
    .sort()
    .find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : input[found];
}

function decodingError(detail: string): FixError {
  return new FixError(`1 error(s) decoding:\n\n* ${detail}`); // parity: mapstructure.Error
}

/**
 * Decodes `builders` like `mapstructure.Decode(input, &struct{ Builders []map[string]interface{} })`:
 * absent → null; each element is a shallow copy. Throws mapstructure's errors for other shapes.
 */
export function readBuilders(input: JsonMap): JsonMap[] | null {
  const raw = lookup(input, 'Builders');
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) throw decodingError(`'Builders': source data must be an array or slice, got ${goKindName(raw)}`);
  return raw.map((el, i) => {
    if (el === null) return el as unknown as JsonMap;
    if (!isMap(el)) throw decodingError(`'Builders[${i}]' expected a map, got '${goKindName(el)}'`);
    return { ...el };
  });
}

/** Runs `fn` on every builder (maps only) and writes the section back as Go does. */
export function eachBuilder(input: JsonMap, fn: (b: JsonMap, type: string | undefined) => void): JsonMap {
  const builders = readBuilders(input);
  for (const b of builders ?? []) {
    if (b === null) continue;
    fn(b, typeof b.type === 'string' ? b.type : undefined);
  }
  input.builders = builders;
  return input;
}

/**
 * Runs `fn` on shallow copies of the provisioner objects and writes the list back to
 * `provisioners`; a single value becomes a list (weak decoding); no section, no change.
 */
export function eachProvisioner(input: JsonMap, fn: (p: JsonMap) => void): JsonMap {
  const raw = lookup(input, 'provisioners');
  if (raw === undefined || raw === null) return input;
  const list = (Array.isArray(raw) ? raw : [raw]).map((p) => (isMap(p) ? { ...p } : p));
  for (const p of list) if (isMap(p)) fn(p);
  input.provisioners = list;
  return input;
}

/**
 * Every post-processor object, including those inside sequences; `post-processors` must be a
 * list (mapstructure's strict error otherwise).
 */
export function eachPostProcessor(input: JsonMap, fn: (pp: JsonMap) => void): JsonMap {
  const raw = lookup(input, 'post-processors');
  if (raw === undefined || raw === null) return input;
  if (!Array.isArray(raw)) throw decodingError(`'post-processors': source data must be an array or slice, got ${goKindName(raw)}`);
  for (const el of raw) {
    if (isMap(el)) fn(el);
    else if (Array.isArray(el)) for (const inner of el) if (isMap(inner)) fn(inner);
  }
  input['post-processors'] = raw;
  return input;
}

/** Moves `from` to `to` when `from` is present (and passes `accept`); an existing `to` is kept unless `overwrite`. */
export function renameKey(
  m: JsonMap,
  from: string,
  to: string,
  opts: { overwrite?: boolean; accept?: (v: unknown) => boolean } = {},
): void {
  if (!Object.hasOwn(m, from)) return;
  const v = m[from];
  if (opts.accept && !opts.accept(v)) return;
  if (opts.overwrite || !Object.hasOwn(m, to)) m[to] = v;
  delete m[from];
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
