/**
 * A V8 code cache for the large CommonJS packages a build loads (the AWS SDK's EC2 client is one
 * 2 MB file). Node 20 has no built-in compile cache, so while `requireWithCodeCache` runs, every
 * CommonJS file of at least MIN_BYTES is compiled with `vm.Script` and the cached data of an
 * earlier run; without usable data the script is compiled normally and its data (including the
 * functions compiled while the build ran) is written when the process exits.
 *
 * Safe when stale: an entry's name is a hash of the Node version, the architecture, the file's path
 * and its whole content, so an upgraded package never meets old data; data V8 rejects (another V8
 * flag set, a damaged file) is ignored and rewritten. Files are written atomically (temporary name,
 * then rename), entries of the same path with other content are removed then, and any failure to
 * read or write only costs the time the cache would have saved. The directory is
 * `$XDG_CACHE_HOME/kiln/v8` (default `~/.cache`); `KILN_NO_CACHE=1` turns it off.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script, constants as vmConstants } from 'node:vm';

/** Smaller files compile faster than their cache entry would load. */
export const MIN_BYTES = 8 * 1024;

/** The cache directory, or undefined when caching is off. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.KILN_NO_CACHE && env.KILN_NO_CACHE !== '0') return undefined;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'kiln', 'v8');
}

/** What the cache did in this process (the debug log and tests read it). */
export const codeCacheStats = { hits: 0, misses: 0, rejected: 0, written: 0 };

interface Pending {
  script: Script;
  dir: string;
  prefix: string;
  name: string;
}

const pending: Pending[] = [];
let exitHook = false;

type CompiledModule = {
  exports: unknown;
  require(id: string): unknown;
  filename: string;
};
type ModuleStatics = {
  prototype: { _compile(content: string, filename: string, ...rest: unknown[]): unknown };
  wrap(content: string): string;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  _extensions: unknown;
  _cache: unknown;
};

const hash = (...parts: string[]): string => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/**
 * Runs `load` (a synchronous `require` of a CommonJS package) with the code cache for the files it
 * compiles. Returns what `load` returns; the cache never changes what the modules do.
 */
export function requireWithCodeCache<T>(load: () => T, env: NodeJS.ProcessEnv = process.env): T {
  const dir = codeCacheDir(env);
  if (!dir) return load();
  const M = Module as unknown as ModuleStatics;
  const original = M.prototype._compile;
  M.prototype._compile = function (
    this: CompiledModule,
    content: string,
    filename: string,
    ...rest: unknown[]
  ) {
    if (content.length < MIN_BYTES || !filename.endsWith('.js'))
      return original.call(this, content, filename, ...rest);
    return compileCached(M, this, content, filename, dir);
  };
  try {
    return load();
  } finally {
    M.prototype._compile = original;
  }
}

function compileCached(
  M: ModuleStatics,
  mod: CompiledModule,
  content: string,
  filename: string,
  dir: string,
): unknown {
  const prefix = hash(filename).slice(0, 16);
  const name = `${prefix}-${hash(process.version, process.arch, content).slice(0, 24)}.v8`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(join(dir, name));
  } catch {
    cachedData = undefined;
  }
  const script = new Script(M.wrap(content), {
    filename,
    cachedData,
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachedData && !script.cachedDataRejected) codeCacheStats.hits++;
  else {
    if (cachedData) codeCacheStats.rejected++;
    else codeCacheStats.misses++;
    pending.push({ script, dir, prefix, name });
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => flushCodeCache());
    }
  }
  const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
  const require = Object.assign((id: string) => mod.require(id), {
    resolve: (request: string, options?: unknown) => M._resolveFilename(request, mod, false, options),
    main: (process as { mainModule?: unknown }).mainModule,
    extensions: M._extensions,
    cache: M._cache,
  });
  return fn.call(mod.exports, mod.exports, require, mod, filename, dirname(filename));
}

/**
 * Writes the data of every script compiled without usable cache data (at process exit; tests call
 * it directly). Never throws.
 */
export function flushCodeCache(): void {
  for (const p of pending.splice(0)) {
    try {
      const data = p.script.createCachedData();
      mkdirSync(p.dir, { recursive: true });
      const tmp = join(p.dir, `.${p.name}.${process.pid}.${Math.random().toString(36).slice(2)}`);
      writeFileSync(tmp, data);
      renameSync(tmp, join(p.dir, p.name));
      codeCacheStats.written++;
      for (const f of readdirSync(p.dir)) {
        if (f.startsWith(`${p.prefix}-`) && f !== p.name) unlinkSync(join(p.dir, f));
      }
    } catch {
      // an unwritable cache only costs the time it would have saved
    }
  }
}
