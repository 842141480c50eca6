/**
 * Field tables of the amazon builders' options (spec §A.1–A.5), for `decodeConfig`. Property
 * names equal the JSON keys so the decoded objects are the config types of ./config.ts.
 */
import { f } from '../../../config/fields.js';

const filterFields = {
  filters: f.stringMap('filters', 'Filters (name → value) for the Describe call.'),
};

export const accessFields = {
  access_key: f.string('access_key', 'AWS access key.'),
  secret_key: f.string('secret_key', 'AWS secret key.'),
  token: f.string('token', 'Session token for the static keys.'),
  region: f.string('region', 'Build region.'),
  profile: f.string('profile', 'Shared-config profile.'),
  shared_credentials_file: f.string('shared_credentials_file', 'Path of the shared credentials file.'),
  custom_endpoint_ec2: f.string('custom_endpoint_ec2', 'EC2 endpoint URL.'),
  insecure_skip_tls_verify: f.bool('insecure_skip_tls_verify', 'Skip TLS verification.'),
  max_retries: f.int('max_retries', 'SDK retry budget for throttling and 5xx.', { default: 10 }),
  mfa_code: f.string('mfa_code', 'MFA code for a role profile.'),
  skip_metadata_api_check: f.bool('skip_metadata_api_check', 'Ignored (1.6.6 logged a warning).'),
  skip_credential_validation: f.bool('skip_credential_validation', 'Accepted; no effect (as in 1.6.6).'),
  decode_authorization_messages: f.bool(
    'decode_authorization_messages',
    'Decode UnauthorizedOperation messages with STS.',
  ),
  assume_role: f.object(
    'assume_role',
    {
      role_arn: f.string('role_arn', 'Role to assume.'),
      duration_seconds: f.int('duration_seconds', 'Session duration.'),
      external_id: f.string('external_id', 'External id.'),
      policy: f.string('policy', 'Session policy JSON.'),
      policy_arns: f.strings('policy_arns', 'Managed session policies.'),
      session_name: f.string('session_name', 'Session name.'),
      tags: f.stringMap('tags', 'Session tags.'),
      transitive_tag_keys: f.strings('transitive_tag_keys', 'Transitive session tag keys.'),
    },
    'STS AssumeRole settings.',
  ),
  vault_aws_engine: f.object(
    'vault_aws_engine',
    {
      name: f.string('name', 'Vault role name.'),
      role_arn: f.string('role_arn', 'Role ARN.'),
      ttl: f.string('ttl', 'Lease TTL.'),
      engine_name: f.string('engine_name', 'Secrets engine mount.', { default: 'aws' }),
    },
    'Credentials from a Vault AWS secrets engine.',
  ),
  aws_polling: f.object(
    'aws_polling',
    {
      delay_seconds: f.int('delay_seconds', 'Seconds between waiter polls.'),
      max_attempts: f.int('max_attempts', 'Waiter attempts.'),
    },
    'Waiter overrides.',
  ),
};

export const blockDeviceFields = {
  device_name: f.string('device_name', 'Device name, e.g. /dev/xvda.'),
  volume_type: f.string('volume_type', 'gp2, gp3, io1, io2, st1, sc1, standard.'),
  volume_size: f.int('volume_size', 'Size in GiB.', { goType: 'int64' }),
  iops: f.int('iops', 'Provisioned IOPS (io1/io2/gp3).', { goType: 'int64' }),
  throughput: f.int('throughput', 'Throughput in MiB/s (gp3).', { goType: 'int64' }),
  encrypted: f.tristate('encrypted', 'Encrypt the volume.'),
  kms_key_id: f.string('kms_key_id', 'KMS key for the volume.'),
  delete_on_termination: f.bool('delete_on_termination', 'Delete the volume with the instance.'),
  snapshot_id: f.string('snapshot_id', 'Snapshot to create the volume from.'),
  virtual_name: f.string('virtual_name', 'Instance store name (ephemeralN).'),
  no_device: f.bool('no_device', 'Suppress the device.'),
};

export const amiFields = {
  ami_name: f.string('ami_name', 'Name of the AMI.'),
  ami_description: f.string('ami_description', 'Description (rendered at run time).'),
  ami_virtualization_type: f.string('ami_virtualization_type', 'Virtualization type (only checked).'),
  ami_users: f.strings('ami_users', 'Accounts allowed to launch the AMI.'),
  ami_groups: f.strings('ami_groups', 'Groups allowed to launch the AMI.'),
  ami_product_codes: f.strings('ami_product_codes', 'Product codes.'),
  ami_regions: f.strings('ami_regions', 'Regions to copy the AMI to.'),
  skip_region_validation: f.bool('skip_region_validation', 'Skip the DescribeRegions check.'),
  tags: f.stringMap('tags', 'AMI (and snapshot) tags, rendered at run time.'),
  snapshot_tags: f.stringMap('snapshot_tags', 'Snapshot tags, rendered at run time.'),
  snapshot_users: f.strings('snapshot_users', 'Accounts allowed to create volumes.'),
  snapshot_groups: f.strings('snapshot_groups', 'Groups allowed to create volumes.'),
  ena_support: f.tristate('ena_support', 'Set ENA support.'),
  sriov_support: f.bool('sriov_support', 'Enable SR-IOV.'),
  force_deregister: f.bool('force_deregister', 'Deregister AMIs with the same name.'),
  force_delete_snapshot: f.bool('force_delete_snapshot', 'Also delete their snapshots.'),
  encrypt_boot: f.tristate('encrypt_boot', 'Encrypt the boot volume (copy).'),
  kms_key_id: f.string('kms_key_id', 'KMS key of the build-region copy.'),
  region_kms_key_ids: f.stringMap('region_kms_key_ids', 'KMS key per copy region.'),
  skip_save_build_region: f.bool('skip_save_build_region', 'Do not keep the AMI in the build region.'),
};

