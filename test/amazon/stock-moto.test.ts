/**
 * amazon-ebs against an EC2 endpoint that refuses a "snapshot" TagSpecification on CreateImage, as
 * the shared lab's moto 5.2.1 does (a 500): the reference build must work there, and a failing
 * build must still mark the AMI's snapshots (kiln-state=incomplete) before it deregisters the AMI,
 * so that a kill between DeregisterImage and DeleteSnapshot leaves nothing `kiln cleanup` misses.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { amazonEnv } from '../env/amazon-env.js';
import { runBuild, tagMap } from './helpers.js';

let ec2: EC2Client;
const env = amazonEnv({
  processEnv: true,
  motoEnv: { KILN_MOTO_STOCK_CREATE_IMAGE: '1' },
  setUp() {
    ec2 = new EC2Client({ ...env.clientConfig(), maxAttempts: 1 });
  },
});

async function snapshotIds(): Promise<Set<string>> {
  const o = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
  return new Set((o.Snapshots ?? []).map((s) => s.SnapshotId ?? ''));
}

describe('amazon-ebs on an endpoint without snapshot TagSpecifications on CreateImage', () => {
  it('the endpoint really refuses them (else this file tests nothing)', async () => {
    const r = await ec2.send(
      new RunInstancesCommand({ ImageId: env.moto.seed.source_ami, MinCount: 1, MaxCount: 1 }),
    );
    const id = r.Instances?.[0]?.InstanceId ?? '';
    try {
      await assert.rejects(
        ec2.send(
          new CreateImageCommand({
            InstanceId: id,
            Name: `probe-${Date.now()}`,
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'k', Value: 'v' }] }],
          }),
        ),
        (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 500,
      );
    } finally {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    }
  });

  it('builds the AMI: available, tagged, its snapshot kept and unmarked', async () => {
    const raw = env.config({ tags: { Name: 'stock', Environment: 'test' } });
    const { artifact, error, ui } = await runBuild(raw, ['true']);
    assert.equal(error, undefined, `${error?.message}\n${ui.text()}`);
    const ami = /us-east-1: (ami-[0-9a-f]+)/.exec(artifact?.toString() ?? '')?.[1] ?? '';
    const img = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available');
    const tags = tagMap(img?.Tags);
    assert.equal(tags.Name, 'stock');
    assert.equal(tags['kiln-state'], undefined, 'the product is not marked incomplete');
    const snaps = (img?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId ?? '').filter(Boolean);
    assert.equal(snaps.length, 1);
    const s = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snaps }))).Snapshots?.[0];
    assert.equal(tagMap(s?.Tags).Name, 'stock', 'tags reach the snapshot');
    assert.equal(tagMap(s?.Tags)['kiln-state'], undefined);
  });

  it('a build failing after CreateImage marks the snapshots, then removes the AMI and them', async () => {
    const before = await snapshotIds();
    // ModifyImageAttribute refuses a user id that is not 12 digits: the build fails after the AMI exists.
    const raw = env.config({ ami_users: ['not-an-account'] });
    await env.moto.clearCalls();
    const { error, ui } = await runBuild(raw, ['true']);
    const text = ui.text();
    assert.ok(error, text);
    assert.ok(
      ui.lines.includes(
        '==> Deregistering the AMI and deleting associated snapshots because of cancellation, or error...',
      ),
      text,
    );
    const calls = await env.moto.sdkCalls();
    const modify = calls.lastIndexOf('ModifyImageAttribute');
    const deregister = calls.indexOf('DeregisterImage');
    assert.ok(modify >= 0 && deregister > modify, calls.join(' '));
    assert.ok(
      calls.slice(modify, deregister).includes('CreateTags'),
      `snapshots marked before DeregisterImage: ${calls.join(' ')}`,
    );
    assert.ok(calls.indexOf('DeleteSnapshot') > deregister, calls.join(' '));
    assert.deepEqual(
      [...(await snapshotIds())].filter((s) => !before.has(s)),
      [],
      'no snapshot left',
    );
  });
});
