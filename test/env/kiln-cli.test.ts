/**
 * The pseudo-terminal driver of test/env (runKilnOnTerminal) against the real CLI: a null build
 * (no communicator, two shell-local provisioners) with -debug pauses at every step, before every
 * provisioner and before every cleanup, and goes on only when the driver types Enter.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKilnOnTerminal, type Pause } from './kiln-cli.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-pty-'));
  await writeFile(
    join(dir, 'null.json'),
    JSON.stringify({
      builders: [{ type: 'null', communicator: 'none' }],
      provisioners: [
        { type: 'shell-local', inline: ['echo first-provisioner'] },
        { type: 'shell-local', inline: ['echo second-provisioner'] },
      ],
    }),
  );
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('runKilnOnTerminal', () => {
  it('reports each -debug pause in order and types Enter after onPause', async () => {
    const seen: string[] = [];
    const r = await runKilnOnTerminal(
      ['build', '-debug', '-color=false', 'null.json'],
      { cwd: dir, timeoutMs: 60_000 },
      async (p: Pause) => {
        seen.push(`${p.where}|${p.step}`);
      },
    );
    assert.equal(r.code, 0, r.out);
    const order = [
      'after run of|StepConnect',
      'before the next provisioner|',
      'before the next provisioner|',
      'after run of|StepProvision',
      'before cleanup of|StepProvision',
      'before cleanup of|StepConnect',
    ];
    assert.deepEqual(seen, order, r.out);
    assert.deepEqual(
      r.pauses.map((p) => `${p.where}|${p.step}`),
      order,
    );
    // kiln waited at each pause: what ran before the second provisioner's pause is only the first.
    const second = r.pauses[2].before;
    assert.match(second, /null: first-provisioner\n/);
    assert.doesNotMatch(second, /second-provisioner/);
    assert.match(r.out, /null: second-provisioner\n/);
    assert.doesNotMatch(r.out, /\r/);
  });

  it('runs kiln under opts.prefix (here: as nobody through setpriv)', async () => {
    const tpl = join(dir, 'whoami.json');
    await writeFile(
      tpl,
      JSON.stringify({
        builders: [{ type: 'null', communicator: 'none' }],
        provisioners: [{ type: 'shell-local', inline: ['echo "uid=$(id -u)"'] }],
      }),
    );
    await chmod(dir, 0o755);
    const r = await runKilnOnTerminal(
      ['build', '-debug', '-color=false', tpl],
      {
        cwd: '/',
        env: { HOME: '/nonexistent', TMPDIR: '/tmp' },
        timeoutMs: 60_000,
        prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      },
      async () => {},
    );
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /null: uid=65534\n/);
    assert.equal(r.pauses.length, 5, r.out);
  });

  it('rejects with the error of an onPause that throws', async () => {
    await assert.rejects(
      runKilnOnTerminal(
        ['build', '-debug', '-color=false', 'null.json'],
        { cwd: dir, timeoutMs: 60_000 },
        () => Promise.reject(new Error('looked and found a problem')),
      ),
      /looked and found a problem/,
    );
  });
});
