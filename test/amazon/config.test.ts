/**
 * amazon-ebs prepare: Packer 1.6.6's validation messages (today's plugin where the compatibility
 * notes say so), decoding quirks, and that the validate path loads neither the AWS SDK nor ssh2.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '../../src/builders/amazon-ebs/index.js';
import { prepareEbs } from '../../src/builders/amazon-ebs/config.js';
import { cleanResourceName } from '../../src/builders/amazon/common/clean-name.js';
import type { RawConfig } from '../../src/core/types.js';
import { labBuilderConfig } from '../env/amazon-env.js';
import { packerConfig, prepareProblems as problems } from './helpers.js';

/** The reference template's builder (lab build/config.json) with its user variables' values. */
function reference(over: RawConfig = {}): RawConfig {
  return labBuilderConfig(
    {
      ssh_username: 'ec2-user',
      ssh_bastion_host: 'bastion.mycorp.com',
      ssh_bastion_username: 'me',
      ssh_bastion_agent_auth: true,
      ssh_bastion_port: 22,
    },
    { security_group_id: 'sg-123', kms_key_id: 'a2018373-3025-4bb2-a9d2-b1cbf79b1b51' },
    {
      ami_name: 'asb-linux-al23-arm-{{timestamp}}',
      ssh_timeout: '2m',
      tags: { Name: 'x', Environment: '{{user `env_name`}}' },
      ...over,
    },
  );
}

