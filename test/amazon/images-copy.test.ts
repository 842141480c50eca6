/**
 * amazon-ebs encrypted copies against moto (spec §B.18–B.19): `encrypt_boot` with `kms_key_id`,
 * `ami_regions` with `region_kms_key_ids`, and `skip_save_build_region`. The intermediary AMI and
 * its snapshots must be gone, the final AMIs encrypted with the key of their region.
 *
 * moto 5.2.1 ignores CopyImage's Encrypted/KmsKeyId; test/env/moto/server.py makes it encrypt the
 * copy's snapshot with the key sent, as EC2 does, so the keys below are checked in the end state.
 * moto does not check that a KMS key exists: the us-west-2 key is a made-up id.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { amazonEnv } from '../env/amazon-env.js';
import { packerConfig, runBuild } from './helpers.js';

const clients: Record<string, EC2Client> = {};
const env = amazonEnv({
  processEnv: true,
  setUp() {
    for (const region of ['us-east-1', 'us-west-2'])
      clients[region] = new EC2Client(env.clientConfig(region));
  },
});

interface Owned {
  images: Map<string, Image>;
  /** snapshot id → { encrypted, key } */
  snapshots: Map<string, { encrypted: boolean; key: string }>;
}

/** Every AMI and snapshot this account owns in a region. */
async function owned(region: string): Promise<Owned> {
  const c = clients[region];
  const images = new Map<string, Image>();
  for (const i of (await c.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []) {
    if (i.ImageId) images.set(i.ImageId, i);
  }
  const snapshots = new Map<string, { encrypted: boolean; key: string }>();
  for (const s of (await c.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []) {
    if (s.SnapshotId) snapshots.set(s.SnapshotId, { encrypted: s.Encrypted === true, key: s.KmsKeyId ?? '' });
  }
  return { images, snapshots };
}

/** What a build added to a region: new AMIs and new snapshots. */
function added(
  before: Owned,
  after: Owned,
): { images: Image[]; snapshots: Map<string, { encrypted: boolean; key: string }> } {
  const images = [...after.images.values()].filter((i) => !before.images.has(i.ImageId ?? ''));
  const snapshots = new Map([...after.snapshots].filter(([id]) => !before.snapshots.has(id)));
  return { images, snapshots };
}

function snapshotsOf(img: Image): string[] {
  return (img.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId ?? '').filter((s) => s !== '');
}

function grab(text: string, re: RegExp): string {
  const m = re.exec(text);
  assert.ok(m, `no match for ${re} in:\n${text}`);
  return m[1];
}

describe('amazon-ebs encrypted copies', () => {
  it('encrypt_boot + kms_key_id + region_kms_key_ids: every region encrypted with its key, the intermediary gone', async () => {
    const westKey = randomUUID();
    const eastKey = env.moto.seed.kms_key_id;
    const raw = env.config({
      encrypt_boot: true,
      kms_key_id: eastKey,
      ami_regions: ['us-west-2'],
      region_kms_key_ids: { 'us-west-2': westKey },
    });
    const east0 = await owned('us-east-1');
    const west0 = await owned('us-west-2');
    const { artifact, error, ui } = await runBuild(raw, ['true']);
    const text = ui.text();
    assert.equal(error, undefined, `${error?.message}\n${text}`);

    // The intermediary: a random 7-character name, copied (and encrypted) to both regions.
    const tempName = grab(text, /==> Creating AMI ([0-9A-Za-z]{7}) from instance i-/);
    assert.notEqual(tempName, raw.ami_name);
    const intermediary = grab(text, /AMI: (ami-[0-9a-f]+)/);
    assert.ok(ui.lines.includes(`==> Copying/Encrypting AMI (${intermediary}) to other regions...`), text);
    assert.ok(ui.lines.includes('    Copying to: us-east-1'), text);
    assert.ok(ui.lines.includes('    Copying to: us-west-2'), text);
    assert.ok(
      ui.lines.includes('==> Deregistering the AMI and deleting unencrypted temporary AMIs and snapshots'),
      text,
    );

    const east = grab(artifact?.toString() ?? '', /us-east-1: (ami-[0-9a-f]+)/);
    const west = grab(artifact?.toString() ?? '', /us-west-2: (ami-[0-9a-f]+)/);
    assert.notEqual(east, intermediary);
    assert.equal(artifact?.id, `us-east-1:${east},us-west-2:${west}`);

    for (const [region, before0, ami, key] of [
      ['us-east-1', east0, east, eastKey],
      ['us-west-2', west0, west, westKey],
    ] as const) {
      const add = added(before0, await owned(region));
      // Exactly one new AMI per region — the final one; the intermediary is deregistered.
      assert.deepEqual(
        add.images.map((i) => [i.ImageId, i.Name, i.State]),
        [[ami, raw.ami_name, 'available']],
        `${region}\n${text}`,
      );
      // Its snapshots are the only new ones (the intermediary's were deleted), and encrypted.
      const snaps = snapshotsOf(add.images[0]);
      assert.ok(snaps.length > 0);
      assert.deepEqual([...add.snapshots.keys()].sort(), [...snaps].sort(), region);
      for (const s of snaps)
        assert.deepEqual(add.snapshots.get(s), { encrypted: true, key }, `${region} ${s}`);
    }
  });

  it('skip_save_build_region: only the encrypted copy in ami_regions stays; nothing left in the build region', async () => {
    const westKey = randomUUID();
    const raw = env.config({
      encrypt_boot: true,
      ami_regions: ['us-west-2'],
      region_kms_key_ids: { 'us-west-2': westKey },
      skip_save_build_region: true,
    });
    const east0 = await owned('us-east-1');
    const west0 = await owned('us-west-2');
    const pc = packerConfig();
    const { artifact, error, ui } = await runBuild(raw, ['true'], pc);
    const text = ui.text();
    assert.equal(error, undefined, `${error?.message}\n${text}`);
    assert.ok(ui.lines.includes('==> skip_build_region was set; not prevalidating AMI name'), text);
    const intermediary = grab(text, /AMI: (ami-[0-9a-f]+)/);
    assert.ok(ui.lines.includes('    Copying to: us-west-2'), text);
    assert.ok(!ui.lines.includes('    Copying to: us-east-1'), text);

    // The artifact names only the copy (kiln fixes 1.6.6's listing of the deleted intermediary, H.12).
    const west = grab(artifact?.toString() ?? '', /us-west-2: (ami-[0-9a-f]+)/);
    assert.equal(artifact?.id, `us-west-2:${west}`);
    assert.ok(!(artifact?.toString() ?? '').includes(intermediary), artifact?.toString());

    const eastAdd = added(east0, await owned('us-east-1'));
    assert.deepEqual(eastAdd.images, [], text);
    assert.deepEqual([...eastAdd.snapshots.keys()], [], text);

    const westAdd = added(west0, await owned('us-west-2'));
    assert.deepEqual(
      westAdd.images.map((i) => [i.ImageId, i.Name]),
      [[west, raw.ami_name]],
    );
    const snaps = snapshotsOf(westAdd.images[0]);
    assert.deepEqual([...westAdd.snapshots.keys()].sort(), [...snaps].sort());
    for (const s of snaps) assert.deepEqual(westAdd.snapshots.get(s), { encrypted: true, key: westKey });
  });
});
