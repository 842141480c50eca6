/**
 * `kiln build` of a reference-like amazon-ebs template (user variables, {{timestamp}}, build-info
 * tags, a shell provisioner using {{build `SourceAMI`}}, the manifest post-processor) against moto
 * and the sshd/bastion instance — the whole CLI path, checked through its output and the EC2 API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { AWS_TEST_ENV, runKiln, type KilnResult } from '../env/kiln-cli.js';
import { startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import { ec2, tagMap } from './helpers.js';

let moto: Moto;
let inst: MotoInstance;
let api: EC2Client;
let dir: string;

before(async () => {
  moto = await startMoto();
  inst = await startMotoInstance(moto);
  api = ec2(moto);
  dir = await mkdtemp(join(tmpdir(), 'kiln-ebs-cli-'));
});

after(async () => {
  await inst?.stop();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function template(provision: string[]): unknown {
  return {
    variables: { env_name: 'dev', ami_name: 'kiln-cli-{{timestamp}}', current_user: inst.bastion.user },
    builders: [
      {
        type: 'amazon-ebs',
        ami_name: '{{user `ami_name`}}',
        instance_type: 't4g.medium',
        region: 'us-east-1',
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
        ssh_bastion_host: '127.0.0.1',
        ssh_bastion_port: String(inst.bastion.port),
        ssh_bastion_username: '{{user `current_user`}}',
        ssh_bastion_agent_auth: true,
        ssh_timeout: '1m',
        ssh_clear_authorized_keys: 'true',
        iam_instance_profile: '',
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
        custom_endpoint_ec2: moto.endpoint,
        ssh_host: '127.0.0.1',
        ssh_port: String(inst.port),
      },
    ],
    provisioners: [{ type: 'shell', inline: provision }],
    'post-processors': [{ type: 'manifest', output: join(dir, 'manifest.json') }],
  };
}

function kiln(args: string[]): Promise<KilnResult> {
  return runKiln(args, { env: { ...AWS_TEST_ENV, SSH_AUTH_SOCK: inst.agentSock } });
}

describe('kiln build with amazon-ebs', () => {
  it('builds, provisions, tags and records the AMI in the manifest', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify(template(['echo "source={{build `SourceAMI`}}"', 'sudo id -u'])));
    const { code, out } = await kiln(['build', '-color=false', file]);
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`amazon-ebs: source=${moto.seed.source_ami}`));
    const ami = /--> amazon-ebs: AMIs were created:\nus-east-1: (ami-[0-9a-f]+)/.exec(out)?.[1];
    assert.ok(ami, out);
    const img = (await api.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available');
    const tags = tagMap(img?.Tags);
    assert.match(tags.Name, /^kiln-cli-\d+$/);
    assert.equal(img?.Name, tags.Name);
    assert.equal(tags.Base, moto.seed.source_ami_name);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
      builds: { artifact_id: string; builder_type: string }[];
    };
    assert.equal(manifest.builds[0].artifact_id, `us-east-1:${ami}`);
    assert.equal(manifest.builds[0].builder_type, 'amazon-ebs');
  });

  it('-on-error=abort: exit 1, cleanups skipped, the leftovers listed', async () => {
    const file = join(dir, 'fail.json');
    await writeFile(file, JSON.stringify(template(['exit 7'])));
    const { code, out } = await kiln(['build', '-color=false', '-on-error=abort', file]);
    assert.equal(code, 1, out);
    assert.match(out, /Step "StepProvision" failed, aborting\.\.\./);
    assert.match(out, /Temporary resources left behind \(tagged kiln-run-id=/);
    const instanceId = /Instance ID: (i-[0-9a-f]+)/.exec(out)?.[1] ?? '';
    assert.ok(out.includes(`amazon-ebs: instance ${instanceId} (us-east-1)`), out);
    const i = (await api.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]
      ?.Instances?.[0];
    assert.equal(i?.State?.Name, 'running');
    assert.doesNotMatch(out, /Terminating the source AWS instance/);
  });
});
