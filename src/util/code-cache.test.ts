import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIN_BYTES, codeCacheDir, type codeCacheStats } from './code-cache.js';

let root: string;
let pkgDir: string;
let env: NodeJS.ProcessEnv;
let cacheDir: string;

/** A CommonJS package whose main file is above the cache threshold and requires a small sibling. */
function writePackage(answer: string): string {
  const main = join(pkgDir, 'index.js');
  const filler = `// ${'x'.repeat(MIN_BYTES)}\n`;
  writeFileSync(
    main,
    `'use strict';\nconst helper = require('./helper');\n${filler}` +
      `exports.answer = () => ${JSON.stringify(answer)};\n` +
      `exports.where = [__filename, __dirname, require.resolve('./helper'), typeof require.cache];\n` +
      `exports.helper = helper.value;\nexports.self = this === module.exports;\n`,
  );
  return main;
}

interface ChildResult {
  answer: string;
  where: unknown[];
  helper: number;
  self: boolean;
  stats: typeof codeCacheStats;
}

/**
 * Loads `main` in a fresh Node process (V8 also keeps compiled code in memory, so only a new process
 * shows what the cache on disk does); the entries are written when that process exits.
 */
function load(main: string, childEnv: NodeJS.ProcessEnv = env): ChildResult {
  const lib = new URL('./code-cache.js', import.meta.url).href;
  const script =
    `import { createRequire } from 'node:module';\n` +
    `const { requireWithCodeCache, codeCacheStats } = await import(${JSON.stringify(lib)});\n` +
    `const m = requireWithCodeCache(() => createRequire(${JSON.stringify(join(root, 'caller.js'))})(${JSON.stringify(main)}));\n` +
    `console.log(JSON.stringify({ answer: m.answer(), where: m.where, helper: m.helper, self: m.self, stats: codeCacheStats }));\n`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH, ...childEnv },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as ChildResult;
}

const entries = (): string[] => readdirSync(cacheDir).filter((f) => f.endsWith('.v8'));

describe('V8 code cache for CommonJS packages', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kiln-code-cache-'));
    pkgDir = join(root, 'node_modules', 'fakepkg');
    mkdirSync(pkgDir, { recursive: true });
    writeFileSync(join(pkgDir, 'helper.js'), 'exports.value = 42;\n');
    env = { XDG_CACHE_HOME: join(root, 'cache') };
    cacheDir = codeCacheDir(env) as string;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('compiles a large file without data first, writes its entry at exit, then loads from it', () => {
    const main = writePackage('first');
    const m = load(main);
    assert.equal(m.answer, 'first');
    assert.deepEqual(m.where, [main, pkgDir, join(pkgDir, 'helper.js'), 'object']);
    assert.equal(m.helper, 42);
    assert.equal(m.self, true);
    // helper.js is below the threshold: compiled as usual
    assert.deepEqual(m.stats, { hits: 0, misses: 1, rejected: 0, written: 0 });
    assert.equal(entries().length, 1);

    const again = load(main);
    assert.equal(again.answer, 'first');
    assert.deepEqual(again.stats, { hits: 1, misses: 0, rejected: 0, written: 0 });
  });

  it('never uses an entry of other content, even of the same length, and drops the old entry', () => {
    const before = entries();
    const main = writePackage('other'); // as long as 'first'
    const m = load(main);
    assert.equal(m.answer, 'other');
    assert.deepEqual(m.stats, { hits: 0, misses: 1, rejected: 0, written: 0 });
    const now = entries();
    assert.equal(now.length, 1, 'the entry of the old content is removed');
    assert.notDeepEqual(now, before);
    assert.equal(load(main).stats.hits, 1);
  });

  it('ignores damaged data and rewrites it', () => {
    const main = join(pkgDir, 'index.js');
    const [entry] = entries();
    const good = readFileSync(join(cacheDir, entry));
    writeFileSync(join(cacheDir, entry), Buffer.alloc(good.length, 7));
    const m = load(main);
    assert.equal(m.answer, 'other');
    assert.deepEqual(m.stats, { hits: 0, misses: 0, rejected: 1, written: 0 });
    assert.equal(load(main).stats.hits, 1);
  });

  it('reports a module that throws while loading with its own file name', () => {
    const bad = join(pkgDir, 'bad.js');
    writeFileSync(bad, `// ${'y'.repeat(MIN_BYTES)}\nthrow new Error('broken package');\n`);
    assert.throws(
      () => load(bad),
      (e: Error & { stderr?: string }) =>
        /Error: broken package/.test(e.stderr ?? '') && (e.stderr ?? '').includes(bad),
    );
  });

  it('is off with KILN_NO_CACHE=1, and a build goes on when the directory is unusable', () => {
    const main = join(pkgDir, 'index.js');
    assert.equal(codeCacheDir({ ...env, KILN_NO_CACHE: '1' }), undefined);
    const off = load(main, { ...env, KILN_NO_CACHE: '1' });
    assert.equal(off.answer, 'other');
    assert.deepEqual(off.stats, { hits: 0, misses: 0, rejected: 0, written: 0 });
    writeFileSync(join(root, 'file-not-dir'), ''); // the cache "directory" is a file
    const blocked = load(main, { XDG_CACHE_HOME: join(root, 'file-not-dir') });
    assert.equal(blocked.answer, 'other');
    assert.equal(blocked.stats.misses, 1);
  });
});
