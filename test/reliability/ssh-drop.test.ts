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
 * test/transcripts/null-ssh.test.ts. With KILN_RELIABILITY_OUT set, the figures go to
 * $KILN_RELIABILITY_OUT/ssh-drop.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFigures } from './figures.js';
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { motoEc2, startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import { AWS_TEST_ENV, startKiln } from '../env/kiln-cli.js';
import { leftovers, removeLeftovers } from './leaks.js';

let moto: Moto;
let inst: MotoInstance;
let api: EC2Client;
let dir: string;

interface Row {
  case: string;
  exit: number | null;
  faults: number;
  runInstances: number;
  leaked: string[];
}
const rows: Row[] = [];

before(async () => {
  moto = await startMoto();
  inst = await startMotoInstance(moto);
  api = motoEc2(moto);
  dir = await mkdtemp(join(tmpdir(), 'kiln-ssh-drop-'));
});

after(async () => {
  await writeFigures({
    area: 'ssh-drop',
    title: 'SSH connection dropped in the middle of a script',
    rows,
    faults: (r) => r.faults,
  });
  api?.destroy();
  await inst?.stop();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

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

function template(name: string, shell: Record<string, unknown>): unknown {
  return {
    builders: [
      {
        type: 'amazon-ebs',
        region: 'us-east-1',
        ami_name: `kiln-ssh-drop-${name}-{{timestamp}}`,
        instance_type: 't4g.medium',
        source_ami: moto.seed.source_ami,
        subnet_id: moto.seed.most_free_subnet,
        ssh_username: inst.user,
        ssh_host: '127.0.0.1',
        ssh_port: String(inst.port),
        ssh_timeout: '1m',
        custom_endpoint_ec2: moto.endpoint,
        aws_polling: { delay_seconds: 1, max_attempts: 60 },
      },
    ],
    provisioners: [
      // A long script: it says who it is, then waits for the connection to be cut.
      { type: 'shell', inline: ['echo "script-pid=$$"', 'sleep 20', 'echo script-finished'], ...shell },
      { type: 'shell', inline: ['echo after-reconnect'] },
    ],
  };
}

async function instanceCount(): Promise<number> {
  const out = await api.send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? []).reduce((n, r) => n + (r.Instances?.length ?? 0), 0);
}

/** Runs a build, cuts its SSH connection while the script sleeps, and collects the end state. */
async function dropMidScript(label: string, shell: Record<string, unknown>) {
  const file = join(dir, `${rows.length}.json`);
  await writeFile(file, JSON.stringify(template(String(rows.length), shell)));
  const before = await instanceCount();
  const k = startKiln(['build', '-color=false', file], {
    env: { ...AWS_TEST_ENV, KILN_TEST_SSH_RETRY_MS: '500' },
    timeoutMs: 180_000,
  });
  const m = await k.waitFor(/script-pid=(\d+)/, 120_000);
  const scriptPid = Number(m[1]);
  const sshd = await sshdOf(scriptPid);
  process.kill(sshd, 'SIGKILL');
  const r = await k.done;
  // The orphaned script (and its sleep) would outlive the test otherwise.
  try {
    process.kill(scriptPid, 'SIGKILL');
  } catch {
    /* gone with its session */
  }
  const launched = (await instanceCount()) - before;
  const ami = /--> amazon-ebs: AMIs were created:\nus-east-1: (ami-[0-9a-f]+)/.exec(r.out)?.[1];
  if (ami) {
    const img = (await api.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available', r.out);
    await api.send(new DeregisterImageCommand({ ImageId: ami }));
    for (const bd of img?.BlockDeviceMappings ?? []) {
      if (bd.Ebs?.SnapshotId) await api.send(new DeleteSnapshotCommand({ SnapshotId: bd.Ebs.SnapshotId }));
    }
  }
  const leaked = await leftovers(api, moto.seed);
  rows.push({ case: label, exit: r.code, faults: 1, runInstances: launched, leaked });
  if (leaked.length > 0) await removeLeftovers(api, moto.seed);
  return { ...r, ami, leaked, launched };
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
