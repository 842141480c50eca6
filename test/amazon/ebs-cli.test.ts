/**
 * `kiln build` of a reference-like amazon-ebs template (user variables, {{timestamp}}, build-info
 * tags, a shell provisioner using {{build `SourceAMI`}}, the manifest post-processor) against moto
 * and the sshd/bastion instance — the whole CLI path, checked through its output and the EC2 API.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { amazonEnv } from '../env/amazon-env.js';
import { tagMap } from './helpers.js';

const env = amazonEnv({ dir: 'kiln-ebs-cli-' });

function template(provision: string[]): unknown {
  return {
    variables: { env_name: 'dev', ami_name: 'kiln-cli-{{timestamp}}', current_user: env.inst.bastion.user },
    builders: [
      env.builder({
        ami_name: '{{user `ami_name`}}',
        ssh_bastion_username: '{{user `current_user`}}',
        tags: {
          Name: '{{user `ami_name`}}',
          Environment: '{{user `env_name`}}',
          Base: '{{ .SourceAMIName }}',
        },
        vpc_filter: { filters: { 'tag:Environment': '{{user `env_name`}}', isDefault: 'false' } },
        subnet_filter: {
          filters: { 'tag:Name': 'vpc-{{user `env_name`}}-private-us-east-*' },
          most_free: true,
        },
      }),
    ],
    provisioners: [{ type: 'shell', inline: provision }],
    'post-processors': [{ type: 'manifest', output: join(env.dir, 'manifest.json') }],
  };
}

describe('kiln build with amazon-ebs', () => {
  it('builds, provisions, tags and records the AMI in the manifest', async () => {
    const file = await env.writeTemplate(
      'ok.json',
      template(['echo "source={{build `SourceAMI`}}"', 'sudo id -u']),
    );
    const { code, out } = await env.kiln(['build', '-color=false', file]);
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`amazon-ebs: source=${env.moto.seed.source_ami}`));
    const ami = /--> amazon-ebs: AMIs were created:\nus-east-1: (ami-[0-9a-f]+)/.exec(out)?.[1];
    assert.ok(ami, out);
    const img = (await env.ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available');
    const tags = tagMap(img?.Tags);
    assert.match(tags.Name, /^kiln-cli-\d+$/);
    assert.equal(img?.Name, tags.Name);
    assert.equal(tags.Base, env.moto.seed.source_ami_name);
    const manifest = JSON.parse(await readFile(join(env.dir, 'manifest.json'), 'utf8')) as {
      builds: { artifact_id: string; builder_type: string }[];
    };
    assert.equal(manifest.builds[0].artifact_id, `us-east-1:${ami}`);
    assert.equal(manifest.builds[0].builder_type, 'amazon-ebs');
  });

  it('-on-error=abort: exit 1, cleanups skipped, the leftovers listed', async () => {
    const file = await env.writeTemplate('fail.json', template(['exit 7']));
    const { code, out } = await env.kiln(['build', '-color=false', '-on-error=abort', file]);
    assert.equal(code, 1, out);
    assert.match(out, /Step "StepProvision" failed, aborting\.\.\./);
    assert.match(out, /Temporary resources left behind \(tagged kiln-run-id=/);
    const instanceId = /Instance ID: (i-[0-9a-f]+)/.exec(out)?.[1] ?? '';
    assert.ok(out.includes(`amazon-ebs: instance ${instanceId} (us-east-1)`), out);
    const i = (await env.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })))
      .Reservations?.[0]?.Instances?.[0];
    assert.equal(i?.State?.Name, 'running');
    assert.doesNotMatch(out, /Terminating the source AWS instance/);
  });
});
