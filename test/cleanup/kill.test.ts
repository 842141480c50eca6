/**
 * Crash recovery with the real builder: `kiln build` (amazon-ebs against moto) is killed with
 * SIGKILL at every point of its sequence, so its own cleanup never runs (or, for the orphaned
 * snapshot, dies in the middle of it); then one `kiln cleanup -older-than=0s`, as a user runs it
 * after a crash, must leave nothing of any killed build: no instance running, no key pair,
 * security group, volume, AMI or snapshot (checked through the EC2 API on moto, not through kiln).
 * A finished AMI of a build that succeeded on the same moto at the same time is never touched.
 *
 * Each point has its own EC2 proxy (test/env/ec2-proxy.ts) between kiln and moto, whose policy
 * brings the build to the point: it lets a create reach moto but holds the answer back (the
 * resource exists, kiln has not heard of it: only its tags can find it), or drops a wait's
 * requests unanswered (they never reach moto; the SDK retries, kiln keeps waiting). The killed
 * builds run side by side (KILN_KILL_CONCURRENCY, default 4) on one moto and one instance sshd;
 * each build is told apart by the kiln-run-id its first create carried.
 *
 * With KILN_RELIABILITY_OUT set, the figures go to $KILN_RELIABILITY_OUT/kill.json
 * (scripts/reliability-report.mjs turns them into docs/reliability.md).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { writeFigures } from '../reliability/figures.js';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type Filter,
  type Tag,
} from '@aws-sdk/client-ec2';
import { AWS_TEST_ENV, onlyEnv, runKiln, startKiln, type RunningKiln } from '../env/kiln-cli.js';
import { startEc2Proxy, type Ec2Proxy, type ProxyDecision, type ProxyPolicy } from '../env/ec2-proxy.js';
import { motoEc2, startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import { freePort } from '../env/ssh-env.js';
import { RUN_ID_TAG, STATE_TAG } from '../../src/cleanup/tags.js';

/** How long a create's answer is held back (the kill lands inside; only a timer outlives it). */
const HOLD_MS = 15_000;
const CONCURRENCY = Math.max(1, Number(process.env.KILN_KILL_CONCURRENCY) || 4);

let moto: Moto;
let inst: MotoInstance;
let ec2: EC2Client;
let ec2West: EC2Client;
let dir: string;
let env: Record<string, string | undefined>;

interface Row {
  case: string;
  /** How the build ended (always the SIGKILL) and what `kiln cleanup` exited with. */
  exit: string;
  /** Resources of the killed build alive before cleanup, all of which cleanup has to remove. */
  left: string[];
  /** Of those, what is still alive after `kiln cleanup` (the target is none). */
  leaked: string[];
}
const rows: Row[] = [];

