/**
 * Crash recovery with the real builder: `kiln build` (amazon-ebs against moto) is killed with
 * SIGKILL at several points of its sequence, so its own cleanup never runs; then
 * `kiln cleanup -older-than=0s` must leave no resource tagged kiln-run-id alive — including the
 * half-made AMI and its snapshot when the kill lands while the AMI is being made (the builder
 * creates it tagged kiln-state=incomplete).
 *
 * With KILN_RELIABILITY_OUT set, the figures go to $KILN_RELIABILITY_OUT/kill.json
 * (scripts/reliability-report.mjs turns them into docs/reliability.md).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFigures } from '../reliability/figures.js';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AWS_TEST_ENV, onlyEnv, runKiln, startKiln } from '../env/kiln-cli.js';
import { startEc2Proxy, type Ec2Proxy } from '../env/ec2-proxy.js';
import { motoEc2, startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import { freePort } from '../env/ssh-env.js';
import { RUN_ID_TAG } from '../../src/cleanup/tags.js';

const ENV = onlyEnv({ PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...AWS_TEST_ENV });

let moto: Moto;
let inst: MotoInstance;
let proxy: Ec2Proxy;
let ec2: EC2Client;
let dir: string;

interface Row {
  case: string;
  /** How the build ended (always the SIGKILL) and what `kiln cleanup` exited with. */
  exit: string;
  /** Tagged resources the killed build left, all of which cleanup has to remove. */
  left: string[];
  /** Tagged resources still alive after `kiln cleanup` (the target is none). */
  leaked: string[];
}
const rows: Row[] = [];

before(async () => {
  moto = await startMoto();
  inst = await startMotoInstance(moto);
  proxy = await startEc2Proxy(moto.endpoint);
  ec2 = motoEc2(moto);
  dir = await mkdtemp(join(tmpdir(), 'kiln-cleanup-kill-'));
});

after(async () => {
  await writeFigures({
    area: 'kill',
    title: 'kill -9 of kiln build at each point, then kiln cleanup',
    rows,
    // The "faults" here are the resources the dead builds left for cleanup.
    faults: (r) => r.left.length,
  });
  ec2?.destroy();
  await proxy?.stop();
  await inst?.stop();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const tagged = [{ Name: 'tag-key', Values: [RUN_ID_TAG] }];

/** Every live resource carrying kiln-run-id, as `kind id`. */
async function taggedAlive(): Promise<string[]> {
  const out: string[] = [];
  const live = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
  for (const r of (
    await ec2.send(
      new DescribeInstancesCommand({ Filters: [...tagged, { Name: 'instance-state-name', Values: live }] }),
    )
  ).Reservations ?? []) {
    for (const i of r.Instances ?? []) out.push(`instance ${i.InstanceId}`);
  }
  for (const v of (await ec2.send(new DescribeVolumesCommand({ Filters: tagged }))).Volumes ?? [])
    out.push(`volume ${v.VolumeId}`);
  for (const g of (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged }))).SecurityGroups ??
    [])
    out.push(`security group ${g.GroupId}`);
  for (const k of (await ec2.send(new DescribeKeyPairsCommand({ Filters: tagged }))).KeyPairs ?? [])
    out.push(`key pair ${k.KeyName}`);
  const snaps = new Set<string>();
  for (const i of (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: tagged }))).Images ??
    []) {
    out.push(`AMI ${i.ImageId}`);
    // A half-made AMI's snapshots go with it, tagged or not.
    for (const m of i.BlockDeviceMappings ?? []) if (m.Ebs?.SnapshotId) snaps.add(m.Ebs.SnapshotId);
  }
  for (const s of (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: tagged })))
    .Snapshots ?? [])
    snaps.add(s.SnapshotId ?? '');
  for (const s of snaps) out.push(`snapshot ${s}`);
  return out;
}

