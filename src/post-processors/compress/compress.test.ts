/**
 * The compress post-processor end to end: `kiln build` with the file builder, then every format
 * is opened with the real tools (xz, lz4, gzip, tar), and keep_input_artifact decides whether the
 * builder's file survives.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runKiln } from '../../../test/env/kiln-cli.js';

let dir: string;
let input: Buffer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-compress-'));
  input = Buffer.concat([randomBytes(150_000), Buffer.from('a golden image, compressed\n'.repeat(12_000))]);
  writeFileSync(join(dir, 'src.bin'), input);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function template(postProcessors: unknown[]): string {
  const path = join(dir, `t-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      builders: [{ type: 'file', source: join(dir, 'src.bin'), target: join(dir, 'in.bin') }],
      'post-processors': postProcessors,
    }),
  );
  return path;
}

function tool(cmd: string, args: string[], stdin?: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input: stdin, maxBuffer: 1 << 27 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr?.toString()}`);
  return r.stdout;
}

const hasLz4Cli = spawnSync('lz4', ['--version']).status === 0;

/** lz4 -d, or (on a machine without the lz4 CLI) the lz4 package's own frame decoder. */
function unlz4(data: Buffer): Buffer {
  if (hasLz4Cli) return tool('lz4', ['-dc'], data);
  const lz4 = createRequire(import.meta.url)('lz4') as { decode(b: Buffer): Buffer };
  return lz4.decode(data);
}

function tarList(tar: Buffer): string {
  return tool('tar', ['-tf', '-'], tar).toString();
}

test('lz4, bgzf and xz, alone and under tar: real tools read back the input', async () => {
  const out = (name: string) => join(dir, 'out', name);
  const chain = (o: Record<string, unknown>) => [{ type: 'compress', keep_input_artifact: true, ...o }];
  const r = await runKiln([
    'build',
    '-color=false',
    template([
      chain({ output: out('a.bgzf') }),
      chain({ output: out('b.lz4') }),
      chain({ output: out('c.xz') }),
      chain({ output: out('d'), format: 'tar.bgzf', compression_level: 9 }),
      chain({ output: out('e.tar.xz') }),
      chain({ output: out('f.tar.lz4'), compression_level: 1 }),
    ]),
  ]);
  assert.equal(r.code, 0, r.out);
  const lines = r.stdout.replaceAll(dir, '<D>');
  assert.match(
    lines,
    /==> file \(compress\): Using bgzf compression with \d+ cores for <D>\/out\/a\.bgzf\n.*Archiving <D>\/in\.bin with bgzf\n.*Archive <D>\/out\/a\.bgzf completed\n/,
  );
  assert.match(
    lines,
    /Using lz4 compression with \d+ cores for <D>\/out\/b\.lz4\n.*Archiving <D>\/in\.bin with lz4\n/,
  );
  assert.match(
    lines,
    /Using xz compression with 1 core for <D>\/out\/c\.xz \(library does not support MT\)\n.*Archiving <D>\/in\.bin with xz\n/,
  );
  assert.match(
    lines,
    /Using bgzf compression with \d+ cores for <D>\/out\/d\n.*Tarring <D>\/out\/d with bgzf\n/,
  );
  assert.match(lines, /Tarring <D>\/out\/e\.tar\.xz with xz\n/);
  assert.match(lines, /--> file: compressed artifacts in: <D>\/out\/f\.tar\.lz4\n/);

  const bgzf = readFileSync(out('a.bgzf'));
  // The header Packer 1.6.6 writes (gzip, FEXTRA, MTIME 0, XFL 0, OS 255, BC subfield).
  assert.equal(bgzf.subarray(0, 16).toString('hex'), '1f8b08040000000000ff060042430200');
  assert.deepEqual(tool('gzip', ['-dc'], bgzf), input);
  assert.equal(
    bgzf.subarray(-28).toString('hex'),
    '1f8b08040000000000ff0600424302001b0003000000000000000000',
  );

  const lz4 = readFileSync(out('b.lz4'));
  // Frame header as Packer's writer makes it: independent 4 MiB blocks, content checksum.
  assert.equal(lz4.subarray(0, 7).toString('hex'), '04224d186470b9');
  assert.deepEqual(unlz4(lz4), input);

  const xz = readFileSync(out('c.xz'));
  assert.deepEqual(tool('xz', ['-dc'], xz), input);
  assert.match(tool('xz', ['--robot', '-lvv', out('c.xz')]).toString(), /CRC64/);

  const d = readFileSync(out('d'));
  assert.equal(d[8], 2, 'level 9 marked in XFL');
  assert.equal(tarList(gunzipSync(d)), 'in.bin\n');
  assert.equal(tarList(tool('xz', ['-dc'], readFileSync(out('e.tar.xz')))), 'in.bin\n');
  assert.equal(tarList(unlz4(readFileSync(out('f.tar.lz4')))), 'in.bin\n');
  assert.ok(existsSync(join(dir, 'in.bin')), 'keep_input_artifact: true keeps the builder file');
});

test('format picks the algorithm when output has no extension; without keep_input_artifact the input is removed', async () => {
  const target = join(dir, 'out', 'image');
  const r = await runKiln([
    'build',
    '-color=false',
    template([{ type: 'compress', output: target, format: 'lz4' }]),
  ]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.stdout, /Archiving .*in\.bin with lz4\n/);
  assert.deepEqual(unlz4(readFileSync(target)), input);
  assert.equal(existsSync(join(dir, 'in.bin')), false, 'compress does not keep its input by default');
  assert.match(
    r.stdout,
    /==> Builds finished\. The artifacts of successful builds are:\n--> file: compressed artifacts in: .*\/out\/image\n$/,
  );
});

test("a compression level Go rejects: Packer's writer error, exit 1", async () => {
  const r = await runKiln([
    'build',
    '-color=false',
    template([{ type: 'compress', output: join(dir, 'out', 'bad.bgzf'), compression_level: -3 }]),
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.out,
    /\* Post-processor failed: error creating bgzf writer: Invalid compression level\. Expected an integer from -1 to 9\.\n/,
  );
  assert.doesNotMatch(r.out, /\n\s+at /);
});