before(async () => {
  moto = await startMoto();
  inst = await startMotoInstance(moto);
  ec2 = motoEc2(moto);
  ec2West = motoEc2(moto, COPY_REGION);
  dir = await mkdtemp(join(tmpdir(), 'kiln-cleanup-kill-'));
  env = onlyEnv({
    PATH: process.env.PATH ?? '',
    HOME: dir, // ansible-playbook keeps its temporary files in ~/.ansible
    KILN_TEST_SSH_RETRY_MS: '500',
    ...AWS_TEST_ENV,
  });
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
  ec2West?.destroy();
  await inst?.stop();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const LIVE = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** The region of the region-copy point's copy; its resources are listed as `us-west-2 <kind> <id>`. */
const COPY_REGION = 'us-west-2';

/** The kind of a resource line (`AMI`, `key pair`, `us-west-2 AMI`…). */
const kindOf = (line: string) => line.replace(/ [^ ]+$/, '');
/** A resource line as `kiln cleanup` names it (`<kind> <id>`, whatever the region). */
const asNamed = (line: string) => line.replace(`${COPY_REGION} `, '');

/**
 * Every live resource of run `runId` (by its kiln-run-id tag) in both regions, plus the snapshots of
 * its AMIs, as `kind id` (`us-west-2 kind id` in the copy's region).
 */
async function ofRun(runId: string): Promise<string[]> {
  const tagged: Filter[] = [{ Name: `tag:${RUN_ID_TAG}`, Values: [runId] }];
  const out: string[] = [];
  for (const [client, prefix] of [
    [ec2, ''],
    [ec2West, `${COPY_REGION} `],
  ] as const) {
    const instances = await client.send(
      new DescribeInstancesCommand({ Filters: [...tagged, { Name: 'instance-state-name', Values: LIVE }] }),
    );
    for (const r of instances.Reservations ?? [])
      for (const i of r.Instances ?? []) out.push(`${prefix}instance ${i.InstanceId}`);
    for (const v of (await client.send(new DescribeVolumesCommand({ Filters: tagged }))).Volumes ?? [])
      out.push(`${prefix}volume ${v.VolumeId}`);
    for (const g of (await client.send(new DescribeSecurityGroupsCommand({ Filters: tagged })))
      .SecurityGroups ?? [])
      out.push(`${prefix}security group ${g.GroupId}`);
    for (const k of (await client.send(new DescribeKeyPairsCommand({ Filters: tagged }))).KeyPairs ?? [])
      out.push(`${prefix}key pair ${k.KeyName}`);
    const snaps = new Set<string>();
    for (const i of (await client.send(new DescribeImagesCommand({ Owners: ['self'], Filters: tagged })))
      .Images ?? []) {
      out.push(`${prefix}AMI ${i.ImageId}`);
      for (const m of i.BlockDeviceMappings ?? []) if (m.Ebs?.SnapshotId) snaps.add(m.Ebs.SnapshotId);
    }
    for (const s of (await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: tagged })))
      .Snapshots ?? [])
      snaps.add(s.SnapshotId ?? '');
    for (const s of snaps) out.push(`${prefix}snapshot ${s}`);
  }
  return out;
}

