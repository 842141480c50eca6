/** Packer's template functions (packer-plugin-sdk template/interpolate/funcs.go, Packer 1.6.6). */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type FuncDef, FuncError } from './funcdef.js';
import { RFC3339, formatGoTime } from './go-time.js';
import type { InterpolateContext } from './index.js';
import { httpGetSync } from './remote.js';
import { strftime } from './strftime.js';
import { fromJs, type GoValue } from './value.js';

const fail = (msg: string): never => {
  throw new FuncError(msg);
};

/** The `build` placeholder sentence's tail (packerbuilderdata.PlaceholderMsg). */
const PLACEHOLDER_MSG = 'To set this dynamically in the Packer template, you must use the `build` function';

/** Go's strings.Split. */
function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

/** Go's strings.Replace (n < 0: all). */
function goReplace(s: string, old: string, repl: string, n: number): string {
  if (old === repl || n === 0) return s;
  if (old === '') {
    const chars = [...s];
    const max = n < 0 ? chars.length + 1 : Math.min(n, chars.length + 1);
    let out = '';
    for (let i = 0; i < chars.length; i++) out += (i < max ? repl : '') + chars[i];
    return out + (chars.length < max ? repl : '');
  }
  let out = '';
  let rest = s;
  for (let done = 0; n < 0 || done < n; done++) {
    const i = rest.indexOf(old);
    if (i < 0) break;
    out += rest.slice(0, i) + repl;
    rest = rest.slice(i + old.length);
  }
  return out + rest;
}

/** Unicode simple case mapping, rune by rune (Go's strings.ToUpper/ToLower keep ß etc.). */
function mapCase(s: string, upper: boolean): string {
  let out = '';
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    // Go maps rune by rune: a multi-rune full mapping (ß → SS) is not applied; İ lowers to i.
    out += [...m].length === 1 ? m : upper ? ch : String.fromCodePoint(m.codePointAt(0) as number);
  }
  return out;
}

/** uuid.TimeOrderedUUID: 8 hex digits of the current Unix seconds, then 24 random hex digits. */
function timeOrderedUUID(): string {
  const secs = (Math.floor(Date.now() / 1000) >>> 0).toString(16).padStart(8, '0');
  const r = randomBytes(12).toString('hex');
  return `${secs}-${r.slice(0, 4)}-${r.slice(4, 8)}-${r.slice(8, 12)}-${r.slice(12)}`;
}

function consulKey(key: string, env: Record<string, string | undefined>): string {
  let addr = env.CONSUL_HTTP_ADDR || '127.0.0.1:8500';
  let scheme = env.CONSUL_HTTP_SSL === 'true' || env.CONSUL_HTTP_SSL === '1' ? 'https' : 'http';
  const m = /^(https?):\/\/(.*)$/.exec(addr);
  if (m) [scheme, addr] = [m[1], m[2]];
  const url = `${scheme}://${addr}/v1/kv/${key.replace(/^\//, '')}`;
  const headers: Record<string, string> = {};
  if (env.CONSUL_HTTP_TOKEN) headers['X-Consul-Token'] = env.CONSUL_HTTP_TOKEN;
  const insecure = env.CONSUL_HTTP_SSL_VERIFY === 'false' || env.CONSUL_HTTP_SSL_VERIFY === '0';
  const r = httpGetSync(url, headers, { insecure, timeoutMs: 5000 });
  if (r.error) fail(`error reading consul key: ${r.error}`); // parity: prefix
  if (r.status === 404) fail(`key does not exist at the given path: ${key}`); // parity:
  if (r.status !== 200)
    fail(`error reading consul key: Unexpected response code: ${r.status} (${(r.body ?? '').trim()})`);
  let value = '';
  try {
    const entries = JSON.parse(r.body ?? '[]') as { Value?: string | null }[];
    if (entries.length === 0) fail(`key does not exist at the given path: ${key}`);
    value = Buffer.from(entries[0].Value ?? '', 'base64').toString('utf8');
  } catch (e) {
    if (e instanceof FuncError) throw e;
    fail(`error reading consul key: ${(e as Error).message}`);
  }
  if (value === '') fail(`value is empty at path ${key}`); // parity:
  return value;
}

function vaultRead(p: string, key: string, env: Record<string, string | undefined>): string {
  const token = env.VAULT_TOKEN ?? '';
  if (token === '') fail('Must set VAULT_TOKEN env var in order to use vault template function'); // parity:
  const addr = (env.VAULT_ADDR || 'https://127.0.0.1:8200').replace(/\/+$/, '');
  const url = `${addr}/v1/${p.replace(/^\//, '')}`;
  const insecure = env.VAULT_SKIP_VERIFY === 'true' || env.VAULT_SKIP_VERIFY === '1';
  const r = httpGetSync(url, { 'X-Vault-Token': token }, { insecure, timeoutMs: 5000 });
  if (r.error) fail(`Error reading vault secret: ${r.error}`);
  let body: { data?: Record<string, unknown> | null; warnings?: string[] | null; errors?: string[] } = {};
  try {
    body = JSON.parse(r.body || '{}') as typeof body;
  } catch {
    // non-JSON body: handled by the status checks below
  }
  if (r.status === 404 && !body.data) fail('Vault Secret does not exist at the given path'); // parity:
  if (r.status !== 200 && r.status !== 204 && r.status !== 404) {
    const errs = (body.errors ?? []).map((e) => `* ${e}`).join('\n');
    fail(
      `Error reading vault secret: Error making API request.\n\nURL: GET ${url}\nCode: ${r.status}. Errors:\n\n${errs}`,
    );
  }
  const data = body.data ?? {};
  if (!('data' in data)) {
    if (key in data) return String(data[key]);
    fail(`Vault data was empty at the given path. Warnings: ${(body.warnings ?? []).join('; ')}`); // parity:
  }
  const inner = (data.data ?? {}) as Record<string, unknown>;
  if (key in inner) return String(inner[key]);
  return fail('Vault path does not contain the requested key'); // parity:
}

