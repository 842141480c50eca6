import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeLog, configureLog, debugLog, logEnabled, logRequested } from './log.js';

test('PACKER_LOG enables the log unless empty or "0"', () => {
  assert.equal(logRequested({}), false);
  assert.equal(logRequested({ PACKER_LOG: '' }), false);
  assert.equal(logRequested({ PACKER_LOG: '0' }), false);
  assert.equal(logRequested({ PACKER_LOG: '1' }), true);
  configureLog({ env: { PACKER_LOG: '0' }, stderr: { write: () => assert.fail('no log wanted') } });
  assert.equal(logEnabled(), false);
  debugLog('nothing');
});

test('on stderr: Go log lines, secrets masked, ui lines dropped', () => {
  let text = '';
  configureLog({ env: { PACKER_LOG: '1' }, stderr: { write: (s: string) => (text += s) }, mask: (s) => s.replaceAll('pw1', '<sensitive>') });
  try {
    debugLog('[INFO] connecting with pw1');
    debugLog('ui: ==> null: hello');
    debugLog('ui error: ==> null: bad');
  } finally {
    closeLog();
  }
  assert.match(text, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[INFO\] connecting with <sensitive>\n$/);
});

test('PACKER_LOG_PATH writes every line, ui lines included, to the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-log-'));
  try {
    const path = join(dir, 'log.txt');
    configureLog({ env: { PACKER_LOG: '1', PACKER_LOG_PATH: path }, stderr: { write: () => assert.fail('not on stderr') } });
    debugLog('ui: ==> null: hello');
    closeLog();
    assert.match(readFileSync(path, 'utf8'), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d ui: ==> null: hello\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on stderr a multi-line ui entry is dropped whole', () => {
  let text = '';
  configureLog({ env: { PACKER_LOG: '1' }, stderr: { write: (s: string) => (text += s) } });
  try {
    debugLog('ui: ==> null: a\n    null: b');
    debugLog('kept\nsecond line');
  } finally {
    closeLog();
  }
  assert.match(text, /^\S+ \S+ kept\n\S+ \S+ second line\n$/);
});