/** Which of `before` are alive now: the run's tagged resources, and its snapshots even untagged. */
async function stillAlive(runId: string, before: string[]): Promise<string[]> {
  const out = await ofRun(runId);
  for (const [client, prefix] of [
    [ec2, ''],
    [ec2West, `${COPY_REGION} `],
  ] as const) {
    const snaps = before.filter((r) => r.startsWith(`${prefix}snapshot `)).map((r) => r.replace(/^.* /, ''));
    if (snaps.length === 0) continue;
    for (const s of (await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ??
      []) {
      const line = `${prefix}snapshot ${s.SnapshotId}`;
      if (snaps.includes(s.SnapshotId ?? '') && !out.includes(line)) out.push(line);
    }
  }
  return out;
}

/** The kiln-run-id value in a create's TagSpecification parameters, if any. */
function runIdIn(params: URLSearchParams): string | undefined {
  for (const [k, v] of params) {
    if (v === RUN_ID_TAG && k.endsWith('.Key'))
      return params.get(`${k.slice(0, -'.Key'.length)}.Value`) ?? undefined;
  }
  return undefined;
}

/** One build to kill: its proxy, the build process, the marker its provisioners print or make. */
interface Case {
  proxy: Ec2Proxy;
  build: RunningKiln;
  marker: string;
}

/** A point of the sequence: what the build runs, the proxy's policy, when to kill. */
interface Point {
  name: string;
  /** The build reaches the instance's sshd (else an SSH port nobody listens on: it waits for SSH). */
  ssh?: boolean;
  provisioners?: (marker: string) => Promise<unknown[]>;
  /** The proxy's policy; `seen` is every action so far, oldest first. */
  policy?: (action: string, seen: string[]) => ProxyDecision;
  ready(c: Case): boolean;
  /** `ami_regions` of the template. */
  copyTo?: string[];
  /** Kinds the killed build must have left (proves the point was reached); `us-west-2 <kind>` in the copy's region. */
  expect: string[];
  /** Kinds it must not have left (the orphaned snapshot: its AMI is gone). */
  absent?: string[];
}

/** The proxy has seen `action` (after `after`, when given), and with `done` moto has answered it. */
function saw(c: Case, action: string, opts: { after?: string; done?: boolean } = {}): boolean {
  const log = c.proxy.log();
  const from = opts.after === undefined ? 0 : log.findIndex((e) => e.action === opts.after);
  return from >= 0 && log.slice(from).some((e) => e.action === action && (!opts.done || e.status !== 0));
}

const holdAnswer: ProxyDecision = { holdAnswerMs: HOLD_MS };

const POINTS: Point[] = [
  {
    // CreateSecurityGroup done by moto, its answer held: the group exists, kiln never heard of it.
    name: 'after the key pair',
    policy: (a) => (a === 'CreateSecurityGroup' ? holdAnswer : 'pass'),
    ready: (c) => saw(c, 'CreateSecurityGroup', { done: true }),
    expect: ['key pair', 'security group'],
  },
  {
    name: 'after the security group',
    policy: (a) => (a === 'RunInstances' ? holdAnswer : 'pass'),
    ready: (c) => saw(c, 'RunInstances', { done: true }),
    expect: ['key pair', 'security group', 'instance', 'volume'],
  },
  {
    name: 'while waiting for the instance',
    policy: (a, seen) => (a === 'DescribeInstances' && seen.includes('RunInstances') ? 'drop' : 'pass'),
    ready: (c) => saw(c, 'DescribeInstances', { after: 'RunInstances' }),
    expect: ['key pair', 'security group', 'instance', 'volume'],
  },
  {
    name: 'while waiting for SSH',
    ready: (c) => c.build.out().includes('Waiting for SSH to become available...'),
    expect: ['key pair', 'security group', 'instance', 'volume'],
  },
  {
    name: 'during the shell provisioner',
    ssh: true,
    provisioners: async (marker) => [{ type: 'shell', inline: [`echo running-${marker}`, 'sleep 30'] }],
    ready: (c) => c.build.out().includes(`running-${c.marker}`),
    expect: ['key pair', 'security group', 'instance', 'volume'],
  },
  {
    // The task's command has started on the instance when it has made the marker file.
    name: 'during the ansible provisioner',
    ssh: true,
    async provisioners(marker) {
      const playbook = join(dir, `${marker}.yml`);
      await writeFile(
        playbook,
        '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: kiln-kill-wait\n' +
          `      ansible.builtin.shell: touch /tmp/${marker} && sleep 30\n`,
      );
      return [{ type: 'ansible', playbook_file: playbook }];
    },
    ready: (c) => existsSync(`/tmp/${c.marker}`),
    expect: ['key pair', 'security group', 'instance', 'volume'],
  },
  {
    // CreateImage done by moto (the AMI and its snapshot exist, marked incomplete), answer held.
    name: 'while creating the AMI',
    ssh: true,
    policy: (a) => (a === 'CreateImage' ? holdAnswer : 'pass'),
    ready: (c) => saw(c, 'CreateImage', { done: true }),
    expect: ['key pair', 'security group', 'instance', 'volume', 'AMI', 'snapshot'],
  },
  {
    name: 'while waiting for the AMI',
    ssh: true,
    policy: (a, seen) => (a === 'DescribeImages' && seen.includes('CreateImage') ? 'drop' : 'pass'),
    ready: (c) =>
      saw(c, 'DescribeImages', { after: 'CreateImage' }) &&
      c.build.out().includes('Waiting for AMI to become ready...'),
    expect: ['key pair', 'security group', 'instance', 'volume', 'AMI', 'snapshot'],
  },
  {
    // The template's tags are on the AMI and its snapshot; CreateTags's answer is held.
    name: 'while tagging',
    ssh: true,
    policy: (a, seen) => (a === 'CreateTags' && seen.includes('CreateImage') ? holdAnswer : 'pass'),
    ready: (c) => saw(c, 'CreateTags', { after: 'CreateImage', done: true }),
    expect: ['key pair', 'security group', 'instance', 'volume', 'AMI', 'snapshot'],
  },
  {
    // The copy to us-west-2 exists (AMI and snapshot, marked through CopyImage's TagSpecifications);
    // the wait for it is dropped unanswered.
    name: 'while copying the AMI to another region',
    ssh: true,
    copyTo: [COPY_REGION],
    policy: (a, seen) => (a === 'DescribeImages' && seen.includes('CopyImage') ? 'drop' : 'pass'),
    ready: (c) => saw(c, 'DescribeImages', { after: 'CopyImage' }),
    expect: [
      'key pair',
      'security group',
      'instance',
      'volume',
      'AMI',
      'snapshot',
      `${COPY_REGION} AMI`,
      `${COPY_REGION} snapshot`,
    ],
  },
  {
    // The build fails at tagging (its first CreateTags after CreateImage is refused); its own
    // cleanup marks the snapshot (the next CreateTags), deregisters the AMI and dies before
    // DeleteSnapshot (dropped, never reaches moto): an orphaned snapshot, marked incomplete.
    name: "in the failing build's cleanup, between DeregisterImage and DeleteSnapshot (orphaned snapshot)",
    ssh: true,
    policy: (a, seen) =>
      a === 'CreateTags' &&
      seen.includes('CreateImage') &&
      seen.slice(seen.lastIndexOf('CreateImage')).filter((x) => x === 'CreateTags').length === 1
        ? { status: 400, code: 'InvalidParameterValue', message: 'kiln test: tagging refused' }
        : a === 'DeleteSnapshot'
          ? 'drop'
          : 'pass',
    ready: (c) => saw(c, 'DeleteSnapshot', { after: 'DeregisterImage' }),
    expect: ['key pair', 'security group', 'instance', 'volume', 'snapshot'],
    absent: ['AMI'],
  },
];

function template(
  endpoint: string,
  sshPort: number,
  name: string,
  provisioners: unknown[],
  amiRegions: string[] = [],
): unknown {
  return {
    builders: [
      {
        type: 'amazon-ebs',
        region: 'us-east-1',
        source_ami: moto.seed.source_ami,
        instance_type: 't4g.medium',
        subnet_id: moto.seed.subnets['vpc-dev-private-us-east-1a'],
        ami_name: name,
        ...(amiRegions.length > 0 ? { ami_regions: amiRegions } : {}),
        tags: { Name: name },
        snapshot_tags: { Kind: 'kill-test' },
        launch_block_device_mappings: [
          { device_name: '/dev/xvda', volume_size: 8, volume_type: 'gp3', delete_on_termination: true },
        ],
        custom_endpoint_ec2: endpoint,
        aws_polling: { delay_seconds: 1, max_attempts: 120 },
        ssh_username: inst.user,
        ssh_host: '127.0.0.1',
        ssh_port: sshPort,
        ssh_timeout: '3m',
      },
    ],
    provisioners,
  };
}

/** Starts a build through its own proxy, waits for the point, kills it with SIGKILL. */
async function killAt(point: Point): Promise<{ runId: string; left: string[]; out: string }> {
  let runId: string | undefined;
  const seen: string[] = [];
  const policy: ProxyPolicy = ({ action, params }) => {
    runId ??= runIdIn(params);
    seen.push(action);
    return point.policy?.(action, seen) ?? 'pass';
  };
  const proxy = await startEc2Proxy(moto.endpoint, policy);
  const marker = `kiln-kill-${randomUUID()}`;
  try {
    const file = join(dir, `${marker}.json`);
    const port = point.ssh ? inst.port : await freePort();
    await writeFile(
      file,
      JSON.stringify(
        template(proxy.endpoint, port, marker, (await point.provisioners?.(marker)) ?? [], point.copyTo),
      ),
    );
    const build = startKiln(['build', '-color=false', file], { env, cwd: dir, detached: true });
    const c: Case = { proxy, build, marker };
    const deadline = Date.now() + 150_000;
    try {
      while (!point.ready(c)) {
        if (build.child.exitCode !== null)
          assert.fail(`kiln build ended before the point (${build.child.exitCode}):\n${build.out()}`);
        if (Date.now() > deadline) assert.fail(`point not reached in 150 s:\n${build.out()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      build.child.kill('SIGKILL');
      await build.done;
      // What kiln started (ansible-playbook and its ssh) dies with it here, as in a lost machine.
      if (build.child.pid) {
        try {
          process.kill(-build.child.pid, 'SIGKILL');
        } catch {
          // the group is gone already
        }
      }
    }
    assert.ok(runId, `the build's creates carried ${RUN_ID_TAG}`);
    return { runId, left: await ofRun(runId), out: build.out() };
  } finally {
    await proxy.stop();
    await rm(`/tmp/${marker}`, { force: true });
  }
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x);
    }),
  );
}

