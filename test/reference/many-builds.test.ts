/**
 * Many builds at once (issue #7, part 4): one template with ten amazon-ebs builders — different
 * names, the same reference-like environment (bastion with agent auth, KMS-encrypted gp3, VPC/subnet
 * filters, ssh_clear_authorized_keys) — built by `kiln build` against one moto and one instance sshd.
 * All ten must succeed (no throttling or waiter failure), each leaving its own tagged AMI and
 * snapshot, and nothing temporary behind: no instance left running, no key pair, no loose volume,
 * and no temporary key left in the instance's authorized_keys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import { AWS_TEST_ENV, runKiln } from '../env/kiln-cli.js';
import { ec2, tagMap } from '../amazon/helpers.js';

const NAMES = Array.from({ length: 10 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);

let moto: Moto;
let inst: MotoInstance;
let api: EC2Client;
let dir: string;

before(async () => {
  moto = await startMoto();
  inst = await startMotoInstance(moto);
  api = ec2(moto);
  dir = await mkdtemp(join(tmpdir(), 'kiln-many-'));
});

after(async () => {
  await inst?.stop();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Ten copies of the reference builder, differing only in name (and so in AMI name and tags). */
export function manyBuildsTemplate(moto: Moto, inst: MotoInstance, names: string[], out: string): unknown {
  return {
    variables: {
      env_name: 'dev',
      ami_prefix: 'kiln-many-{{timestamp}}',
      current_user: inst.bastion.user,
    },
    builders: names.map((name) => ({
      name,
      type: 'amazon-ebs',
      ami_name: `{{user \`ami_prefix\`}}-${name}`,
      instance_type: 't4g.medium',
      region: 'us-east-1',
      custom_endpoint_ec2: moto.endpoint,
      source_ami_filter: {
        filters: {
          'virtualization-type': 'hvm',
          name: 'al2023-ami-2023.*-kernel-6.1-arm64',
          'root-device-type': 'ebs',
        },
        owners: 'amazon',
        most_recent: true,
      },
      ssh_username: inst.user,
      ssh_host: '127.0.0.1',
      ssh_port: String(inst.port),
      ssh_bastion_host: '127.0.0.1',
      ssh_bastion_port: String(inst.bastion.port),
      ssh_bastion_username: '{{user `current_user`}}',
      ssh_bastion_agent_auth: true,
      ssh_timeout: '2m',
      ssh_clear_authorized_keys: 'true',
      iam_instance_profile: '',
      tags: {
        Name: `{{user \`ami_prefix\`}}-${name}`,
        Environment: '{{user `env_name`}}',
        Builder: name,
        SourceAMI: '{{ .SourceAMI }}',
      },
      snapshot_tags: { Name: `{{user \`ami_prefix\`}}-${name}` },
      vpc_filter: { filters: { 'tag:Environment': '{{user `env_name`}}', isDefault: 'false' } },
      subnet_filter: {
        filters: { 'tag:Name': 'vpc-{{user `env_name`}}-private-us-east-*' },
        most_free: true,
      },
      security_group_ids: [moto.seed.security_group_id],
      launch_block_device_mappings: [
        {
          device_name: '/dev/xvda',
          encrypted: true,
          kms_key_id: moto.seed.kms_key_id,
          delete_on_termination: true,
          volume_type: 'gp3',
        },
      ],
    })),
    provisioners: [
      {
        type: 'shell',
        inline: ['echo "provisioned by $PACKER_BUILD_NAME as $(id -un)"', 'sudo true'],
      },
    ],
    'post-processors': [{ type: 'manifest', output: out, strip_path: true }],
  };
}

