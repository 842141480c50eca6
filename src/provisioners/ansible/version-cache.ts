/**
 * A cache for the ansible provisioner's `--version` check. Packer runs `ansible-playbook --version`
 * every time it prepares the provisioner, which is a Python start-up (most of `validate`'s time for
 * a template with ansible). kiln remembers the major version per executable, keyed by the real
 * path, size and modification time of the command and of the interpreter its `#!` line names, so an
 * upgrade (which rewrites the entry script or the interpreter) is noticed. Only successful checks
 * are cached; errors are re-checked every time. The file is `$XDG_CACHE_HOME/kiln/ansible-version.json`
 * (default `~/.cache`); `KILN_NO_CACHE=1` turns the cache off.
 */
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

interface Entry {
  key: string;
  major: number;
}

/** The cache file, or undefined when caching is off or there is no home directory. */
export function cacheFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.KILN_NO_CACHE && env.KILN_NO_CACHE !== '0') return undefined;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : join(homedir(), '.cache'));
  return join(base, 'kiln', 'ansible-version.json');
}

async function which(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (command.includes('/')) return command;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, command);
    try {
      await fsp.access(p, 1 /* X_OK */);
      return p;
    } catch {
      // next PATH entry
    }
  }
  return undefined;
}

async function fingerprint(path: string): Promise<string | undefined> {
  try {
    const real = await fsp.realpath(path);
    const st = await fsp.stat(real);
    return `${real}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/** A key that changes when the command or its interpreter changes; undefined when it cannot be known. */
export async function versionKey(command: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const path = await which(command, env);
  if (!path) return undefined;
  const own = await fingerprint(isAbsolute(path) ? path : join(process.cwd(), path));
  if (!own) return undefined;
  let interp = '';
  try {
    const fh = await fsp.open(path, 'r');
    try {
      const buf = Buffer.alloc(256);
      const { bytesRead } = await fh.read(buf, 0, 256, 0);
      const first = buf.subarray(0, bytesRead).toString('latin1').split('\n')[0];
      if (first.startsWith('#!')) {
        const prog = first.slice(2).trim().split(/\s+/)[0];
        if (prog && isAbsolute(prog)) interp = (await fingerprint(prog)) ?? '';
        if (prog === '/usr/bin/env') {
          const name = first.slice(2).trim().split(/\s+/)[1];
          const found = name ? await which(name, env) : undefined;
          if (found) interp = (await fingerprint(found)) ?? '';
        }
      }
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  return `${own}|${interp}|${dirname(path)}`;
}

async function readCache(file: string): Promise<Record<string, Entry>> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Entry>) : {};
  } catch {
    return {};
  }
}

/**
 * Returns the cached major version of `command`, or runs `check` and caches a numeric answer.
 * A string answer (a problem to report) is passed through and not cached.
 */
export async function cachedMajorVersion(
  command: string,
  check: () => Promise<number | string>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number | string> {
  const file = cacheFile(env);
  const key = file ? await versionKey(command, env) : undefined;
  if (!file || !key) return check();
  const cache = await readCache(file);
  const hit = cache[command];
  if (hit && hit.key === key && typeof hit.major === 'number') return hit.major;
  const result = await check();
  if (typeof result === 'number') {
    cache[command] = { key, major: result };
    try {
      await fsp.mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(cache, null, 2));
      await fsp.rename(tmp, file);
    } catch {
      // a cache that cannot be written only costs time
    }
  }
  return result;
}
