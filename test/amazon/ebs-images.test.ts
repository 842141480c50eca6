/**
 * amazon-ebs image steps against moto: region copies, attributes and description, an ed25519
 * temporary key, force_deregister, and a failure after CreateImage (the half-made AMI and its
 * snapshots are removed).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { amazonEnv } from '../env/amazon-env.js';
import { packerConfig, runBuild, tagMap } from './helpers.js';

const env = amazonEnv({ processEnv: true });

async function imagesNamed(client: EC2Client, name: string): Promise<Image[]> {
  return (
    (
      await client.send(
        new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
      )
    ).Images ?? []
  );
}

describe('amazon-ebs image steps', () => {
  it('copies to ami_regions, sets description and launch permissions, tags every region', async () => {
    const raw = env.config({
      ami_regions: ['us-west-2', 'us-east-1', 'us-west-2'],
      ami_description: 'built from {{ .SourceAMI }} in {{ .BuildRegion }}',
      ami_users: ['123456789012'],
      temporary_key_pair_type: 'ed25519',
      security_group_ids: [],
      temporary_security_group_source_cidrs: ['127.0.0.1/32'],
    });
    const { artifact, error, ui } = await runBuild(raw, ['true']);
    const text = ui.text();
    assert.equal(error, undefined, `${error?.message}\n${text}`);
    const west = /us-west-2: (ami-[0-9a-f]+)/.exec(artifact?.toString() ?? '')?.[1];
    const east = /us-east-1: (ami-[0-9a-f]+)/.exec(artifact?.toString() ?? '')?.[1];
    assert.ok(west && east, artifact?.toString());
    assert.equal(artifact?.id, `us-east-1:${east},us-west-2:${west}`);
    assert.ok(ui.lines.includes('    Copying to: us-west-2'), text);
    assert.ok(
      ui.lines.includes(
        '==> Authorizing access to port ' +
          String(raw.ssh_port) +
          ' from [127.0.0.1/32] in the temporary security groups...',
      ),
      text,
    );
    const westApi = new EC2Client(env.clientConfig('us-west-2'));
    const copy = (await westApi.send(new DescribeImagesCommand({ ImageIds: [west] }))).Images?.[0];
    assert.equal(copy?.State, 'available');
    assert.equal(copy?.Name, raw.ami_name);
    assert.equal(tagMap(copy?.Tags).Name, 'kiln-test');
    assert.equal(tagMap(copy?.Tags)['kiln-state'], undefined);
    assert.ok(ui.lines.includes('    Modifying: description'), text);
    assert.ok(ui.lines.includes('    Modifying: users'), text);
    for (const [client, id] of [
      [env.ec2, east],
      [westApi, west],
    ] as const) {
      // (moto ignores Description in ModifyImageAttribute; the UI lines below show it was sent)
      assert.ok(ui.lines.includes(`==> Modifying attributes on AMI (${id})...`), text);
      const lp = await client.send(
        new DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }),
      );
      assert.deepEqual(
        lp.LaunchPermissions?.map((p) => p.UserId),
        ['123456789012'],
      );
    }
  });

  it('force_deregister replaces an AMI of the same name (and its snapshots with force_delete_snapshot)', async () => {
    const name = `kiln-force-${Date.now()}`;
    const first = await runBuild(env.config({ ami_name: name }), ['true']);
    assert.equal(first.error, undefined, first.error?.message);
    const old = (await imagesNamed(env.ec2, name))[0];
    const oldSnaps = (old.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId ?? '').filter(Boolean);

    const clash = await runBuild(env.config({ ami_name: name }), ['true']);
    assert.equal(
      clash.error?.message,
      `Error: AMI Name: '${name}' is used by an existing AMI: ${old.ImageId ?? ''}`,
    );

    const second = await runBuild(env.config({ ami_name: name }), ['true'], packerConfig({ force: true }));
    assert.equal(second.error, undefined, second.error?.message);
    const text = second.ui.text();
    assert.ok(
      second.ui.lines.includes('==> Force Deregister flag found, skipping prevalidating AMI Name'),
      text,
    );
    assert.ok(second.ui.lines.includes(`==> Deregistered AMI ${name}, id: ${old.ImageId ?? ''}`), text);
    const now = await imagesNamed(env.ec2, name);
    assert.equal(now.length, 1);
    assert.notEqual(now[0].ImageId, old.ImageId);
    // without force_delete_snapshot the old snapshots stay
    const snaps =
      (await env.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: oldSnaps }))).Snapshots ?? [];
    assert.equal(snaps.length, oldSnaps.length);
  });

  it('a failure after CreateImage deregisters the half-made AMI and deletes its snapshots', async () => {
    const name = `kiln-late-fail-${Date.now()}`;
    // A copy to a region the endpoint does not know fails after CreateImage.
    const raw = env.config({
      ami_name: name,
      ami_regions: ['mars-north-1'],
      skip_region_validation: true,
      max_retries: 0,
    });
    const { error, ui } = await runBuild(raw, ['true']);
    const text = ui.text();
    assert.match(
      error?.message ?? '',
      /Error Copying AMI \(ami-[0-9a-f]+\) to region \(mars-north-1\)/,
      text,
    );
    const ami = /AMI: (ami-[0-9a-f]+)/.exec(text)?.[1];
    assert.ok(ami, text);
    assert.ok(
      ui.lines.includes(
        '==> Deregistering the AMI and deleting associated snapshots because of cancellation, or error...',
      ),
      text,
    );
    assert.ok(ui.lines.includes(`==> Deregistered AMI id: ${ami}`), text);
    const snap = /Deleted snapshot: (snap-[0-9a-f]+)/.exec(text)?.[1];
    assert.ok(snap, text);
    assert.deepEqual(await imagesNamed(env.ec2, name), []);
    await assert.rejects(
      env.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] })),
      /NotFound|does not exist/,
    );
    assert.ok(ui.lines.includes('==> Terminating the source AWS instance...'), text);
  });
});