describe('ten amazon-ebs builds at once', () => {
  it('all ten succeed, each with its own tagged AMI and snapshot, nothing left behind', async () => {
    const file = join(dir, 'many.json');
    const manifest = join(dir, 'manifest.json');
    await writeFile(file, JSON.stringify(manyBuildsTemplate(moto, inst, NAMES, manifest)));
    const r = await runKiln(['build', '-color=false', file], {
      env: { ...AWS_TEST_ENV, SSH_AUTH_SOCK: inst.agentSock, PACKER_LOG: undefined },
      timeoutMs: 240_000,
    });
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /RequestLimitExceeded|Throttl|ResourceNotReady|Build '[^']+' errored/, r.out);
    // Ten builds share the run's cancellation signal: no Node warning about its listeners reaches the user.
    assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning|\(node:\d+\)/, r.stderr);

    const amis = new Map<string, string>();
    for (const name of NAMES) {
      // Each build ran its own provisioner over its own connection, under its own name.
      assert.match(r.out, new RegExp(`^    ${name}: provisioned by ${name} as ${inst.user}$`, 'm'), r.out);
      const m = new RegExp(`--> ${name}: AMIs were created:\\nus-east-1: (ami-[0-9a-f]+)`).exec(r.out);
      assert.ok(m, `no AMI for ${name}:\n${r.out}`);
      amis.set(name, m[1]);
    }
    assert.equal(new Set(amis.values()).size, NAMES.length, 'ten different AMIs');

    const images = (await api.send(new DescribeImagesCommand({ ImageIds: [...amis.values()] }))).Images ?? [];
    assert.equal(images.length, NAMES.length);
    const prefix = /^(kiln-many-\d+)-web-01$/.exec(
      images.find((i) => i.ImageId === amis.get('web-01'))?.Name ?? '',
    )?.[1];
    assert.ok(prefix, 'AMI name built from the user variable and {{timestamp}}');
    for (const [name, id] of amis) {
      const img = images.find((i) => i.ImageId === id);
      assert.equal(img?.State, 'available', name);
      assert.equal(img?.Name, `${prefix}-${name}`);
      const tags = tagMap(img?.Tags);
      assert.equal(tags.Name, `${prefix}-${name}`);
      assert.equal(tags.Builder, name);
      assert.equal(tags.Environment, 'dev');
      assert.equal(tags.SourceAMI, moto.seed.source_ami);
      const snapIds = (img?.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId ?? '').filter(Boolean);
      assert.ok(snapIds.length > 0, `${name}: snapshot`);
      const snaps = (await api.send(new DescribeSnapshotsCommand({ SnapshotIds: snapIds }))).Snapshots ?? [];
      assert.equal(snaps.length, snapIds.length);
      for (const snap of snaps) assert.equal(tagMap(snap.Tags).Name, `${prefix}-${name}`);
    }

    const built = JSON.parse(await readFile(manifest, 'utf8')) as {
      builds: { name: string; artifact_id: string }[];
    };
    assert.deepEqual(
      built.builds.map((b) => `${b.name}=${b.artifact_id}`).sort(),
      NAMES.map((n) => `${n}=us-east-1:${amis.get(n)}`).sort(),
    );

    // Nothing temporary left: every source instance terminated, every key pair deleted, no volume
    // kiln tagged or left attached, and every temporary key gone from the shared authorized_keys.
    const instanceIds = [...r.out.matchAll(/Instance ID: (i-[0-9a-f]+)/g)].map((m) => m[1]);
    assert.equal(new Set(instanceIds).size, NAMES.length, r.out);
    const reservations =
      (await api.send(new DescribeInstancesCommand({ InstanceIds: instanceIds }))).Reservations ?? [];
    const states = reservations.flatMap((res) => res.Instances ?? []).map((i) => i.State?.Name);
    assert.deepEqual(states, Array(NAMES.length).fill('terminated'));
    const keyNames = [...r.out.matchAll(/Creating temporary keypair: (\S+)/g)].map((m) => m[1]);
    assert.equal(new Set(keyNames).size, NAMES.length);
    const pairs = (await api.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [];
    assert.deepEqual(
      pairs.map((p) => p.KeyName).filter((k) => keyNames.includes(k ?? '')),
      [],
    );
    const tagged = await api.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'tag-key', Values: ['kiln-run-id'] }] }),
    );
    assert.deepEqual(tagged.Volumes ?? [], []);
    const attached = await api.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: instanceIds }] }),
    );
    assert.deepEqual(attached.Volumes ?? [], []);
    const authorized = await inst.homeAuthorizedKeys();
    for (const k of keyNames)
      assert.ok(!authorized.includes(` ${k}\n`), `${k} still authorized:\n${authorized}`);
  });
});
