import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { FileInfo } from '../core/types.js';
import { ByteReader } from './byte-reader.js';
import { parseScpCommand, scpSink, scpSource, type ScpTarget } from './scp.js';
import { shellQuote, shellSplit } from './shellwords.js';

interface Fake extends ScpTarget {
  files: Map<string, { data: Buffer; info?: FileInfo }>;
  dirs: Set<string>;
  probes: number;
}

function fakeTarget(opts: { failUpload?: string; failDownload?: string; claimSize?: number } = {}): Fake {
  const files = new Map<string, { data: Buffer; info?: FileInfo }>();
  const dirs = new Set<string>(['/tmp']);
  const fake: Fake = {
    files,
    dirs,
    probes: 0,
    async upload(path: string, data: Readable | Buffer, info: FileInfo) {
      const chunks: Buffer[] = [];
      if (Buffer.isBuffer(data)) chunks.push(data);
      else for await (const c of data) chunks.push(c as Buffer);
      if (opts.failUpload) throw new Error(opts.failUpload);
      if (dirs.has(path)) throw new Error(`scp: ${path}: Is a directory`);
      files.set(path, { data: Buffer.concat(chunks), info });
    },
    async stat(path: string) {
      if (dirs.has(path)) return { size: 4096, mode: 0o40755, mtime: new Date(1700000000000), isDir: true };
      const f = files.get(path);
      if (!f) throw new Error('No such file or directory');
      return {
        size: opts.claimSize ?? f.data.length,
        mode: 0o100600,
        mtime: new Date(1700000000000),
        isDir: false,
      };
    },
    async download(path: string, out: Writable) {
      const f = files.get(path);
      if (!f) throw new Error('No such file or directory');
      for (let off = 0; off < f.data.length; off += 1000) {
        if (!out.write(f.data.subarray(off, off + 1000))) await once(out, 'drain');
      }
      if (opts.failDownload) throw new Error(opts.failDownload);
    },
    async isDir(path: string) {
      fake.probes++;
      return dirs.has(path.replace(/\/$/, ''));
    },
    async mkdir(path: string) {
      dirs.add(path);
    },
  };
  return fake;
}

/** Plays the client side: a script of writes, each followed by reading the server's reply byte. */
async function drive(
  run: (input: Readable, out: PassThrough) => Promise<number>,
  client: (send: (b: Buffer | string) => void, reply: ByteReader) => Promise<void>,
): Promise<number> {
  const input = new PassThrough();
  const out = new PassThrough();
  const reply = new ByteReader(out);
  const result = run(input, out);
  await client((b) => input.write(b), reply);
  input.end();
  const code = await result;
  out.end();
  return code;
}

test('parseScpCommand recognises sink and source commands with their flags', () => {
  assert.deepEqual(parseScpCommand("scp -t '/home/a b/x.py'"), {
    direction: 'sink',
    recursive: false,
    preserveTimes: false,
    targetIsDir: false,
    paths: ['/home/a b/x.py'],
  });
  const src = parseScpCommand('scp -v -p -f -- /etc/hosts');
  assert.equal(src?.direction, 'source');
  assert.equal(src?.preserveTimes, true);
  assert.deepEqual(src?.paths, ['/etc/hosts']);
  assert.equal(parseScpCommand('scp -rd -t /tmp')?.targetIsDir, true);
  assert.equal(parseScpCommand('scpx -t /tmp'), undefined);
  assert.equal(parseScpCommand('scp /a /b'), undefined);
  assert.equal(parseScpCommand('/bin/sh -c "echo hi"'), undefined);
});

test('shell words: quoting round-trips through splitting', () => {
  for (const w of ['plain', "it's", 'a b', '$HOME', '', '"q"', 'back\\slash']) {
    assert.deepEqual(shellSplit(`cmd ${shellQuote(w)}`), ['cmd', w]);
  }
  assert.deepEqual(shellSplit(`a "b \\" c" d\\ e 'f'g`), ['a', 'b " c', 'd e', 'fg']);
  assert.equal(shellSplit("a 'b"), undefined);
});

