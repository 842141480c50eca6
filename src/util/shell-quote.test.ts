import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { escapeSingleQuotes, shellQuote } from './shell-quote.js';

test("escapes ' the way Packer does", () => {
  assert.equal(escapeSingleQuotes("it's"), `it'"'"'s`);
});

test('quoted words survive /bin/sh unchanged', () => {
  for (const w of ['', 'plain', "it's", '$(id) `id` "q" \\ ; & | \n end', "''''", '-n']) {
    const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(w)}`], { encoding: 'utf8' });
    assert.equal(out, w);
  }
});
