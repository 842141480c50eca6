import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ui } from '../../ui/ui.js';
import { runStreaming } from './run.js';

function ui(onMessage: (line: string) => void): Ui {
  return {
    say: () => undefined,
    message: onMessage,
    error: () => undefined,
    machine: () => undefined,
    ask: () => Promise.reject(new Error('no tty')),
  };
}

test('output is streamed line by line while the command runs, trailing whitespace trimmed', async () => {
  // The command prints a line and then waits for a file that the test creates only once that line
  // reached the UI: buffering the output until the command ends would never finish.
  const dir = mkdtempSync(join(tmpdir(), 'kiln-run-test'));
  const flag = join(dir, 'seen');
  const lines: string[] = [];
  try {
    await runStreaming(
      'sh',
      [
        '-c',
        `printf 'first  \\t\\n'; echo err-line >&2; while [ ! -e '${flag}' ]; do sleep 0.05; done; printf 'second\\nno newline'`,
      ],
      { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      ui((l) => {
        lines.push(l);
        if (l === 'first') writeFileSync(flag, '');
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(lines.sort(), ['err-line', 'first', 'no newline', 'second']);
});

test('failures are worded as Packer words them', async () => {
  const quiet = ui(() => undefined);
  await assert.rejects(runStreaming('sh', ['-c', 'exit 3'], {}, quiet), {
    message: 'Non-zero exit status: exit status 3',
  });
  await assert.rejects(runStreaming('sh', ['-c', 'kill -KILL $$'], {}, quiet), {
    message: 'Non-zero exit status: signal: killed',
  });
  await assert.rejects(runStreaming('/nonexistent/ansible-playbook', [], {}, quiet), {
    message: 'fork/exec /nonexistent/ansible-playbook: no such file or directory',
  });
  await assert.rejects(runStreaming('no-such-ansible-kiln', [], { PATH: '/usr/bin' }, quiet), {
    message: 'exec: "no-such-ansible-kiln": executable file not found in $PATH',
  });
});
