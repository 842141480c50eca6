/**
 * The shell provisioner's environment string (spec §6.2): PACKER_BUILD_NAME, PACKER_BUILDER_TYPE,
 * PACKER_HTTP_* when the builder served HTTP, then the user's `environment_vars` (split at the
 * first `=`, every `'` in the value replaced by `'"'"'`), keys sorted by byte order, each through
 * `env_var_format`, concatenated.
 */
import type { GeneratedData } from '../../core/types.js';
import { escapeSingleQuotes } from '../../util/shell-quote.js';

export interface EnvInput {
  buildName: string;
  builderType: string;
  environmentVars: string[];
  envVarFormat: string;
}

export function flattenEnvVars(input: EnvInput, data: GeneratedData): string {
  const env = new Map<string, string>([
    ['PACKER_BUILD_NAME', input.buildName],
    ['PACKER_BUILDER_TYPE', input.builderType],
  ]);
  const http: Array<[string, string, string]> = [
    ['PackerHTTPAddr', 'PACKER_HTTP_ADDR', 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER'],
    ['PackerHTTPIP', 'PACKER_HTTP_IP', 'ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER'],
    ['PackerHTTPPort', 'PACKER_HTTP_PORT', 'ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER'],
  ];
  for (const [key, name, missing] of http) {
    const v = data[key];
    if (v !== undefined && v !== '' && v !== missing) env.set(name, v);
  }
  for (const item of input.environmentVars) {
    const eq = item.indexOf('=');
    env.set(item.slice(0, eq), escapeSingleQuotes(item.slice(eq + 1)));
  }
  return [...env.keys()]
    .sort(byteOrder)
    .map((k) => goSprintf2(input.envVarFormat, k, env.get(k) as string))
    .join('');
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Go's Sprintf for a format with two `%s` verbs; `%%` is a literal percent; missing/extra like Go. */
export function goSprintf2(format: string, a: string, b: string): string {
  const args = [a, b];
  let i = 0;
  let out = format.replace(/%(%|s)/g, (_m, v: string) =>
    v === '%' ? '%' : i < 2 ? args[i++] : '%!s(MISSING)',
  );
  if (i < 2) out += `%!(EXTRA string=${args.slice(i).join(', string=')})`;
  return out;
}
