/**
 * Deterministic mutators for fuzzing templates, var files and command lines: a seeded PRNG,
 * byte-level edits of JSON text and structural edits of decoded JSON values.
 */

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;

export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rand, n: number): number => Math.floor(r() * n);

const TOKENS = [
  '{', '}', '[', ']', '"', ',', ':', 'null', 'true', '1e999', '-', '0.', '\\u00', '\\', '\n', '\t', '\u0000',
  '{{', '}}', '{{user `x`}}', '{{ .HTTPIP }}', '{{env `HOME`}}', '{{timestamp}}', '{{build `ID`}}', '{{if}}',
  '{{split "a-b" "-" 9}}', '{{user `', '"_c": 5,', '"type": "null",', '"only": 5,', '"pause_before": "x",',
  '"max_retries": "{{user `n`}}",', '"variables": {"a": null},', 'é', '\u2028', '"builders": [],',
];

const KEYS = [
  'builders', 'provisioners', 'post-processors', 'variables', 'sensitive-variables', 'min_packer_version',
  'description', 'error-cleanup-provisioner', 'push', 'comments', 'rawcontents', '_c', 'type', 'name', 'only',
  'except', 'override', 'pause_before', 'timeout', 'max_retries', 'keep_input_artifact', 'config', 'inline',
  'communicator', 'content', 'target', 'output', 'BUILDERS', 'Type', '',
];

const TYPES = ['null', 'file', 'shell-local', 'breakpoint', 'sleep', 'manifest', 'checksum', 'compress', 'nope', ''];

/** A random JSON-ish value of small depth. */
export function randomValue(r: Rand, depth = 0): unknown {
  const k = int(r, depth > 2 ? 6 : 9);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, [0, -1, 1.5, 1e21, 5, 1e-7, 2 ** 53]);
    case 3:
      return pick(r, TOKENS);
    case 4:
      return pick(r, TYPES);
    case 5:
      return pick(r, ['1s', '5m', '1h30m', 'abc', '', '{{user `v`}}', '9.9.9', '1.0.0', 'v1', '-1']);
    case 6:
      return Array.from({ length: int(r, 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(r, 4); i > 0; i--) o[pick(r, KEYS)] = randomValue(r, depth + 1);
      if (r() < 0.5) o.type = pick(r, TYPES);
      return o;
    }
  }
}

/** Replaces, deletes or inserts something at a random place inside a decoded JSON value. */
export function mutateValue(r: Rand, v: unknown, depth = 0): unknown {
  if (depth > 6 || r() < 0.25) return randomValue(r, depth);
  if (Array.isArray(v)) {
    const out = [...v];
    const op = int(r, 3);
    if (op === 0 && out.length) out.splice(int(r, out.length), 1);
    else if (op === 1) out.splice(int(r, out.length + 1), 0, randomValue(r, depth + 1));
    else if (out.length) {
      const i = int(r, out.length);
      out[i] = mutateValue(r, out[i], depth + 1);
    }
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    const op = int(r, 4);
    if (op === 0 && keys.length) delete o[pick(r, keys)];
    else if (op === 1) o[pick(r, KEYS)] = randomValue(r, depth + 1);
    else if (keys.length) {
      const k = pick(r, keys);
      o[k] = mutateValue(r, o[k], depth + 1);
    }
    return o;
  }
  return randomValue(r, depth);
}

/** Byte-level edits of text: flips, deletions, duplications, token insertions. */
export function mutateText(r: Rand, text: string): string {
  let s = text;
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const i = int(r, s.length + 1);
    switch (int(r, 5)) {
      case 0:
        s = s.slice(0, i) + pick(r, TOKENS) + s.slice(i);
        break;
      case 1:
        s = s.slice(0, i) + s.slice(i + 1 + int(r, 8));
        break;
      case 2: {
        const j = Math.min(s.length, i + int(r, 20));
        s = s.slice(0, j) + s.slice(i, j) + s.slice(j);
        break;
      }
      case 3:
        s = s.slice(0, i) + String.fromCharCode(int(r, 128)) + s.slice(i + 1);
        break;
      default:
        s = s.slice(0, i);
    }
  }
  return s;
}

/** A mutated command line for one of kiln's commands; the template path is `tpl`. */
export function mutateArgs(r: Rand, tpl: string, varFile: string): string[] {
  const cmd = pick(r, ['validate', 'validate', 'validate', 'inspect', 'console', 'fix', 'version']);
  const args: string[] = [cmd];
  const flags = [
    '-syntax-only', '-syntax-only=false', '-syntax-only=maybe', '-var', 'a=b', '-var=novalue', '-var=x={{user `a`}}',
    '-var-file', varFile, `-var-file=${varFile}`, '-var-file=/nonexistent.json', '-only=null', '-except=null,x',
    '--only', 'a', '-foo', '--', '-', '-h', '-machine-readable', '-validate=false', '-=x', '---x', '-on-error=abort',
  ];
  for (let n = int(r, 4); n > 0; n--) args.push(pick(r, flags));
  if (r() < 0.95) args.push(tpl);
  if (r() < 0.05) args.push('extra');
  return args;
}