/** Packer's function map for one context (plus the builder's extra functions). */
export function packerFuncs(ctx: InterpolateContext): Record<string, FuncDef> {
  const env = ctx.env ?? process.env;
  const inVars = ctx.variablesSection === true;
  const S = 'string' as const;
  const funcs: Record<string, FuncDef> = {
    build_name: { params: [], fn: () => ctx.buildName || fail('build_name not available') },
    build_type: { params: [], fn: () => ctx.buildType || fail('build_type not available') },
    packer_version: { params: [], fn: () => ctx.packerVersion || fail('packer_version not available') },
    env: {
      params: [S],
      fn: ([k]) => (inVars ? (env[k as string] ?? '') : fail('env vars are not allowed here')),
    },
    isotime: {
      params: [],
      variadic: S,
      fn: (f) => {
        if (f.length === 0) return formatGoTime(ctx.initTime, RFC3339);
        if (f.length > 1) fail(`too many values, 1 needed: [${f.join(' ')}]`);
        return formatGoTime(ctx.initTime, f[0] as string);
      },
    },
    strftime: { params: [S], fn: ([f]) => strftime(ctx.initTime, f as string) },
    pwd: { params: [], fn: () => process.cwd() },
    split: {
      params: [S, S, 'int'],
      fn: ([k, s, i]) => {
        const parts = goSplit(k as string, s as string);
        const n = i as number;
        if (parts.length <= n) {
          fail(
            `the substring ${n} was unavailable using the separator value, ${s as string}, only ${parts.length} values were found`,
          );
        }
        if (n < 0) fail(`runtime error: index out of range [${n}]`);
        return parts[n];
      },
    },
    template_dir: {
      params: [],
      fn: () =>
        ctx.templatePath ? path.resolve(path.dirname(ctx.templatePath)) : fail('template path not available'),
    },
    timestamp: { params: [], fn: () => String(Math.floor(ctx.initTime.getTime() / 1000)) },
    uuid: { params: [], fn: () => timeOrderedUUID() },
    user: {
      params: [S],
      fn: ([k]) => {
        const vars = ctx.userVariables ?? {};
        const has = Object.prototype.hasOwnProperty.call(vars, k as string);
        if (inVars && !has) fail(`Error: variable not set: ${k as string}`);
        return has ? vars[k as string] : '';
      },
    },
    consul_key: {
      params: [S],
      fn: ([k]) => (inVars ? consulKey(k as string, env) : fail('consul_key is not allowed here')),
    },
    vault: {
      params: [S, S],
      fn: ([p, k]) =>
        inVars
          ? vaultRead(p as string, k as string, env)
          : fail('Vault vars are only allowed in the variables section'),
    },
    aws_secretsmanager: {
      params: [],
      variadic: S,
      fn: (a) => {
        if (!inVars) fail('AWS Secrets Manager is only allowed in the variables section');
        if (a.length === 0) fail('secret name must be provided');
        if (a.length > 2) fail('only secret name and optional secret key can be provided.');
        const [name, key = ''] = a as string[];
        if (ctx.awsSecretsManager) return ctx.awsSecretsManager(name, key);
        return fail(
          `Cannot read AWS Secrets Manager secret "${name}": this needs network access to AWS Secrets Manager, and no client is available`,
        );
      },
    },
    sed: {
      params: [S, S],
      fn: () =>
        fail(
          'template function `sed` is deprecated use `replace` or `replace_all` instead.Documentation: https://www.packer.io/docs/templates/engine',
        ), // parity:
    },
    build: { params: [S], fn: ([k]) => buildValue(ctx, k as string) },
    replace: {
      params: [S, S, 'int', S],
      fn: ([o, n, c, s]) => goReplace(s as string, o as string, n as string, c as number),
    },
    replace_all: {
      params: [S, S, S],
      fn: ([o, n, s]) => goReplace(s as string, o as string, n as string, -1),
    },
    upper: { params: [S], fn: ([s]) => mapCase(s as string, true) },
    lower: { params: [S], fn: ([s]) => mapCase(s as string, false) },
  };
  for (const [name, f] of Object.entries(ctx.extraFuncs ?? {})) {
    funcs[name] = {
      params: Array.from({ length: f.length }, () => S),
      variadic: f.length === 0 ? 'any' : undefined,
      fn: (args): GoValue => fromJs(f(...args)),
    };
  }
  return funcs;
}

/** The `build` function (spec §3.6): generated data from ctx.buildData, else from ctx.data. */
function buildValue(ctx: InterpolateContext, key: string): string {
  const data = ctx.buildData ?? (ctx.data && typeof ctx.data === 'object' ? ctx.data : undefined);
  if (data === undefined) {
    return fail(
      'Error validating build variable: the given variable ID will not be passed into your plugin.',
    ); // parity:
  }
  const v = Object.prototype.hasOwnProperty.call(data, key)
    ? (data as Record<string, unknown>)[key]
    : undefined;
  if (typeof v === 'string') return v.includes(PLACEHOLDER_MSG) ? `{{.${key}}}` : v;
  return fail(`loaded data, but couldnt find ${key} in it.`); // parity:
}