test('sink: one file to a file path, with times, mode and size passed to upload', async () => {
  const t = fakeTarget();
  const code = await drive(
    (i, o) => scpSink(i, o, parseScpCommand('scp -p -t /tmp/x/AnsiballZ_setup.py')!, t),
    async (send, reply) => {
      assert.equal(await reply.byte(), 0); // ready
      send('T1700000000 0 1700000000 0\n');
      assert.equal(await reply.byte(), 0);
      send('C0755 11 local-name\n');
      assert.equal(await reply.byte(), 0);
      send('hello ');
      send('world');
      send(Buffer.from([0]));
      assert.equal(await reply.byte(), 0);
    },
  );
  assert.equal(code, 0);
  const f = t.files.get('/tmp/x/AnsiballZ_setup.py');
  assert.equal(f?.data.toString(), 'hello world');
  assert.equal(f?.info?.mode, 0o755);
  assert.equal(f?.info?.size, 11);
  assert.equal(f?.info?.mtime?.getTime(), 1700000000000);
  assert.equal(t.probes, 0, 'a file target costs no directory probe');
});

test('sink: a target directory receives the file under its own name; D/E records make directories', async () => {
  const t = fakeTarget();
  const code = await drive(
    (i, o) => scpSink(i, o, parseScpCommand('scp -r -t /tmp')!, t),
    async (send, reply) => {
      assert.equal(await reply.byte(), 0);
      send('C0644 2 a.txt\nhi\0');
      assert.equal(await reply.byte(), 0);
      assert.equal(await reply.byte(), 0);
      send('D0755 0 sub\n');
      assert.equal(await reply.byte(), 0);
      send('C0600 0 empty\n');
      assert.equal(await reply.byte(), 0);
      send(Buffer.from([0]));
      assert.equal(await reply.byte(), 0);
      send('E\n');
      assert.equal(await reply.byte(), 0);
    },
  );
  assert.equal(code, 0);
  assert.equal(t.files.get('/tmp/a.txt')?.data.toString(), 'hi');
  assert.ok(t.dirs.has('/tmp/sub'));
  assert.equal(t.files.get('/tmp/sub/empty')?.data.length, 0);
});

test('sink: a large file streams through in many chunks', async () => {
  const t = fakeTarget();
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const code = await drive(
    (i, o) => scpSink(i, o, parseScpCommand('scp -d -t /tmp/')!, t),
    async (send, reply) => {
      await reply.byte();
      send(`C0644 ${big.length} big\n`);
      assert.equal(await reply.byte(), 0);
      for (let off = 0; off < big.length; off += 32768) send(big.subarray(off, off + 32768));
      send(Buffer.from([0]));
      assert.equal(await reply.byte(), 0);
    },
  );
  assert.equal(code, 0);
  assert.ok(t.files.get('/tmp/big')?.data.equals(big));
  assert.equal(t.probes, 0);
});

test('sink: an upload failure is reported as a fatal scp error and exit status 1', async () => {
  const t = fakeTarget({ failUpload: 'Permission denied' });
  let msg = '';
  const code = await drive(
    (i, o) => scpSink(i, o, parseScpCommand('scp -t /root/x')!, t),
    async (send, reply) => {
      await reply.byte();
      send('C0644 3 x\nabc\0');
      assert.equal(await reply.byte(), 0);
      assert.equal(await reply.byte(), 2);
      msg = (await reply.line()) ?? '';
    },
  );
  assert.equal(code, 1);
  assert.equal(msg, 'scp: /root/x: Permission denied');
});

test('sink: a malformed record is a protocol error', async () => {
  const t = fakeTarget();
  let b: number | undefined;
  const code = await drive(
    (i, o) => scpSink(i, o, parseScpCommand('scp -t /tmp/y')!, t),
    async (send, reply) => {
      await reply.byte();
      send('Cxyz\n');
      b = await reply.byte();
    },
  );
  assert.equal(code, 1);
  assert.equal(b, 2);
  assert.equal(t.files.size, 0);
});

