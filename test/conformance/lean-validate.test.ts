/**
 * `kiln validate` must not load the AWS SDK or ssh2 (start-up time, issue 2): runs it in a child
 * process with a module-resolution hook that records every module URL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LAB = resolve(REPO_ROOT, '../shared/lab/build');

function loadedModules(args: string[], cwd: string): { urls: string[]; status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-lean-'));
  try {
    const log = join(dir, 'loaded.txt');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
    );
    const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), join(REPO_ROOT, 'bin/kiln'), ...args], {
      cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: '/nonexistent' },
    });
    const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
    return { urls, status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// communicator/ssh/{keys,certificate}.js are allowed: validate checks ssh_certificate_file with them,
// and they import only node:crypto/node:fs (ssh2 only as a type; its parser is loaded when needed).
const heavy = (urls: string[]) =>
  urls.filter(
    (u) =>
      /@aws-sdk|\/ssh2\/|\/dist\/src\/(communicator\/ssh|adapter)\//.test(u) &&
      !/\/dist\/src\/communicator\/ssh\/(keys|certificate)\.js$/.test(u),
  );

test('validate of the reference template loads neither the AWS SDK nor ssh2', { skip: existsSync(join(LAB, 'config.json')) ? false : 'no lab template' }, () => {
  const r = loadedModules(['validate', 'config.json'], LAB);
  assert.ok(r.urls.length > 0, `the hook recorded nothing: ${r.out}`);
  assert.deepEqual(heavy(r.urls), []);
});

test('version loads only the CLI edge', () => {
  const r = loadedModules(['version'], REPO_ROOT);
  assert.equal(r.status, 0, r.out);
  const ours = r.urls.filter((u) => u.includes('/dist/src/'));
  assert.ok(ours.every((u) => /\/dist\/src\/(cli|core\/version|template\/secrets|util\/errors)/.test(u)), ours.join('\n'));
});

test('validate -syntax-only loads neither the interpolation engine nor any component', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-lean-t-'));
  try {
    writeFileSync(join(dir, 't.json'), '{"builders":[{"type":"amazon-ebs"}],"provisioners":[{"type":"shell"}]}');
    const r = loadedModules(['validate', '-syntax-only', 't.json'], dir);
    assert.equal(r.status, 0, r.out);
    const ours = r.urls.filter((u) => /\/dist\/src\/(interpolate|core\/core|builders|provisioners|post-processors)/.test(u));
    assert.deepEqual(ours, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
