/**
 * End-to-end transcripts of `kiln build` with the null builder (`communicator: none`),
 * shell-local, sleep, breakpoint and manifest: the CLI runs in-process (or as a real process for
 * SIGINT), its stdout is sanitised (durations → <D>, temporary script names → <N>) and compared
 * with the expected transcript in testdata/<case>.out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Readable } from 'node:stream';
import { runKiln } from '../../src/cli/run-kiln.test-helper.js';
import { runBuild } from '../../src/cli/commands/build.js';
import { StreamLineReader } from '../../src/ui/tty.js';
import { sanitize } from './sanitize.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA = join(ROOT, 'test/transcripts/testdata');
const KILN = join(ROOT, 'bin/kiln');


function expected(name: string): string {
  return readFileSync(join(DATA, `${name}.out`), 'utf8');
}

function template(name: string): string {
  return join(DATA, `${name}.json`);
}

test('a successful build prints Packer\'s sequence and the step table, and writes the manifest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tr-'));
  try {
    const r = await runKiln(['build', '-color=false', '-var', `out=${dir}`, template('success')]);
    assert.equal(sanitize(r.stdout), expected('success'));
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.builds.length, 1);
    const b = manifest.builds[0];
    assert.deepEqual(Object.keys(b), ['name', 'builder_type', 'build_time', 'files', 'artifact_id', 'packer_run_uuid', 'custom_data']);
    assert.equal(b.name, 'null');
    assert.equal(b.files, null);
    assert.equal(b.artifact_id, 'Null');
    assert.deepEqual(b.custom_data, { id: 'Null' });
    assert.equal(manifest.last_run_uuid, b.packer_run_uuid);
    assert.equal(existsSync(join(dir, 'manifest.json.lock')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second run appends to the manifest; -force starts it afresh', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tr-'));
  try {
    const args = ['build', '-color=false', '-var', `out=${dir}`, template('success')];
    await runKiln(args);
    await runKiln(args);
    const read = () => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(read().builds.length, 2);
    assert.notEqual(read().builds[0].packer_run_uuid, read().builds[1].packer_run_uuid);
    await runKiln(['build', '-force', ...args.slice(1)]);
    assert.equal(read().builds.length, 1);
    const text = readFileSync(join(dir, 'manifest.json'), 'utf8');
    assert.ok(!text.endsWith('\n'), 'Go writes no trailing newline');
    assert.match(text, /^\{\n {2}"builds": \[\n {4}\{\n {6}"name": "null",/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('colours: the build colour line, bold say, plain message, red error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tr-'));
  try {
    const r = await runKiln(['build', '-var', `out=${dir}`, template('success')]);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '\x1b[1;32mnull: output will be in this color.\x1b[0m');
    assert.equal(lines[1], '');
    assert.match(lines[2], /^\x1b\[1;32m==> null: Running local shell script: \/.*packer-shell\d+\x1b\[0m$/);
    assert.equal(lines[3], '\x1b[0;32m    null: hi from null\x1b[0m');
    assert.ok(lines.includes('==> Builds finished. The artifacts of successful builds are:'), 'command lines stay plain');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing script: Packer\'s messages, the error-cleanup provisioner, exit 1', async () => {
  const r = await runKiln(['build', '-color=false', template('failure')]);
  assert.equal(sanitize(r.stdout), expected('failure'));
  assert.equal(r.code, 1);
});

test('-on-error=abort skips the cleanups with Packer\'s messages', async () => {
  const r = await runKiln(['build', '-color=false', '-on-error=abort', template('failure')]);
  assert.equal(sanitize(r.stdout), expected('failure-abort'));
  assert.equal(r.code, 1);
});

test('-on-error=run-cleanup-provisioner still runs the error-cleanup provisioner', async () => {
  const r = await runKiln(['build', '-color=false', '-on-error=run-cleanup-provisioner', template('failure')]);
  assert.equal(sanitize(r.stdout), expected('failure-run-cleanup-provisioner'));
  assert.equal(r.code, 1);
});

test('sensitive values are masked in human output', async () => {
  const r = await runKiln(['build', '-color=false', template('sensitive')]);
  assert.equal(sanitize(r.stdout), expected('sensitive'));
  assert.ok(!r.stdout.includes('s3cr3t'));
});

test('-machine-readable prints Packer\'s lines, and masks sensitive values (unlike Packer)', async () => {
  const r = await runKiln(['build', '-machine-readable', template('sensitive')]);
  assert.equal(sanitize(r.stdout), expected('sensitive-machine'));
  assert.equal(r.code, 0);
});

test('pause_before and timeout wrappers print Packer\'s messages; the timeout fails the build', async () => {
  const r = await runKiln(['build', '-color=false', template('wrappers')]);
  assert.equal(sanitize(r.stdout), expected('wrappers'));
  assert.equal(r.code, 1);
});

test('max_retries retries with the first error in every message', async () => {
  const r = await runKiln(['build', '-color=false', template('retries')]);
  assert.equal(sanitize(r.stdout), expected('retries'));
  assert.equal(r.code, 1);
});

test('a breakpoint without a terminal fails the build', async () => {
  const r = await runKiln(['build', '-color=false', template('breakpoint')]);
  assert.equal(sanitize(r.stdout), expected('breakpoint'));
  assert.equal(r.code, 1);
});

test('builds run in name order; KILN_PACKER_PARITY drops the step table', async () => {
  const r = await runKiln(['build', '-parallel-builds=1', template('two-builds')], { env: { KILN_PACKER_PARITY: '1' } });
  assert.equal(sanitize(r.stdout), expected('two-builds'));
  assert.ok(r.stdout.startsWith('\x1b[1;32malpha: output will be in this color.\x1b[0m\n\x1b[1;36mbeta: output'));
  assert.equal(r.code, 0);
});

test('-only selects builds by name', async () => {
  const r = await runKiln(['build', '-color=false', '-only=beta', template('two-builds')], { env: { KILN_PACKER_PARITY: '1' } });
  assert.ok(r.stdout.includes('    beta: in beta'));
  assert.ok(!r.stdout.includes('alpha'));
  assert.equal(r.code, 0);
});

test('SIGINT during a sleep: cleanups run in reverse, post-processors skipped, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tr-'));
  const log = join(dir, 'kiln.log');
  try {
    const child = spawn(process.execPath, [KILN, 'build', '-color=false', template('sigint')], {
      env: { ...process.env, PACKER_LOG: '1', PACKER_LOG_PATH: log, KILN_PACKER_PARITY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('null: start')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await started;
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    assert.ok(Date.now() - t0 < 5000, 'the interrupt ends the 30 s sleep at once');
    assert.equal(sanitize(stdout), expected('sigint'), stderr);
    assert.equal(code, 1);
    const text = readFileSync(log, 'utf8');
    const cleanups = [...text.matchAll(/Cleaning up step (\w+)/g)].map((m) => m[1]);
    assert.deepEqual(cleanups, ['StepProvision', 'StepConnect']);
    assert.match(text, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file builder with checksum, manifest and compress chains: Packer\'s artifacts, in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tr-'));
  try {
    const r = await runKiln(['build', '-machine-readable', '-var', `dir=${dir}`, template('file-chain')]);
    const out = sanitize(r.stdout).replaceAll(dir, '<DIR>').replace(/with \d+ cores/, 'with <CORES> cores');
    assert.equal(out, expected('file-chain'));
    assert.equal(r.code, 0);
    assert.equal(readFileSync(join(dir, 'sums_md5.txt'), 'utf8'), '5d41402abc4b2a76b9719d911017c592\thello.txt\n');
    const manifest = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    assert.deepEqual(manifest.builds[0].files, [
      { name: 'hello.txt', size: 5 },
      { name: 'sums_md5.txt', size: 43 },
      { name: 'sums_sha256.txt', size: 75 },
    ]);
    assert.equal('build_time' in manifest.builds[0], false);
    const tar = spawn('tar', ['-tzf', join(dir, 'out/x.tar.gz')]);
    let listing = '';
    tar.stdout.on('data', (d: Buffer) => (listing += d.toString()));
    assert.equal(await new Promise((r) => tar.on('close', r)), 0);
    assert.equal(listing, 'hello.txt\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-debug pauses after each step, before each provisioner and before each cleanup', async () => {
  const input = new PassThrough();
  const out: string[] = [];
  const io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: () => undefined },
    stdin: Readable.from([]),
    env: { PATH: process.env.PATH ?? '' },
    cwd: process.cwd(),
    machineReadable: false,
    now: () => new Date(),
  };
  const answers = setInterval(() => input.write('\n'), 20);
  try {
    const code = await runBuild(['-debug', '-color=false', template('debug')], io, { tty: () => new StreamLineReader(input) });
    assert.equal(sanitize(out.join('')), expected('debug'));
    assert.equal(code, 0);
  } finally {
    clearInterval(answers);
  }
});

test('-on-error=ask: retry, bad input, then abort (cleanups skipped)', async () => {
  const input = new PassThrough();
  const out: string[] = [];
  const io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: () => undefined },
    stdin: Readable.from([]),
    env: { PATH: process.env.PATH ?? '', KILN_PACKER_PARITY: '1' },
    cwd: process.cwd(),
    machineReadable: false,
    now: () => new Date(),
  };
  const answers = ['r', 'x', 'a'];
  const feeder = setInterval(() => {
    if (out.join('').split('retry step').length - 1 > 3 - answers.length) input.write(`${answers.shift()}\n`);
  }, 20);
  try {
    const code = await runBuild(['-color=false', '-on-error=ask', template('failure')], io, { tty: () => new StreamLineReader(input) });
    assert.equal(sanitize(out.join('')), expected('ask'));
    assert.equal(code, 1);
  } finally {
    clearInterval(feeder);
  }
});

test('builds run in parallel by default and one at a time with -parallel-builds=1', async () => {
  const env = { KILN_PACKER_PARITY: '1' };
  let t0 = Date.now();
  const parallel = await runKiln(['build', '-color=false', template('parallel')], { env });
  const parallelMs = Date.now() - t0;
  t0 = Date.now();
  const serial = await runKiln(['build', '-color=false', '-parallel-builds=1', template('parallel')], { env });
  const serialMs = Date.now() - t0;
  assert.equal(parallel.code, 0);
  assert.equal(serial.code, 0);
  assert.ok(parallelMs < 1100, `three 400 ms builds in parallel took ${parallelMs} ms`);
  assert.ok(serialMs >= 1200, `three 400 ms builds one at a time took ${serialMs} ms`);
  assert.deepEqual(
    [...serial.stdout.matchAll(/Build '(\w)' finished/g)].map((m) => m[1]),
    ['a', 'b', 'c'],
  );
});

test('-timestamp-ui stamps per-build lines only', async () => {
  const r = await runKiln(['build', '-color=false', '-timestamp-ui', template('sensitive')], { env: { KILN_PACKER_PARITY: '1' } });
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d): ==> null: Running local shell script: /);
  assert.match(lines[1], /^\d{4}-.*: {5}null: hi bar-baz <sensitive>, done$/);
  assert.match(lines[2], /^\d{4}-.*: Build 'null' finished after /);
  assert.match(r.stdout, /\n==> Wait completed after /);
});

test('a flag error prints the usage and Go\'s message, exit 1', async () => {
  const r = await runKiln(['build', '-on-error=bogus', template('success')]);
  assert.equal(r.code, 1);
  assert.ok(r.stdout.startsWith('Usage: kiln build [options] TEMPLATE\n'));
  assert.ok(r.stdout.endsWith('invalid value "bogus" for flag -on-error: expected one of ["cleanup" "abort" "ask" "run-cleanup-provisioner"]\n'));
});

test('SIGTERM cancels with "receiving terminated"; a second signal is swallowed', async () => {
  const signals = new EventEmitter();
  let stdout = '';
  const io = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        if (s.includes('null: start')) setTimeout(() => signals.emit('SIGTERM'), 50);
        if (s.includes('Cancelling build')) signals.emit('SIGINT');
      },
    },
    stderr: { write: () => undefined },
    stdin: Readable.from([]),
    env: { PATH: process.env.PATH ?? '' },
    cwd: process.cwd(),
    machineReadable: false,
    now: () => new Date(),
  };
  const code = await runBuild(['-color=false', template('sigint')], io, { signals });
  assert.equal(code, 1);
  assert.equal(sanitize(stdout), expected('sigint').replace('receiving interrupt', 'receiving terminated'));
  assert.equal(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM'), 0);
});
