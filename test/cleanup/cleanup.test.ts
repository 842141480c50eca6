/**
 * `kiln cleanup` end to end: a real moto (test/env/moto.ts), resources created through the EC2 API
 * exactly as dead kiln runs leave them (plus untagged ones, another run's, a finished AMI), then
 * `node bin/kiln cleanup …` as a user runs it, and the end state read back through the EC2 API.
 * moto cannot backdate creation times, so the age logic is covered by src/cleanup/plan.test.ts with
 * an injected clock; here runs are selected with -older-than=0s (or kept by the default 1h).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachVolumeCommand,
  CreateImageCommand,
  CreateKeyPairCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { AWS_TEST_ENV, onlyEnv, runKiln } from '../env/kiln-cli.js';
import { startMoto, type Moto } from '../env/moto.js';
import { incompleteImageTags, markImagesComplete, RUN_ID_TAG } from '../../src/cleanup/tags.js';

const REGION = 'us-east-1';

let moto: Moto;
let ec2: EC2Client;

const runTag = (run: string): Tag[] => [{ Key: RUN_ID_TAG, Value: run }];
const spec = (type: string, tags: Tag[]) =>
  tags.length > 0 ? { TagSpecifications: [{ ResourceType: type as never, Tags: tags }] } : {};

/** What a run (or an untagged user) made; ids to look for afterwards. */
interface Made {
  key: string;
  sg: string;
  instance?: string;
  rootVolume?: string;
  volume?: string;
  ami?: string;
  snapshot?: string;
}

/** Leaves the resources of a kiln run that died where `stage` says. */
async function deadRun(run: string, stage: 'key' | 'instance' | 'ami', tagged = true): Promise<Made> {
  const tags = tagged ? runTag(run) : [];
  const key = `packer_${run}`;
  await ec2.send(new CreateKeyPairCommand({ KeyName: key, ...spec('key-pair', tags) }));
  const sg = (
    await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `packer_${run}`,
        Description: 'Temporary group for Packer',
        VpcId: moto.seed.vpc_id,
        ...spec('security-group', tags),
      }),
    )
  ).GroupId!;
  const made: Made = { key, sg };
  if (stage === 'key') return made;
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: moto.seed.source_ami,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      KeyName: key,
      SecurityGroupIds: [sg],
      SubnetId: moto.seed.most_free_subnet,
      ...(tagged
        ? {
            TagSpecifications: [
              { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'Packer Builder' }, ...tags] },
              { ResourceType: 'volume', Tags: tags },
            ],
          }
        : {}),
    }),
  );
  const inst = out.Instances![0];
  made.instance = inst.InstanceId!;
  made.rootVolume = inst.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
  // A volume that does not go with the instance (a launch mapping without delete_on_termination).
  made.volume = (
    await ec2.send(
      new CreateVolumeCommand({
        AvailabilityZone: inst.Placement!.AvailabilityZone!,
        Size: 1,
        ...spec('volume', tags),
      }),
    )
  ).VolumeId!;
  if (stage === 'instance') return made;
  // CreateImage answered, the build died before the AMI was finished: marked incomplete.
  made.ami = (
    await ec2.send(
      new CreateImageCommand({
        InstanceId: made.instance,
        Name: `kiln-${run}`,
        ...spec('image', tagged ? incompleteImageTags(run) : []),
      }),
    )
  ).ImageId!;
  made.snapshot = await snapshotOf(made.ami);
  return made;
}

async function snapshotOf(ami: string): Promise<string> {
  const img = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0];
  return img.BlockDeviceMappings!.find((m) => m.Ebs?.SnapshotId)!.Ebs!.SnapshotId!;
}

