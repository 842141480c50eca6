/**
 * `-var-file` reading (Packer's command/flag-kv FlagJSON): a JSON object of strings decoded with
 * json.Decoder semantics and Go's error texts. Kept apart from variable rendering so that
 * `validate -syntax-only` does not load the interpolation engine.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../util/errors.js';
import { decodeGoJson, GoJsonError } from './go-json.js';

/**
 * Reads one `-var-file` (JSON object of strings, Go json.Decoder semantics). Errors are the texts
 * the flag package reports after `invalid value "<path>" for flag -var-file: `.
 */
export async function readVarFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const msg = goOpenError(path, e);
    // Go opens a directory fine and fails reading it, inside the decoder.
    if ((e as { code?: string }).code === 'EISDIR') throw new UserError(`Error reading variables in '${path}': ${msg}`);
    throw new UserError(msg);
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