const tagOf = (tags: Tag[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

test(
  'kill -9 at every point of the amazon-ebs sequence, then one kiln cleanup: nothing of the killed builds remains, a finished AMI stays',
  { concurrency: true },
  async (t) => {
    const killed = new Map<Point, { runId: string; left: string[]; out: string }>();
    // A build that succeeds on the same moto meanwhile: its AMI is a product.
    const good = (async () => {
      const name = `kiln-kill-good-${randomUUID()}`;
      const file = join(dir, `${name}.json`);
      await writeFile(file, JSON.stringify(template(moto.endpoint, inst.port, name, [])));
      const r = await runKiln(['build', '-color=false', file], { env, cwd: dir, timeoutMs: 240_000 });
      assert.equal(r.code, 0, r.out);
      const ami = /us-east-1: (ami-[0-9a-f]+)/.exec(r.out)?.[1];
      assert.ok(ami, r.out);
      return ami;
    })();
    good.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
    await pool(POINTS, CONCURRENCY, async (point) => {
      await t.test(`kill -9 ${point.name}`, async () => {
        const k = await killAt(point);
        killed.set(point, k);
        const kinds = new Set(k.left.map(kindOf));
        for (const kind of point.expect)
          assert.ok(kinds.has(kind), `the killed build left a ${kind}: ${k.left.join(', ')}\n${k.out}`);
        for (const kind of point.absent ?? [])
          assert.ok(!kinds.has(kind), `no ${kind} left: ${k.left.join(', ')}`);
      });
    });
    const goodAmi = await good;
    const img = async () => (await ec2.send(new DescribeImagesCommand({ ImageIds: [goodAmi] }))).Images?.[0];
    const goodImage = await img();
    const goodSnaps = (goodImage?.BlockDeviceMappings ?? [])
      .map((m) => m.Ebs?.SnapshotId ?? '')
      .filter((s) => s);
    assert.ok(goodSnaps.length > 0);
    assert.equal(tagOf(goodImage?.Tags, STATE_TAG), undefined, 'the finished AMI is not marked incomplete');

    const r = await runKiln(
      ['cleanup', '-region', `us-east-1,${COPY_REGION}`, '-endpoint', moto.endpoint, '-older-than=0s'],
      {
        env,
        timeoutMs: 180_000,
      },
    );
    const named = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('Deleting '))
      .map((l) => l.replace(/^Deleting (.+?) \(run .*$/, '$1'));
    for (const point of POINTS) {
      const k = killed.get(point);
      if (!k) continue;
      rows.push({
        case: point.name,
        exit: `SIGKILL; cleanup exit ${r.code}`,
        left: k.left,
        leaked: await stillAlive(k.runId, k.left),
      });
    }
    assert.equal(r.code, 0, r.out);
    await t.test('every resource of the killed builds was named and removed', () => {
      for (const row of rows) {
        for (const x of row.left)
          assert.ok(named.includes(asNamed(x)), `${row.case}: ${x} named in:\n${r.stdout}`);
        assert.deepEqual(row.leaked, [], row.case);
      }
      assert.equal(rows.length, POINTS.length, 'every point was reached');
    });
    await t.test("the successful build's AMI and snapshots are untouched", async () => {
      const now = await img();
      assert.equal(now?.State, 'available');
      assert.equal(tagOf(now?.Tags, STATE_TAG), undefined);
      assert.ok(tagOf(now?.Tags, RUN_ID_TAG));
      const snaps = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
      for (const s of goodSnaps) {
        const snap = snaps.find((x) => x.SnapshotId === s);
        assert.ok(snap, `snapshot ${s} of the finished AMI still exists`);
        assert.equal(tagOf(snap.Tags, STATE_TAG), undefined, `snapshot ${s} is unmarked`);
      }
      for (const x of [`AMI ${goodAmi}`, ...goodSnaps.map((s) => `snapshot ${s}`)])
        assert.ok(!named.includes(x), `${x} not named by cleanup`);
    });
  },
);
