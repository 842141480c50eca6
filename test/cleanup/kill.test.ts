/**
 * Crash recovery with the real builder: `kiln build` (amazon-ebs against moto) is killed with
 * SIGKILL at several points of its sequence, so its own cleanup never runs; then
 * `kiln cleanup -older-than=0s` must leave no resource tagged kiln-run-id alive.
 *
 * Not covered yet: a kill while the AMI is being made (the builder does not mark AMIs with
 * kiln-run-id/kiln-state; see docs/reliability.md "kiln cleanup").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../env/moto.js';
import { freePort } from '../env/ssh-env.js';
import { RUN_ID_TAG } from '../../src/cleanup/tags.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ENV = {
  PATH: process.env.PATH ?? '',
  HOME: '/nonexistent',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_EC2_METADATA_DISABLED: 'true',
};

let moto: Moto;
let ec2: EC2Client;
let dir: string;

before(async () => {
  moto = await startMoto();
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  dir = await mkdtemp(join(tmpdir(), 'kiln-cleanup-kill-'));
});

after(async () => {
  ec2?.destroy();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const tagged = [{ Name: 'tag-key', Values: [RUN_ID_TAG] }];

/** Every live resource carrying kiln-run-id, as `kind id`. */
async function taggedAlive(): Promise<string[]> {
  const out: string[] = [];
  const live = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
  for (const r of (await ec2.send(new DescribeInstancesCommand({ Filters: [...tagged, { Name: 'instance-state-name', Values: live }] }))).Reservations ?? []) {
    for (const i of r.Instances ?? []) out.push(`instance ${i.InstanceId}`);
  }
  for (const v of (await ec2.send(new DescribeVolumesCommand({ Filters: tagged }))).Volumes ?? []) out.push(`volume ${v.VolumeId}`);
  for (const g of (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged }))).SecurityGroups ?? []) out.push(`security group ${g.GroupId}`);
  for (const k of (await ec2.send(new DescribeKeyPairsCommand({ Filters: tagged }))).KeyPairs ?? []) out.push(`key pair ${k.KeyName}`);
  return out;
}

function kilnCleanup(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'kiln'), 'cleanup', '-region', 'us-east-1', '-endpoint', moto.endpoint, '-older-than=0s'],
      { cwd: ROOT, env: ENV, timeout: 180_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The points to kill at: a condition on the tagged resources alive (and the build's output). */
const POINTS: Array<[string, (alive: string[], out: string) => boolean]> = [
  ['after the key pair', (a) => a.some((x) => x.startsWith('key pair '))],
  ['after the security group', (a) => a.some((x) => x.startsWith('security group '))],
  ['while waiting for the instance', (a) => a.some((x) => x.startsWith('instance '))],
  ['while waiting for SSH', (a, out) => a.some((x) => x.startsWith('instance ')) && out.includes('Waiting for SSH to become available...')],
];

for (const [point, ready] of POINTS) {
  test(`kill -9 ${point}, then kiln cleanup: nothing tagged remains`, async () => {
    assert.deepEqual(await taggedAlive(), [], 'a clean account to start with');
    // An SSH port nobody listens on: the build waits for SSH until it is killed.
    const template = {
      builders: [
        {
          type: 'amazon-ebs',
          region: 'us-east-1',
          source_ami: moto.seed.source_ami,
          instance_type: 't4g.medium',
          ssh_username: 'ec2-user',
          ami_name: `kiln-kill-${Date.now()}`,
          custom_endpoint_ec2: moto.endpoint,
          subnet_id: moto.seed.subnets['vpc-dev-private-us-east-1a'],
          ssh_host: '127.0.0.1',
          ssh_port: await freePort(),
          ssh_timeout: '10m',
        },
      ],
    };
    const file = join(dir, `t-${Date.now()}.json`);
    await writeFile(file, JSON.stringify(template));
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'kiln'), 'build', '-color=false', file], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let alive: string[] = [];
    const deadline = Date.now() + 120_000;
    try {
      for (;;) {
        alive = await taggedAlive();
        if (ready(alive, out)) break;
        if (child.exitCode !== null) assert.fail(`kiln build ended before the point (${child.exitCode}):\n${out}`);
        if (Date.now() > deadline) assert.fail(`point not reached in 120s:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // The dead build's resources are there (a test that cannot fail is a defect)…
    alive = await taggedAlive();
    assert.ok(alive.length > 0, 'the killed build left tagged resources');
    const r = await kilnCleanup();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // …every one was named and removed, and nothing tagged is left.
    const named = r.stdout.split('\n').filter((l) => l.startsWith('Deleting ')).map((l) => l.replace(/^Deleting (.+?) \(run .*$/, '$1'));
    for (const x of alive) assert.ok(named.includes(x), `${x} named in:\n${r.stdout}`);
    assert.deepEqual(await taggedAlive(), []);
  });
}
