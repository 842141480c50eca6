#!/usr/bin/env node
// The one test command: type check + compile, lint, then every test file, listed explicitly
// (node 20's `node --test DIR` silently finds no files).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
run('npx', ['tsc', '-p', 'tsconfig.json']);
if (!filter.length) run('npx', ['eslint', 'src', 'test', 'scripts']);
let files = [...find('dist/src'), ...find('dist/test')].sort();
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (!files.length) {
  console.error('no test files found');
  process.exit(1);
}
run(process.execPath, ['--test', '--test-concurrency=2', ...files]);