test('source: sends a file with its mode, size and times, waiting for each acknowledgement', async () => {
  const t = fakeTarget();
  t.files.set('/etc/motd', { data: Buffer.from('welcome\n') });
  const code = await drive(
    (i, o) => scpSource(i, o, parseScpCommand('scp -p -f /etc/motd')!, t),
    async (send, reply) => {
      send(Buffer.from([0]));
      assert.equal(await reply.line(), 'T1700000000 0 1700000000 0');
      send(Buffer.from([0]));
      assert.equal(await reply.line(), 'C0600 8 motd');
      send(Buffer.from([0]));
      const data: Buffer[] = [];
      for await (const c of reply.exactly(8)) data.push(c);
      assert.equal(Buffer.concat(data).toString(), 'welcome\n');
      assert.equal(await reply.byte(), 0);
      send(Buffer.from([0]));
    },
  );
  assert.equal(code, 0);
});

test('source: a missing file is a warning record and exit status 1', async () => {
  const t = fakeTarget();
  let line: string | undefined;
  const code = await drive(
    (i, o) => scpSource(i, o, parseScpCommand('scp -f /nope')!, t),
    async (send, reply) => {
      send(Buffer.from([0]));
      assert.equal(await reply.byte(), 1);
      line = await reply.line();
    },
  );
  assert.equal(code, 1);
  assert.equal(line, 'scp: /nope: No such file or directory');
});

test('source: a file bigger than the window streams through, the sink pacing it', async () => {
  const t = fakeTarget();
  const big = Buffer.alloc(2 * 1024 * 1024 + 5);
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
  t.files.set('/big', { data: big });
  const code = await drive(
    (i, o) => scpSource(i, o, parseScpCommand('scp -f /big')!, t),
    async (send, reply) => {
      send(Buffer.from([0]));
      assert.equal(await reply.line(), `C0600 ${big.length} big`);
      send(Buffer.from([0]));
      const data: Buffer[] = [];
      for await (const c of reply.exactly(big.length)) data.push(Buffer.from(c));
      assert.ok(Buffer.concat(data).equals(big));
      assert.equal(await reply.byte(), 0);
      send(Buffer.from([0]));
    },
  );
  assert.equal(code, 0);
});

test('source: a file that shrank or failed mid-way is padded to the announced size and reported', async () => {
  for (const [opts, why] of [
    [{ claimSize: 3000 }, 'file changed size while being sent'],
    [{ failDownload: 'Input/output error' }, 'Input/output error'],
    [{ claimSize: 100 }, undefined], // grew: the first 100 bytes go, the rest is dropped
  ] as const) {
    const t = fakeTarget(opts);
    t.files.set('/f', { data: Buffer.alloc(2500, 1) });
    const size = opts.claimSize ?? 2500;
    let ack: number | undefined;
    let line: string | undefined;
    let got = Buffer.alloc(0);
    const code = await drive(
      (i, o) => scpSource(i, o, parseScpCommand('scp -f /f')!, t),
      async (send, reply) => {
        send(Buffer.from([0]));
        assert.equal(await reply.line(), `C0600 ${size} f`);
        send(Buffer.from([0]));
        const data: Buffer[] = [];
        for await (const c of reply.exactly(size)) data.push(Buffer.from(c));
        got = Buffer.concat(data);
        ack = await reply.byte();
        if (ack === 1) line = await reply.line();
        send(Buffer.from([0]));
      },
    );
    assert.equal(got.length, size);
    if (why === undefined) {
      assert.equal(ack, 0);
      assert.equal(code, 0);
    } else {
      assert.equal(ack, 1);
      assert.equal(line, `scp: /f: ${why}`);
      assert.equal(code, 1);
    }
  }
});

test('source: a directory without -r is refused with a warning', async () => {
  const t = fakeTarget();
  let line: string | undefined;
  const code = await drive(
    (i, o) => scpSource(i, o, parseScpCommand('scp -f /tmp')!, t),
    async (send, reply) => {
      send(Buffer.from([0]));
      assert.equal(await reply.byte(), 1);
      line = await reply.line();
    },
  );
  assert.equal(code, 1);
  assert.equal(line, 'scp: /tmp: not a regular file');
});