/** Everything alive now, as `kind id` strings (terminated instances are not alive). */
async function alive(): Promise<Set<string>> {
  const s = new Set<string>();
  for (const r of (await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []) {
    for (const i of r.Instances ?? []) if (i.State?.Name !== 'terminated') s.add(`instance ${i.InstanceId}`);
  }
  for (const i of (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [])
    s.add(`AMI ${i.ImageId}`);
  for (const x of (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [])
    s.add(`snapshot ${x.SnapshotId}`);
  for (const v of (await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? [])
    s.add(`volume ${v.VolumeId}`);
  for (const g of (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [])
    s.add(`security group ${g.GroupId}`);
  for (const k of (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [])
    s.add(`key pair ${k.KeyName}`);
  return s;
}

function list(m: Made): string[] {
  return [
    m.instance && `instance ${m.instance}`,
    m.ami && `AMI ${m.ami}`,
    m.snapshot && `snapshot ${m.snapshot}`,
    m.rootVolume && `volume ${m.rootVolume}`,
    m.volume && `volume ${m.volume}`,
    `security group ${m.sg}`,
    `key pair ${m.key}`,
  ].filter((x): x is string => typeof x === 'string');
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function kiln(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const t0 = Date.now();
  const r = await runKiln(['cleanup', ...args], {
    timeoutMs: 120_000,
    env: onlyEnv({ PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...AWS_TEST_ENV, ...env }),
  });
  if (process.env.KILN_TEST_DEBUG)
    console.error(`kiln cleanup ${args.join(' ')}: ${Date.now() - t0} ms\n${r.stdout}${r.stderr}`);
  return { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The resources named by `Deleting …`/`Would delete …` lines, as `kind id`. */
function named(stdout: string, verb: string): string[] {
  const re = new RegExp(
    `^${verb} (instance|AMI|snapshot|volume|security group|key pair) (\\S+) \\(run (\\S+), (\\d+s|\\d+m\\d+s)\\)$`,
  );
  return stdout
    .split('\n')
    .map((l) => re.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
}

before(async () => {
  moto = await startMoto();
  ec2 = new EC2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        (e as Error).message = `${context.commandName}: ${(e as Error).message}`;
        throw e;
      }
    },
    { step: 'initialize' },
  );
});

after(async () => {
  if (process.env.KILN_TEST_DEBUG) console.error(JSON.stringify((await moto.calls()).slice(-6)));
  ec2?.destroy();
  await moto?.stop();
});

test('kiln cleanup: dry run, age filter, run filter, real removal, and a leftover it cannot remove', async () => {
  const a = await deadRun('run-a', 'ami'); // died waiting for the AMI
  const b = await deadRun('run-b', 'instance'); // died while provisioning
  const c = await deadRun('run-c', 'key'); // died right after the security group
  const user = await deadRun('user', 'instance', false); // the account's own, untagged
  // A finished build: its AMI and snapshot carry the run id but are no longer marked incomplete.
  const done = await deadRun('run-done', 'ami');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [done.instance!] }));
  const sdk = await import('@aws-sdk/client-ec2');
  const { DeleteVolumeCommand, DeleteKeyPairCommand, DeleteSecurityGroupCommand } = sdk;
  // What the builder does: snapshots marked once known, everything unmarked when the build is done.
  await ec2.send(
    new CreateTagsCommand({ Resources: [done.snapshot!], Tags: incompleteImageTags('run-done') }),
  );
  await markImagesComplete({ client: ec2, sdk }, [done.ami!, done.snapshot!]);
  await ec2.send(new DeleteVolumeCommand({ VolumeId: done.volume! }));
  await ec2.send(new DeleteKeyPairCommand({ KeyName: done.key }));
  await ec2.send(new DeleteSecurityGroupCommand({ GroupId: done.sg }));
  // The half-made AMI's snapshot got its marks too (the builder tags snapshots once it knows them).
  await ec2.send(new CreateTagsCommand({ Resources: [a.snapshot!], Tags: incompleteImageTags('run-a') }));
  // A terminated instance of a dead run: moto (like EC2) still lists it; it is not a leak.
  const gone = (
    await ec2.send(
      new RunInstancesCommand({
        ImageId: moto.seed.source_ami,
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: runTag('run-a') }],
      }),
    )
  ).Instances![0].InstanceId!;
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));

  const dead = [...list(a), ...list(b), ...list(c)];
  const keep = [...list(user), `AMI ${done.ami}`, `snapshot ${done.snapshot}`];
  const before = await alive();
  for (const r of [...dead, ...keep]) assert.ok(before.has(r), `set-up made ${r}`);

  // 1. Default age (1h): every run is minutes old, nothing is selected or touched.
  let r = await kiln(['-region', REGION, '-endpoint', moto.endpoint]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(named(r.stdout, 'Deleting'), []);
  assert.match(r.stdout, /^No resources of dead kiln runs found in us-east-1\.$/m);
  assert.match(
    r.stdout,
    new RegExp(
      `^Left ${dead.length} resources of 3 runs younger than 1h0m \\(may still be building\\)\\.$`,
      'm',
    ),
  );
  assert.match(r.stdout, /^Left 2 finished AMIs and snapshots \(build products\)\.$/m);
  assert.deepEqual(await alive(), before);

  // 2. Dry run: lists exactly the dead runs' resources, in removal order, removes nothing.
  r = await kiln(['-region', REGION, '-older-than=0s', '-dry-run'], { AWS_ENDPOINT_URL_EC2: moto.endpoint });
  assert.equal(r.code, 0, r.stderr);
  const listed = named(r.stdout, 'Would delete');
  assert.deepEqual([...listed].sort(), [...dead].sort());
  const kinds = listed.map((l) => l.split(' ')[0]);
  assert.deepEqual(
    kinds,
    [...kinds].sort((x, y) => order(x) - order(y)),
    'instances first, key pairs last',
  );
  assert.match(r.stdout, new RegExp(`^Would delete AMI ${a.ami} \\(run run-a, \\d+s\\)$`, 'm'));
  assert.match(
    r.stdout,
    new RegExp(
      `^Would remove ${dead.length} resources of 3 runs \\(dry run: nothing was removed\\)\\.$`,
      'm',
    ),
  );
  assert.match(r.stdout, /^Left 2 finished AMIs and snapshots \(build products\)\.$/m);
  assert.ok(!r.stdout.includes(gone), 'a terminated instance is not listed');
  assert.deepEqual(await alive(), before);

  // 3. -run-id: only run-c's key pair and group go.
  r = await kiln(['-region', REGION, '-older-than=0s', '-run-id=run-c'], { AWS_ENDPOINT_URL: moto.endpoint });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(named(r.stdout, 'Deleting'), [`security group ${c.sg}`, `key pair ${c.key}`]);
  assert.match(r.stdout, /^Removed 2 resources of 1 run\.$/m);
  let now = await alive();
  for (const x of list(c)) assert.ok(!now.has(x), `${x} removed`);
  for (const x of [...list(a), ...list(b), ...keep]) assert.ok(now.has(x), `${x} kept`);

  // 4. A tagged volume attached to an instance kiln did not make cannot go: exit 1 with the reason.
  const stuck = (
    await ec2.send(
      new CreateVolumeCommand({
        AvailabilityZone: 'us-east-1b',
        Size: 1,
        ...spec('volume', runTag('run-x')),
      }),
    )
  ).VolumeId!;
  await ec2.send(
    new AttachVolumeCommand({ VolumeId: stuck, InstanceId: user.instance!, Device: '/dev/sdf' }),
  );

  // 5. The real run: everything of the dead runs goes, nothing else.
  r = await kiln(['-region', REGION, '-endpoint', moto.endpoint, '-older-than=0s']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.deepEqual(
    [...named(r.stdout, 'Deleting')].sort(),
    [...list(a), ...list(b), `volume ${stuck}`].sort(),
  );
  assert.match(
    r.stderr,
    new RegExp(
      `^Cannot delete volume ${stuck} \\(run run-x, us-east-1\\): attached to ${user.instance}, which is not being terminated$`,
      'm',
    ),
  );
  assert.match(
    r.stdout,
    new RegExp(
      `^Removed ${list(a).length + list(b).length} of ${list(a).length + list(b).length + 1} resources; 1 could not be removed\\.$`,
      'm',
    ),
  );
  now = await alive();
  for (const x of [...list(a), ...list(b)]) assert.ok(!now.has(x), `${x} removed`);
  for (const x of keep) assert.ok(now.has(x), `${x} kept`);
  assert.ok(now.has(`volume ${stuck}`));

  // 6. Once detached, the leftover goes; then there is nothing left to do.
  await ec2.send(
    new DetachVolumeCommand({ VolumeId: stuck, InstanceId: user.instance!, Device: '/dev/sdf' }),
  );
  r = await kiln(['-region', REGION, '-endpoint', moto.endpoint, '-older-than=0s']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(named(r.stdout, 'Deleting'), [`volume ${stuck}`]);
  r = await kiln(['-region', REGION, '-endpoint', moto.endpoint, '-older-than=0s']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^No resources of dead kiln runs found in us-east-1\.$/m);
  now = await alive();
  for (const x of keep) assert.ok(now.has(x), `${x} kept`);
});

test('kiln cleanup: usage errors exit 1 without calling EC2', async () => {
  await moto.clearCalls();
  const r = await kiln(['-region', REGION, '-endpoint', moto.endpoint, '-older-than=soon']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Cannot clean up: -older-than: time: invalid duration "soon"\n');
  const noRegion = await kiln(['-endpoint', moto.endpoint]);
  assert.equal(noRegion.code, 1);
  assert.match(noRegion.stderr, /^Cannot clean up: no region; give -region or set AWS_REGION$/m);
  assert.deepEqual(await moto.sdkCalls(), []);
});

/** Removal order of a `kind id` string's first word (`security group`, `key pair` → security, key). */
function order(kind: string): number {
  return ['instance', 'AMI', 'snapshot', 'volume', 'security', 'key'].indexOf(kind);
}

test('kiln cleanup: several regions (comma list and repeated flag), each cleaned in its own region', async () => {
  const clients = ['us-west-2', 'eu-west-1'].map(
    (region) =>
      new EC2Client({
        region,
        endpoint: moto.endpoint,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      }),
  );
  try {
    for (const [i, c] of clients.entries()) {
      await c.send(
        new CreateKeyPairCommand({ KeyName: `packer_multi${i}`, ...spec('key-pair', runTag('run-multi')) }),
      );
      await c.send(new CreateKeyPairCommand({ KeyName: `mine${i}` }));
    }
    const keys = async (c: EC2Client) =>
      ((await c.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).map((k) => k.KeyName).sort();
    let r = await kiln([
      '-region',
      'us-west-2,eu-west-1',
      '-endpoint',
      moto.endpoint,
      '-older-than=0s',
      '-dry-run',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .split('\n')
        .filter((l) => /^(Region|Would delete) /.test(l))
        .map((l) => l.replace(/, \d+s\)$/, ')')),
      [
        'Region us-west-2:',
        'Would delete key pair packer_multi0 (run run-multi)',
        'Region eu-west-1:',
        'Would delete key pair packer_multi1 (run run-multi)',
      ],
    );
    r = await kiln([
      '-region',
      'eu-west-1',
      '-region',
      'us-west-2',
      '-endpoint',
      moto.endpoint,
      '-older-than=0s',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Removed 2 resources of 1 run\.$/m);
    assert.deepEqual(await keys(clients[0]), ['mine0']);
    assert.deepEqual(await keys(clients[1]), ['mine1']);
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('kiln cleanup: an orphaned snapshot marked incomplete goes (the dry run lists it); untagged, unmarked and in-use ones stay', async () => {
  const instance = (
    await ec2.send(
      new RunInstancesCommand({
        ImageId: moto.seed.source_ami,
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
      }),
    )
  ).Instances![0].InstanceId!;
  /** An AMI of `instance` made with these tags on the image and its snapshot (as the builder does). */
  const image = async (name: string, imageTags: Tag[], snapshotTags: Tag[]) => {
    const id = (
      await ec2.send(
        new CreateImageCommand({
          InstanceId: instance,
          Name: name,
          TagSpecifications: [
            ...(imageTags.length ? [{ ResourceType: 'image' as const, Tags: imageTags }] : []),
            ...(snapshotTags.length ? [{ ResourceType: 'snapshot' as const, Tags: snapshotTags }] : []),
          ],
        }),
      )
    ).ImageId!;
    return { ami: id, snapshot: await snapshotOf(id) };
  };
  const { DeregisterImageCommand } = await import('@aws-sdk/client-ec2');
  const deregister = (ami: string) => ec2.send(new DeregisterImageCommand({ ImageId: ami }));
  const marked = incompleteImageTags('run-orphan');
  // The build's own cleanup deregistered its half-made AMI and died before DeleteSnapshot.
  const orphan = await image('kiln-orphan', marked, marked);
  await deregister(orphan.ami);
  // Not kiln's (no tag at all): never even listed.
  const untagged = await image('users-own', [], []);
  await deregister(untagged.ami);
  // A finished build's snapshot (run id, no kiln-state) whose AMI the user deregistered: a product.
  const finished = await image('kiln-finished', runTag('run-orphan'), runTag('run-orphan'));
  await deregister(finished.ami);
  // Still marked, but used by an AMI without kiln's tags (the user's, or its tags removed).
  const used = await image('users-ami', [], marked);

  const snaps = [orphan, untagged, finished, used].map((x) => `snapshot ${x.snapshot}`);
  const before = await alive();
  for (const s of [...snaps, `AMI ${used.ami}`]) assert.ok(before.has(s), `set-up made ${s}`);

  let r = await kiln(['-region', REGION, '-endpoint', moto.endpoint, '-older-than=0s', '-dry-run']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(named(r.stdout, 'Would delete'), [`snapshot ${orphan.snapshot}`]);
  assert.match(r.stdout, /^Would remove 1 resource of 1 run \(dry run: nothing was removed\)\.$/m);
  assert.deepEqual(await alive(), before);

  r = await kiln(['-region', REGION, '-endpoint', moto.endpoint, '-older-than=0s']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(named(r.stdout, 'Deleting'), [`snapshot ${orphan.snapshot}`]);
  assert.match(r.stdout, /^Removed 1 resource of 1 run\.$/m);
  const now = await alive();
  assert.ok(!now.has(`snapshot ${orphan.snapshot}`), 'the orphan is gone');
  for (const s of [...snaps.slice(1), `AMI ${used.ami}`]) assert.ok(now.has(s), `${s} kept`);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance] }));
});
