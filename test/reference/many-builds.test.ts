/**
 * Many builds at once (issue #7, part 4): one template with ten amazon-ebs builders — different
 * names, the same reference-like environment (bastion with agent auth, KMS-encrypted gp3, VPC/subnet
 * filters, ssh_clear_authorized_keys) — built by `kiln build` against one moto and one instance sshd.
 * All ten must succeed (no throttling or waiter failure), each leaving its own tagged AMI and
 * snapshot, and nothing temporary behind: no instance left running, no key pair, no loose volume,
 * and no temporary key left in the instance's authorized_keys.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
} from '@aws-sdk/client-ec2';
import { amazonEnv, referenceConfig } from '../env/amazon-env.js';
import type { Moto, MotoInstance } from '../env/moto.js';
import { tagMap } from '../amazon/helpers.js';

const NAMES = Array.from({ length: 10 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);

const env = amazonEnv({ dir: 'kiln-many-' });

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
      ...referenceConfig(moto, inst, {
        ami_name: `{{user \`ami_prefix\`}}-${name}`,
        ssh_bastion_username: '{{user `current_user`}}',
        ssh_timeout: '2m',
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
      }),
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
    const manifest = join(env.dir, 'manifest.json');
    const file = await env.writeTemplate(
      'many.json',
      manyBuildsTemplate(env.moto, env.inst, NAMES, manifest),
    );
    const r = await env.kiln(['build', '-color=false', file], {
      env: { PACKER_LOG: undefined },
      timeoutMs: 240_000,
    });
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /RequestLimitExceeded|Throttl|ResourceNotReady|Build '[^']+' errored/, r.out);
    // Ten builds share the run's cancellation signal: no Node warning about its listeners reaches the user.
    assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning|\(node:\d+\)/, r.stderr);

    const amis = new Map<string, string>();
    for (const name of NAMES) {
      // Each build ran its own provisioner over its own connection, under its own name.
      assert.match(
        r.out,
        new RegExp(`^    ${name}: provisioned by ${name} as ${env.inst.user}$`, 'm'),
        r.out,
      );
      const m = new RegExp(`--> ${name}: AMIs were created:\\nus-east-1: (ami-[0-9a-f]+)`).exec(r.out);
      assert.ok(m, `no AMI for ${name}:\n${r.out}`);
      amis.set(name, m[1]);
    }
    assert.equal(new Set(amis.values()).size, NAMES.length, 'ten different AMIs');

    const images =
      (await env.ec2.send(new DescribeImagesCommand({ ImageIds: [...amis.values()] }))).Images ?? [];
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
      assert.equal(tags.SourceAMI, env.moto.seed.source_ami);
      const snapIds = (img?.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId ?? '').filter(Boolean);
      assert.ok(snapIds.length > 0, `${name}: snapshot`);
      const snaps =
        (await env.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapIds }))).Snapshots ?? [];
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
      (await env.ec2.send(new DescribeInstancesCommand({ InstanceIds: instanceIds }))).Reservations ?? [];
    const states = reservations.flatMap((res) => res.Instances ?? []).map((i) => i.State?.Name);
    assert.deepEqual(states, Array(NAMES.length).fill('terminated'));
    const keyNames = [...r.out.matchAll(/Creating temporary keypair: (\S+)/g)].map((m) => m[1]);
    assert.equal(new Set(keyNames).size, NAMES.length);
    const pairs = (await env.ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [];
    assert.deepEqual(
      pairs.map((p) => p.KeyName).filter((k) => keyNames.includes(k ?? '')),
      [],
    );
    const tagged = await env.ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'tag-key', Values: ['kiln-run-id'] }] }),
    );
    assert.deepEqual(tagged.Volumes ?? [], []);
    const attached = await env.ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: instanceIds }] }),
    );
    assert.deepEqual(attached.Volumes ?? [], []);
    const authorized = await env.inst.homeAuthorizedKeys();
    for (const k of keyNames)
      assert.ok(!authorized.includes(` ${k}\n`), `${k} still authorized:\n${authorized}`);
  });
});
