import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { BGZF_BLOCK_SIZE, BGZF_EOF, BgzfWriter } from './bgzf.js';

async function bgzf(input: Buffer, level = 6, chunk = 10_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) chunks.push(input.subarray(i, i + chunk));
  await pipeline(
    Readable.from(chunks),
    new BgzfWriter(level, 3),
    new Writable({
      write(c: Buffer, _e, done) {
        parts.push(c);
        done();
      },
    }),
  );
  return Buffer.concat(parts);
}

interface Member {
  bsize: number;
  isize: number;
  xfl: number;
  os: number;
}

/** Walks the members the way a BGZF reader seeks: by each header's BC field alone. */
function members(b: Buffer): Member[] {
  const out: Member[] = [];
  let i = 0;
  while (i < b.length) {
    assert.deepEqual([...b.subarray(i, i + 4)], [0x1f, 0x8b, 8, 4], `member header at ${i}`);
    assert.equal(b.readUInt16LE(i + 10), 6, 'XLEN');
    assert.equal(b.toString('latin1', i + 12, i + 14), 'BC');
    assert.equal(b.readUInt16LE(i + 14), 2, 'SLEN');
    const bsize = b.readUInt16LE(i + 16) + 1;
    out.push({ bsize, isize: b.readUInt32LE(i + bsize - 4), xfl: b[i + 8], os: b[i + 9] });
    i += bsize;
  }
  assert.equal(i, b.length, 'the last member ends at the end of the file');
  return out;
}

function mixed(n: number): Buffer {
  // Half random, half text: some blocks deflate well, some do not.
  const text = Buffer.from('kiln compress bgzf '.repeat(Math.ceil(n / 38)));
  return Buffer.concat([randomBytes(n / 2), text.subarray(0, n - n / 2)]);
}

test('bgzf: blocks of at most 65280 bytes, each with a BC field giving its size, then the EOF block', async () => {
  const input = mixed(300_000);
  const out = await bgzf(input);
  const ms = members(out);
  assert.ok(ms.length >= 6, `${ms.length} members`);
  for (const m of ms) assert.ok(m.isize <= BGZF_BLOCK_SIZE && m.bsize <= 65536);
  assert.deepEqual(
    ms
      .slice(0, -1)
      .map((m) => m.isize)
      .reduce((a, b) => a + b, 0),
    input.length,
  );
  assert.deepEqual(out.subarray(-28), BGZF_EOF);
  assert.deepEqual(ms[ms.length - 1], { bsize: 28, isize: 0, xfl: 0, os: 0xff });
  assert.equal(ms[0].isize, BGZF_BLOCK_SIZE);
  // Any gzip reader reads the concatenated members.
  assert.deepEqual(gunzipSync(out), input);
});

test('bgzf: gzip -d and python gzip decompress it; level 9 is marked in XFL as Go does', async () => {
  const input = mixed(200_000);
  const out = await bgzf(input, 9, 4096);
  assert.ok(
    members(out)
      .slice(0, -1)
      .every((m) => m.xfl === 2),
  );
  const gz = spawnSync('gzip', ['-dc'], { input: out, maxBuffer: 1 << 26 });
  assert.equal(gz.status, 0, gz.stderr.toString());
  assert.deepEqual(gz.stdout, input);
  const py = spawnSync(
    'python3',
    ['-c', 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))'],
    { input: out, maxBuffer: 1 << 26 },
  );
  assert.equal(py.status, 0, py.stderr.toString());
  assert.deepEqual(py.stdout, input);
});

test('bgzf: empty input and input ending on a block boundary end with an empty block, then EOF', async () => {
  const empty = await bgzf(Buffer.alloc(0));
  assert.deepEqual(
    members(empty).map((m) => m.isize),
    [0, 0],
  );
  assert.deepEqual(gunzipSync(empty).length, 0);
  const exact = randomBytes(2 * BGZF_BLOCK_SIZE);
  const out = await bgzf(exact, 1, 7000);
  const ms = members(out);
  assert.deepEqual(
    ms.map((m) => m.isize),
    [BGZF_BLOCK_SIZE, BGZF_BLOCK_SIZE, 0, 0],
  );
  assert.equal(ms[0].xfl, 4);
  assert.deepEqual(gunzipSync(out), exact);
});
