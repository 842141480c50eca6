import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { BasicUi } from './basic.js';
import { ColoredUi, buildColor } from './colored.js';
import { rfc3339Local } from './timestamped.js';
import { TargetedUi } from './targeted.js';
import { MachineReadableUi } from './machine.js';
import { LineEmitter, cleanOutputLine } from './output-lines.js';
import { StreamLineReader } from './tty.js';
import { buildUi, targetUi } from './compose.js';

function sink(): { text: string; write(s: string): void } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

test('targeted UI prefixes every line, then trims trailing whitespace of the whole result only', () => {
  const out = sink();
  const ui = new TargetedUi(new BasicUi({ out }), 'null');
  ui.say('one\ntwo\n');
  ui.message('hi  \n');
  ui.error('bad');
  // Like Packer: a final newline leaves a bare prefix line; inner trailing spaces stay.
  assert.equal(out.text, '==> null: one\n==> null: two\n==> null:\n    null: hi  \n    null:\n==> null: bad\n');
});

test('coloured UI: bold build colour for say, plain colour for message, bold red for error', () => {
  const out = sink();
  const ui = new TargetedUi(new ColoredUi(new BasicUi({ out }), buildColor(0)), 'null');
  ui.say('a\nb');
  ui.message('m');
  ui.error('e');
  assert.equal(
    out.text,
    '\x1b[1;32m==> null: a\n==> null: b\x1b[0m\n\x1b[0;32m    null: m\x1b[0m\n\x1b[1;31m==> null: e\x1b[0m\n',
  );
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(buildColor), [32, 36, 35, 33, 34, 32]);
});

test('coloured UI without colour support passes text through', () => {
  const out = sink();
  new ColoredUi(new BasicUi({ out }), 32, false).say('x');
  assert.equal(out.text, 'x\n');
});

test('timestamps go before the targeted prefix of the first line only', () => {
  const out = sink();
  const fixed = new Date(Date.UTC(2026, 10, 24, 1, 17, 14));
  const base = buildUi(new BasicUi({ out }), { index: 0, color: false, colorSupported: true, timestamp: true, now: () => fixed });
  targetUi(base, 'b').say('x\ny');
  const stamp = rfc3339Local(fixed);
  assert.equal(out.text, `${stamp}: ==> b: x\n==> b: y\n`);
  assert.match(stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
});

test('human output masks secrets', () => {
  const out = sink();
  const ui = new BasicUi({ out, mask: (s) => s.replaceAll('s3cr3t', '<sensitive>') });
  ui.message('    null: hi s3cr3t');
  assert.equal(out.text, '    null: hi <sensitive>\n');
});

test('machine-readable lines escape commas and newlines, target ui events by prefix, mask secrets', () => {
  const out = sink();
  const m = new MachineReadableUi({ out, now: () => new Date(1795482144_000), mask: (s) => s.replaceAll('pw', '<sensitive>') });
  new TargetedUi(m, 'null').say('Running, now pw');
  m.machine('error-count', '1');
  new TargetedUi(m, 'null').machine('artifact', '0', 'string', 'a\nb\rc');
  m.machine('version');
  assert.equal(
    out.text,
    '1795482144,,ui,say,==> null: Running%!(PACKER_COMMA) now <sensitive>\n' +
      '1795482144,,error-count,1\n' +
      '1795482144,null,artifact,0,string,a\\nb\\rc\n' +
      '1795482144,,version,\n',
  );
});

test("machine-readable UI can't ask", async () => {
  await assert.rejects(new MachineReadableUi({ out: sink() }).ask('q?'), /machine-readable UI can't ask/);
});

test('ask without a terminal fails with "no available tty" and prints nothing', async () => {
  const out = sink();
  await assert.rejects(new BasicUi({ out }).ask('Press enter'), /^Error: no available tty$/);
  assert.equal(out.text, '');
});

test('ask prints the query plus a space and returns the trimmed line', async () => {
  const out = sink();
  const input = new PassThrough();
  const ui = new TargetedUi(new BasicUi({ out, tty: () => new StreamLineReader(input) }), 'null');
  const answer = ui.ask('Press enter to continue.');
  input.write('  yes \nnext\n');
  assert.equal(await answer, 'yes');
  assert.equal(out.text, '==> null: Press enter to continue. ');
  assert.equal(await ui.ask('again'), 'next');
});

test('an interrupted ask prints a newline and every later ask fails', async () => {
  const out = sink();
  const ctl = new AbortController();
  const ui = new BasicUi({ out, tty: () => new StreamLineReader(new PassThrough()) });
  const answer = ui.ask('q', ctl.signal);
  setTimeout(() => ctl.abort(), 5);
  await assert.rejects(answer, /interrupted/);
  assert.equal(out.text, 'q \n');
  await assert.rejects(ui.ask('again'), /interrupted/);
});

test('command output lines: trailing space trimmed, text before the last CR dropped, empty lines skipped', async () => {
  assert.equal(cleanOutputLine('50%\r100%\r\n'), '100%');
  assert.equal(cleanOutputLine('hi  '), 'hi');
  const lines: string[] = [];
  const w = new LineEmitter((l) => lines.push(l));
  w.write('a\n\nb');
  w.write(Buffer.from([0xc3]));
  w.write(Buffer.from([0xa9, 0x0a]));
  w.end('tail');
  await new Promise((r) => w.on('finish', r));
  assert.deepEqual(lines, ['a', 'bé', 'tail']);
});

test('interrupt() ends a pending question with a newline before anything else is printed', async () => {
  const out = sink();
  const ui = new BasicUi({ out, tty: () => new StreamLineReader(new PassThrough()) });
  const answer = ui.ask('q');
  await new Promise((r) => setTimeout(r, 5));
  ui.interrupt();
  ui.error('Cancelling build after receiving interrupt');
  await assert.rejects(answer, /^Error: interrupted$/);
  assert.equal(out.text, 'q \nCancelling build after receiving interrupt\n');
  await assert.rejects(ui.ask('later'), /interrupted/);
});
