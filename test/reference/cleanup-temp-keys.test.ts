/**
 * ssh_clear_authorized_keys with several builds reaching one machine: each build's cleanup edits the
 * same authorized_keys with `sed -i` (read, copy, rename), so two at once would write back each
 * other's key. The step runs them one after the other per user@host:port (a fake communicator
 * records the overlap; the real ten-build case is many-builds.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stepCleanupTempKeys } from '../../src/communicator/step-cleanup-temp-keys.js';
import type { ProvisionState } from '../../src/core/runner/index.js';
import type { Communicator } from '../../src/core/types.js';
import type { Ui } from '../../src/ui/ui.js';

const ui: Ui = {
  say() {},
  message() {},
  error() {},
  machine() {},
  ask: () => Promise.reject(new Error('no terminal')),
};

function recorder() {
  let running = 0;
  let maxRunning = 0;
  const log: string[] = [];
  const comm = (who: string): Communicator =>
    ({
      async start(cmd: { command: string }) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        log.push(`${who}:${cmd.command.startsWith('sudo') ? 'root' : 'user'}`);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return 0;
      },
    }) as unknown as Communicator;
  return { comm, log, max: () => maxRunning };
}

function state(comm: Communicator, host: string): ProvisionState {
  return {
    communicator: comm,
    connection: { type: 'ssh', host, port: 22, user: 'ec2-user', password: '' },
  };
}

async function cleanAll(states: ProvisionState[]): Promise<void> {
  await Promise.all(
    states.map((s, i) =>
      stepCleanupTempKeys<ProvisionState>({
        clearAuthorizedKeys: true,
        type: 'ssh',
        keyPairName: `packer_${i}`,
      }).run(s, { ui, signal: new AbortController().signal }),
    ),
  );
}

describe('ssh_clear_authorized_keys, builds at once', () => {
  it('runs the cleanups of builds on the same machine one after the other', async () => {
    const r = recorder();
    await cleanAll(['a', 'b', 'c', 'd'].map((w) => state(r.comm(w), '127.0.0.1')));
    assert.equal(r.max(), 1);
    // each build's two commands are adjacent: nobody's edit lands between them
    assert.deepEqual(
      r.log.filter((_, i) => i % 2 === 0).map((l) => l.split(':')[0]),
      r.log.filter((_, i) => i % 2 === 1).map((l) => l.split(':')[0]),
    );
    assert.equal(r.log.length, 8);
  });

  it('lets builds on different machines clean up at the same time', async () => {
    const r = recorder();
    await cleanAll(['instance-a', 'instance-b', 'instance-c'].map((h) => state(r.comm(h), h)));
    assert.equal(r.max(), 3);
  });
});