export const runFields = {
  instance_type: f.string('instance_type', 'Instance type.'),
  source_ami: f.string('source_ami', 'Source image id.'),
  source_ami_filter: f.object(
    'source_ami_filter',
    {
      ...filterFields,
      owners: f.strings('owners', 'Owners (account ids or aliases).'),
      most_recent: f.bool('most_recent', 'Take the newest match.'),
    },
    'Source image lookup.',
  ),
  subnet_id: f.string('subnet_id', 'Launch subnet.'),
  subnet_filter: f.object(
    'subnet_filter',
    {
      ...filterFields,
      most_free: f.bool('most_free', 'Take the subnet with most free addresses.'),
      random: f.bool('random', 'Take a random match.'),
    },
    'Subnet lookup.',
  ),
  vpc_id: f.string('vpc_id', 'VPC of the temporary security group.'),
  vpc_filter: f.object('vpc_filter', filterFields, 'VPC lookup.'),
  security_group_id: f.string('security_group_id', 'One security group.'),
  security_group_ids: f.strings('security_group_ids', 'Security groups.'),
  security_group_filter: f.object('security_group_filter', filterFields, 'Security group lookup.'),
  temporary_security_group_source_cidrs: f.strings(
    'temporary_security_group_source_cidrs',
    'Ingress CIDRs of the temporary group.',
    {
      default: ['0.0.0.0/0'],
    },
  ),
  associate_public_ip_address: f.bool(
    'associate_public_ip_address',
    'Public address on the instance (needs a subnet).',
  ),
  availability_zone: f.string('availability_zone', 'Placement zone.'),
  iam_instance_profile: f.string('iam_instance_profile', 'Instance profile name.'),
  skip_profile_validation: f.bool('skip_profile_validation', 'Skip the GetInstanceProfile check.'),
  temporary_iam_instance_profile_policy_document: f.any(
    'temporary_iam_instance_profile_policy_document',
    'Policy of a temporary instance profile.',
  ),
  run_tags: f.stringMap('run_tags', 'Instance tags.'),
  run_volume_tags: f.stringMap('run_volume_tags', 'Volume tags.'),
  spot_price: f.string('spot_price', 'Spot max price, "auto" or "" (on demand).'),
  spot_instance_types: f.strings('spot_instance_types', 'Spot fleet instance types.'),
  spot_tags: f.stringMap('spot_tags', 'Spot request tags.'),
  spot_price_auto_product: f.string('spot_price_auto_product', 'Deprecated.'),
  block_duration_minutes: f.int('block_duration_minutes', 'Spot block duration.', { goType: 'int64' }),
  user_data: f.string('user_data', 'User data.'),
  user_data_file: f.string('user_data_file', 'User data file.'),
  shutdown_behavior: f.string('shutdown_behavior', 'stop or terminate.'),
  ebs_optimized: f.bool('ebs_optimized', 'EBS-optimized instance.'),
  enable_t2_unlimited: f.bool('enable_t2_unlimited', 'T2 unlimited credits.'),
  tenancy: f.string('tenancy', 'default, dedicated or host.'),
  disable_stop_instance: f.bool('disable_stop_instance', 'Do not stop the instance before imaging.'),
  ssh_interface: f.string(
    'ssh_interface',
    'public_ip, private_ip, public_dns, private_dns, session_manager.',
  ),
  pause_before_ssm: f.duration('pause_before_ssm', 'Pause before the SSM session.'),
  session_manager_port: f.int('session_manager_port', 'Local SSM tunnel port.'),
  windows_password_timeout: f.duration('windows_password_timeout', 'WinRM password wait.', {
    default: 20 * 60_000,
  }),
  metadata_options: f.object(
    'metadata_options',
    {
      http_endpoint: f.string('http_endpoint', 'enabled or disabled.'),
      http_tokens: f.string('http_tokens', 'optional or required.'),
      http_put_response_hop_limit: f.int('http_put_response_hop_limit', '1–64.', { goType: 'int64' }),
      instance_metadata_tags: f.string('instance_metadata_tags', 'enabled or disabled.'),
    },
    "Instance metadata service options (today's plugin).",
  ),
  launch_block_device_mappings: f.objects(
    'launch_block_device_mappings',
    blockDeviceFields,
    'Volumes at launch.',
  ),
  ami_block_device_mappings: f.objects('ami_block_device_mappings', blockDeviceFields, 'Volumes of the AMI.'),
};

export const ebsFields = {
  no_ephemeral: f.bool('no_ephemeral', 'Suppress instance-store devices xvdca–xvdcz.'),
};