/** Which of `resources` (as `kind id`) are still alive, after cleanup: tagged ones and the snapshots seen before. */
async function stillAlive(resources: string[]): Promise<string[]> {
  const out = await taggedAlive();
  const wanted = resources.filter((r) => r.startsWith('snapshot ')).map((r) => r.slice('snapshot '.length));
  if (wanted.length > 0) {
    for (const s of (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []) {
      if (wanted.includes(s.SnapshotId ?? '') && !out.includes(`snapshot ${s.SnapshotId}`))
        out.push(`snapshot ${s.SnapshotId}`);
    }
  }
  return out;
}

/** The point to kill at: a condition on the tagged resources alive and the build's output. */
interface Point {
  name: string;
  ready(alive: string[], out: string): boolean;
  /** The build reaches the instance's sshd (else an SSH port nobody listens on: it waits forever). */
  ssh?: boolean;
}

const POINTS: Point[] = [
  { name: 'after the key pair', ready: (a) => a.some((x) => x.startsWith('key pair ')) },
  { name: 'after the security group', ready: (a) => a.some((x) => x.startsWith('security group ')) },
  { name: 'while waiting for the instance', ready: (a) => a.some((x) => x.startsWith('instance ')) },
  {
    name: 'while waiting for SSH',
    ready: (a, out) =>
      a.some((x) => x.startsWith('instance ')) && out.includes('Waiting for SSH to become available...'),
  },
  {
    // The proxy holds every DescribeImages after CreateImage: the build sits in "Waiting for AMI".
    name: 'while waiting for the AMI',
    ssh: true,
    ready: (a, out) =>
      a.some((x) => x.startsWith('AMI ')) && out.includes('Waiting for AMI to become ready...'),
  },
];

for (const point of POINTS) {
  test(`kill -9 ${point.name}, then kiln cleanup: nothing tagged remains`, async () => {
    assert.deepEqual(await taggedAlive(), [], 'a clean account to start with');
    let imageMade = false;
    proxy.setPolicy(({ action }) => {
      if (action === 'CreateImage') imageMade = true;
      return imageMade && action === 'DescribeImages' ? { delayMs: 120_000 } : 'pass';
    });
    const template = {
      builders: [
        {
          type: 'amazon-ebs',
          region: 'us-east-1',
          source_ami: moto.seed.source_ami,
          instance_type: 't4g.medium',
          ssh_username: point.ssh ? inst.user : 'ec2-user',
          ami_name: `kiln-kill-${Date.now()}`,
          custom_endpoint_ec2: proxy.endpoint,
          subnet_id: moto.seed.subnets['vpc-dev-private-us-east-1a'],
          ssh_host: '127.0.0.1',
          ssh_port: point.ssh ? inst.port : await freePort(),
          ssh_timeout: '10m',
        },
      ],
    };
    const file = join(dir, `t-${Date.now()}.json`);
    await writeFile(file, JSON.stringify(template));
    const build = startKiln(['build', '-color=false', file], { env: ENV });
    let alive: string[] = [];
    const deadline = Date.now() + 120_000;
    try {
      for (;;) {
        alive = await taggedAlive();
        if (point.ready(alive, build.out())) break;
        if (build.child.exitCode !== null)
          assert.fail(`kiln build ended before the point (${build.child.exitCode}):\n${build.out()}`);
        if (Date.now() > deadline) assert.fail(`point not reached in 120s:\n${build.out()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      build.child.kill('SIGKILL');
      await build.done;
    }
    // The dead build's resources are there (a test that cannot fail is a defect)…
    alive = await taggedAlive();
    assert.ok(alive.length > 0, 'the killed build left tagged resources');
    proxy.setPolicy(() => 'pass');
    const r = await runKiln(
      ['cleanup', '-region', 'us-east-1', '-endpoint', moto.endpoint, '-older-than=0s'],
      { env: ENV, timeoutMs: 180_000 },
    );
    const leaked = await stillAlive(alive);
    rows.push({ case: point.name, exit: `SIGKILL; cleanup exit ${r.code}`, left: alive, leaked });
    assert.equal(r.code, 0, r.out);
    // …every one was named and removed, and nothing tagged is left.
    const named = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('Deleting '))
      .map((l) => l.replace(/^Deleting (.+?) \(run .*$/, '$1'));
    for (const x of alive.filter((a) => !a.startsWith('snapshot ')))
      assert.ok(named.includes(x), `${x} named in:\n${r.stdout}`);
    assert.deepEqual(leaked, []);
  });
}
