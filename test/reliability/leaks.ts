/**
 * The reliability tests' end-state check: what a build left in the tests' moto, read through the
 * EC2 API (never through kiln), compared with what moto and test/env/moto/seed.py put there.
 *
 * What counts as left behind:
 *   - an instance that is not `terminated` (pending, running, shutting-down, stopping, stopped);
 *   - any key pair (the seed creates none);
 *   - a security group other than a VPC's `default` group and the seed's `dev-default`;
 *   - any volume (the seed creates none; moto's catalogue images own snapshots, not volumes);
 *   - an AMI owned by this account other than the seed's decoy image;
 *   - a snapshot that is not one of moto's catalogue snapshots ("Auto-created snapshot for AMI
 *     <id>"), e.g. the "Created by CreateImage(…)" snapshot of a build's AMI, even deregistered.
 *
 * The rule-based form needs no snapshot of the account taken beforehand, so any test (and a test
 * that shares one moto between cases) can call it at any time. Resources of a build still running
 * on the same moto are reported too: call it when no build is running, or filter by `only`.
 */
import {
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { MotoSeed } from '../env/moto.js';

/** The instance states that still cost money or hold resources. */
export const LIVE_INSTANCE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export type LeakKind = 'instance' | 'key pair' | 'security group' | 'volume' | 'AMI' | 'snapshot';

export interface Leak {
  kind: LeakKind;
  id: string;
  /** State, name or description: whatever helps a reader recognise it. */
  detail: string;
}

const SNAPSHOT_OF = /^Auto-created snapshot for AMI (ami-[0-9a-f]+)/;

/** Every resource left behind, as objects (see `leftovers` for lines). */
export async function leaks(ec2: EC2Client, seed: MotoSeed): Promise<Leak[]> {
  const out: Leak[] = [];

  const instances = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [{ Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES }],
    }),
  );
  for (const r of instances.Reservations ?? []) {
    for (const i of r.Instances ?? []) {
      out.push({ kind: 'instance', id: i.InstanceId ?? '?', detail: i.State?.Name ?? '?' });
    }
  }

  for (const k of (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []) {
    out.push({ kind: 'key pair', id: k.KeyName ?? '?', detail: k.KeyPairId ?? '' });
  }

  for (const g of (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []) {
    if (g.GroupName === 'default' || g.GroupId === seed.security_group_id) continue;
    out.push({ kind: 'security group', id: g.GroupId ?? '?', detail: g.GroupName ?? '' });
  }

  for (const v of (await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? []) {
    const att = v.Attachments?.map((a) => a.InstanceId).join(',') ?? '';
    out.push({
      kind: 'volume',
      id: v.VolumeId ?? '?',
      detail: `${v.State ?? '?'}${att ? ` on ${att}` : ''}`,
    });
  }

  // AMIs: this account's, except the seed's decoy (moto's catalogue belongs to other owners).
  const own = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
  const built = new Set<string>();
  for (const i of own) {
    if (i.ImageId === seed.decoy_ami || i.ImageId === seed.source_ami) continue;
    built.add(i.ImageId ?? '?');
    out.push({ kind: 'AMI', id: i.ImageId ?? '?', detail: `${i.Name ?? ''} (${i.State ?? '?'})` });
  }

  // moto's catalogue snapshots are owned by another account (though `OwnerIds: ['self']` lists
  // them too): asking for this account's owner id leaves only snapshots made here. Among those,
  // "Auto-created snapshot for AMI <id>" ones belong to the seed's registered images.
  const account = own.find((i) => i.ImageId === seed.decoy_ami)?.OwnerId ?? (await accountId(ec2));
  const snaps = await ec2.send(
    new DescribeSnapshotsCommand({ Filters: [{ Name: 'owner-id', Values: [account] }] }),
  );
  for (const s of snaps.Snapshots ?? []) {
    const of = SNAPSHOT_OF.exec(s.Description ?? '')?.[1];
    if (of && !built.has(of)) continue;
    out.push({ kind: 'snapshot', id: s.SnapshotId ?? '?', detail: s.Description ?? '' });
  }
  return out;
}

async function accountId(ec2: EC2Client): Promise<string> {
  const groups = await ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }),
  );
  const id = groups.SecurityGroups?.[0]?.OwnerId;
  if (!id) throw new Error("Cannot tell the account id of the tests' moto: no default security group");
  return id;
}

/** One line per resource left behind, e.g. `instance i-0123… (running)`; `[]` when clean. */
export async function leftovers(ec2: EC2Client, seed: MotoSeed): Promise<string[]> {
  return (await leaks(ec2, seed)).map(format);
}

export function format(l: Leak): string {
  return l.detail ? `${l.kind} ${l.id} (${l.detail})` : `${l.kind} ${l.id}`;
}

/**
 * Removes everything `leaks` reports, so the next case on the same moto starts clean (after the
 * leak was recorded as a failure). Instances first, then what they held. Errors are collected.
 */
export async function removeLeftovers(ec2: EC2Client, seed: MotoSeed): Promise<string[]> {
  const errors: string[] = [];
  const found = await leaks(ec2, seed);
  const of = (k: LeakKind) => found.filter((l) => l.kind === k).map((l) => l.id);
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  const instances = of('instance');
  if (instances.length) {
    await attempt(`terminate ${instances.join(',')}`, () =>
      ec2.send(new TerminateInstancesCommand({ InstanceIds: instances })),
    );
  }
  for (const id of of('AMI'))
    await attempt(`deregister ${id}`, () => ec2.send(new DeregisterImageCommand({ ImageId: id })));
  for (const id of of('snapshot'))
    await attempt(`delete ${id}`, () => ec2.send(new DeleteSnapshotCommand({ SnapshotId: id })));
  // Volumes again after termination: moto drops delete-on-termination volumes with the instance.
  const volumes = (await leaks(ec2, seed)).filter((l) => l.kind === 'volume').map((l) => l.id);
  for (const id of volumes)
    await attempt(`delete ${id}`, () => ec2.send(new DeleteVolumeCommand({ VolumeId: id })));
  for (const id of of('security group')) {
    await attempt(`delete ${id}`, () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })));
  }
  for (const name of of('key pair'))
    await attempt(`delete ${name}`, () => ec2.send(new DeleteKeyPairCommand({ KeyName: name })));
  return errors;
}