describe('amazon-ebs prepare', () => {
  it('accepts the reference template (gp3 without iops/throughput) and fills defaults', async () => {
    const b = create();
    const r = await b.prepare([reference()], packerConfig());
    assert.deepEqual(r.generatedDataKeys?.includes('SourceAMI'), true);
    const p = prepareEbs([reference()], packerConfig());
    assert.match(p.config.ami_name, /^asb-linux-al23-arm-\d+$/);
    assert.equal(p.config.max_retries, 10);
    assert.equal(p.config.shutdown_behavior, 'stop');
    assert.deepEqual(p.config.temporary_security_group_source_cidrs, ['0.0.0.0/0']);
    assert.match(
      p.config.temporary_key_pair_name,
      /^packer_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    assert.equal(p.config.ssh_clear_authorized_keys, true);
    assert.equal(p.comm.sshTimeout, 120_000);
    // run-time keys are kept as templates
    assert.equal(p.config.tags.Environment, '{{user `env_name`}}');
  });

  it('reports every missing required option at once', () => {
    assert.deepEqual(problems({}), [
      'An ssh_username must be specified\n  Note: some builders used to default ssh_username to "root".',
      'ami_name must be specified',
      'A source_ami or source_ami_filter must be specified',
      'either instance_type or spot_instance_types must be specified',
    ]);
  });

  it('checks ami_name and offers clean_resource_name', () => {
    assert.deepEqual(problems(reference({ ami_name: 'ab' })), [
      'ami_name must be between 3 and 128 characters long',
    ]);
    assert.deepEqual(problems(reference({ ami_name: 'my:ami*' })), [
      "AMIName should only contain alphanumeric characters, parentheses (()), square brackets ([]), spaces ( ), periods (.), slashes (/), dashes (-), single quotes ('), at-signs (@), or underscores(_). You can use the `clean_resource_name` template filter to automatically clean your ami name.",
    ]);
    const p = prepareEbs([reference({ ami_name: '{{ clean_resource_name `my:ami*{{` }}' })], packerConfig());
    assert.equal(p.config.ami_name, 'my-ami---');
    assert.equal(cleanResourceName("a(b)[c] d./-'@_é"), "a(b)[c] d./-'@_--");
  });

  it('validates block devices (gp3 ranges, io1 ratio, throughput, kms)', () => {
    const dev = (d: RawConfig) =>
      problems(reference({ launch_block_device_mappings: [{ device_name: '/dev/sdb', ...d }] }));
    assert.deepEqual(dev({ volume_type: 'gp3', iops: 3000, throughput: 125 }), []);
    assert.deepEqual(dev({ volume_type: 'gp3', iops: 100 }), [
      'IOPS must be between 3000 and 16000 for device /dev/sdb',
    ]);
    assert.deepEqual(dev({ volume_type: 'gp3', throughput: 2000 }), [
      'Throughput must be between 125 and 1000 for device /dev/sdb',
    ]);
    assert.deepEqual(dev({ volume_type: 'gp2', throughput: 200 }), [
      'Throughput is not available for device /dev/sdb',
    ]);
    assert.deepEqual(dev({ volume_type: 'io1', volume_size: 10, iops: 1000 }), [
      '/dev/sdb: the maximum ratio of provisioned IOPS to requested volume size (in GiB) is 50:1 for io1 volumes',
    ]);
    assert.deepEqual(dev({ kms_key_id: 'abc', encrypted: false }), [
      'The device /dev/sdb, must also have `encrypted: true` when setting a kms_key_id.',
    ]);
    assert.deepEqual(problems(reference({ launch_block_device_mappings: [{ volume_type: 'gp2' }] })), [
      'The `device_name` must be specified for every device in the block device mapping.',
    ]);
  });

  it('validates encryption and copy settings', () => {
    assert.deepEqual(problems(reference({ kms_key_id: 'alias/x' })), [
      'If you have set either region_kms_key_ids or kms_key_id, encrypt_boot must also be true.',
    ]);
    assert.deepEqual(problems(reference({ encrypt_boot: true, kms_key_id: 'not a key' })), [
      '"not a key" is not a valid KMS Key Id.',
    ]);
    assert.deepEqual(
      problems(
        reference({ encrypt_boot: true, kms_key_id: 'arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd' }),
      ),
      [],
    );
    assert.deepEqual(
      problems(
        reference({
          encrypt_boot: true,
          ami_regions: ['eu-west-1'],
          region_kms_key_ids: { 'us-west-2': 'alias/a' },
        }),
      ),
      [
        'Region us-west-2 is in region_kms_key_ids but not in ami_regions',
        'Region eu-west-1 is in ami_regions but not in region_kms_key_ids',
      ],
    );
    assert.deepEqual(problems(reference({ encrypt_boot: true, ami_users: ['123'] })), [
      'Cannot share AMI encrypted with default KMS key',
    ]);
  });

  it('validates run options', () => {
    assert.deepEqual(problems(reference({ security_group_id: 'sg-1' })), [
      'Only one of security_group_id or security_group_ids can be specified.',
    ]);
    assert.deepEqual(problems(reference({ shutdown_behavior: 'halt' })), [
      "shutdown_behavior only accepts 'stop' or 'terminate' values.",
    ]);
    assert.deepEqual(problems(reference({ ssh_interface: 'ipv6' })), ['Unknown interface type: ipv6']);
    assert.deepEqual(problems(reference({ spot_tags: { a: 'b' } })), [
      'spot_tags should not be set when not requesting a spot instance',
    ]);
    assert.deepEqual(problems(reference({ user_data: 'x', user_data_file: 'y' })), [
      'Only one of user_data or user_data_file can be specified.',
      'user_data_file not found: y',
    ]);
    assert.deepEqual(problems(reference({ temporary_security_group_source_cidrs: ['10.0.0.0/33'] })), [
      'Error parsing CIDR in temporary_security_group_source_cidrs: invalid CIDR address: 10.0.0.0/33',
    ]);
    const f = reference();
    (f.source_ami_filter as RawConfig).owners = [];
    assert.deepEqual(problems(f), ['For security reasons, your source AMI filter must declare an owner.']);
    assert.deepEqual(problems(reference({ temporary_key_pair_type: 'dsa' })), [
      'Cannot use temporary_key_pair_type "dsa": it must be "rsa" or "ed25519"',
    ]);
    assert.deepEqual(problems(reference({ temporary_key_pair_type: 'ed25519' })), []);
    assert.deepEqual(problems(reference({ access_key: 'AKIA' })), [
      '`access_key` and `secret_key` must both be either set or not set.',
    ]);
  });

  it('reports unknown and deprecated keys with Packer texts', () => {
    assert.throws(
      () => prepareEbs([reference({ bogus: 1 })], packerConfig()),
      (e: Error) => e.message.includes(`unknown configuration key: '"bogus"'`),
    );
    assert.throws(
      () => prepareEbs([reference({ clean_ami_name: true })], packerConfig()),
      (e: Error) => e.message.includes("Deprecated configuration key: 'clean_ami_name'."),
    );
  });

  it('-force sets force_deregister; a given key pair or password means no temporary key pair', () => {
    assert.equal(prepareEbs([reference()], packerConfig({ force: true })).config.force_deregister, true);
    assert.equal(
      prepareEbs([reference({ ssh_password: 'pw' })], packerConfig()).config.temporary_key_pair_name,
      '',
    );
  });

  it('prepare loads neither the AWS SDK nor ssh2', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const index = join(here, '..', '..', 'src', 'builders', 'amazon-ebs', 'index.js');
    const hooks = `export async function resolve(s, c, next) { if (/@aws-sdk|^ssh2/.test(s)) console.error('LOADED ' + s); return next(s, c); }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      const { create } = await import(${JSON.stringify(index)});
      const raw = ${JSON.stringify(reference({ tags: { Name: 'x' } }))};
      await create().prepare([raw], { buildName: 'amazon-ebs', builderType: 'amazon-ebs', coreVersion: '1.6.6', debug: false, force: false,
        onError: 'cleanup', templatePath: '', userVariables: {}, sensitive: [], initTime: new Date(), runUuid: 'x' });
      console.error('PREPARED');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.match(r.stderr, /PREPARED/, r.stderr);
    assert.doesNotMatch(r.stderr, /LOADED/, r.stderr);
  });
});
