/**
 * Issue #6 part 4: the SSH connection drops in the middle of a script. Real `kiln build`s of an
 * amazon-ebs template against moto and the test sshd playing the instance; while a long inline
 * script runs, the test kills (SIGKILL) the sshd process serving kiln's connection (found from the
 * script's own pid, so no other connection is touched).
 *
 *   - without `expect_disconnect`: Packer's "Script disconnected unexpectedly…" error, cleanups run
 *     (instance terminated, key pair and group deleted), exit 1, nothing left in moto;
 *   - with `expect_disconnect: true`: the build goes on, kiln reconnects for the next provisioner,
 *     and the AMI is made.
 *
 * The late-sshd and never-sshd cases live in test/communicator/step-connect.test.ts and
 * test/transcripts/null-ssh.test.ts. The set-up and the end-state check are
 * test/reliability/fault-builds.ts's (without its proxy: kiln talks to moto directly). With
 * KILN_RELIABILITY_OUT set, the figures go to $KILN_RELIABILITY_OUT/ssh-drop.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startKiln } from '../env/kiln-cli.js';
import { runCase, setUpWith, tearDown } from './fault-builds.js';

before(setUpWith({ name: 'ssh-drop', proxy: false }));
after(() => tearDown('ssh-drop', 'SSH connection dropped in the middle of a script'));

/** Parent pid and command name of a process, from /proc (undefined once it is gone). */
async function procInfo(pid: number): Promise<{ ppid: number; comm: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    return { ppid, comm };
  } catch {
    return undefined;
  }
}

/** The nearest sshd ancestor of `pid`: the per-connection process serving that session. */
async function sshdOf(pid: number): Promise<number> {
  for (let p = pid; p > 1;) {
    const info = await procInfo(p);
    if (!info) break;
    if (info.comm.startsWith('sshd')) return p;
    p = info.ppid;
  }
  throw new Error(`no sshd above pid ${pid}`);
}

/** The provisioners: a long script that says who it is, then waits for the connection to be cut. */
function provisioners(shell: Record<string, unknown>): unknown[] {
  return [
    { type: 'shell', inline: ['echo "script-pid=$$"', 'sleep 20', 'echo script-finished'], ...shell },
    { type: 'shell', inline: ['echo after-reconnect'] },
  ];
}

/** Runs a build, cuts its SSH connection while the script sleeps, and collects the end state. */
async function dropMidScript(label: string, shell: Record<string, unknown>) {
  const r = await runCase(
    label,
    {},
    async (file, env) => {
      const k = startKiln(['build', '-color=false', file], { env, timeoutMs: 180_000 });
      const m = await k.waitFor(/script-pid=(\d+)/, 120_000);
      const scriptPid = Number(m[1]);
      const sshd = await sshdOf(scriptPid);
      process.kill(sshd, 'SIGKILL');
      const done = await k.done;
      // The orphaned script (and its sleep) would outlive the test otherwise.
      try {
        process.kill(scriptPid, 'SIGKILL');
      } catch {
        /* gone with its session */
      }
      return { code: done.code, out: done.out, faults: 1 };
    },
    { provisioners: provisioners(shell) },
  );
  return { ...r, ami: r.amis['us-east-1'] };
}

describe('the SSH connection drops in the middle of a script', () => {
  it("without expect_disconnect: Packer's error, cleanups run, exit 1, nothing left", async () => {
    const r = await dropMidScript('connection killed mid-script', {});
    assert.equal(r.code, 1, r.out);
    // parity: Packer's text, then the build's failure line.
    assert.match(
      r.out,
      /Build 'amazon-ebs' errored after .*: Script disconnected unexpectedly\. If you expected your script to disconnect, i\.e\. from a restart, you can try adding `"expect_disconnect": true` or `"valid_exit_codes": \[0, 2300218\]` to the shell provisioner parameters\./,
    );
    assert.doesNotMatch(r.out, /script-finished|after-reconnect/);
    assert.match(r.out, /==> amazon-ebs: Terminating the source AWS instance\.\.\./);
    assert.match(r.out, /==> amazon-ebs: Deleting temporary security group\.\.\./);
    assert.match(r.out, /==> amazon-ebs: Deleting temporary keypair\.\.\./);
    assert.doesNotMatch(r.out, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
    assert.equal(r.launched, 1);
    assert.deepEqual(r.leaked, []);
  });

  it('with expect_disconnect: true the build goes on and the next provisioner reconnects', async () => {
    const r = await dropMidScript('connection killed mid-script, expect_disconnect', {
      expect_disconnect: true,
    });
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /script-finished/);
    assert.match(r.out, /amazon-ebs: after-reconnect/);
    assert.ok(r.ami, r.out);
    assert.equal(r.launched, 1);
    assert.deepEqual(r.leaked, []);
  });
});
