/**
 * The decoded configuration of the amazon builders (spec §A), keyed exactly like the template
 * (snake_case), plus the validation rules of Packer 1.6.6's access/AMI/run/block-device configs.
 * Validation functions return problem lists; the builder joins them into one ConfigError.
 */
import { existsSync } from 'node:fs';
import { cleanResourceName } from './clean-name.js';

export interface AssumeRoleConfig {
  role_arn: string;
  duration_seconds: number;
  external_id: string;
  policy: string;
  policy_arns: string[];
  session_name: string;
  tags: Record<string, string>;
  transitive_tag_keys: string[];
}

export interface VaultAwsEngineConfig {
  name: string;
  role_arn: string;
  ttl: string;
  engine_name: string;
}

export interface PollingConfig {
  delay_seconds: number;
  max_attempts: number;
}

export interface AccessConfig {
  access_key: string;
  secret_key: string;
  token: string;
  region: string;
  profile: string;
  shared_credentials_file: string;
  custom_endpoint_ec2: string;
  insecure_skip_tls_verify: boolean;
  max_retries: number;
  mfa_code: string;
  skip_metadata_api_check: boolean;
  skip_credential_validation: boolean;
  decode_authorization_messages: boolean;
  assume_role?: AssumeRoleConfig;
  vault_aws_engine?: VaultAwsEngineConfig;
  aws_polling?: PollingConfig;
}

export interface BlockDevice {
  device_name: string;
  volume_type: string;
  volume_size: number;
  iops: number;
  throughput: number;
  /** Trilean: undefined = unset. */
  encrypted?: boolean;
  kms_key_id: string;
  delete_on_termination: boolean;
  snapshot_id: string;
  virtual_name: string;
  no_device: boolean;
}

export interface AmiConfig {
  ami_name: string;
  ami_description: string;
  ami_virtualization_type: string;
  ami_users: string[];
  ami_groups: string[];
  ami_product_codes: string[];
  ami_regions: string[];
  skip_region_validation: boolean;
  tags: Record<string, string>;
  snapshot_tags: Record<string, string>;
  snapshot_users: string[];
  snapshot_groups: string[];
  ena_support?: boolean;
  sriov_support: boolean;
  force_deregister: boolean;
  force_delete_snapshot: boolean;
  encrypt_boot?: boolean;
  kms_key_id: string;
  region_kms_key_ids: Record<string, string>;
  skip_save_build_region: boolean;
}

export interface FilterConfig {
  filters: Record<string, string>;
}

export interface AmiFilterConfig extends FilterConfig {
  owners: string[];
  most_recent: boolean;
}

export interface SubnetFilterConfig extends FilterConfig {
  most_free: boolean;
  random: boolean;
}

export interface PolicyDocument {
  Version: string;
  Statement: { Effect: string; Action: string[]; Resource: string[] }[];
}

export interface MetadataOptions {
  http_endpoint: string;
  http_tokens: string;
  http_put_response_hop_limit: number;
  instance_metadata_tags: string;
}

export interface RunConfig {
  instance_type: string;
  source_ami: string;
  source_ami_filter: AmiFilterConfig;
  subnet_id: string;
  subnet_filter: SubnetFilterConfig;
  vpc_id: string;
  vpc_filter: FilterConfig;
  security_group_ids: string[];
  security_group_filter: FilterConfig;
  temporary_security_group_source_cidrs: string[];
  associate_public_ip_address: boolean;
  availability_zone: string;
  iam_instance_profile: string;
  skip_profile_validation: boolean;
  temporary_iam_instance_profile_policy_document?: PolicyDocument;
  run_tags: Record<string, string>;
  run_volume_tags: Record<string, string>;
  spot_price: string;
  spot_instance_types: string[];
  spot_tags: Record<string, string>;
  /** `spot_tags` was given, even as `{}` (Packer 1.6.6 checked `SpotTags != nil`, not its length). */
  spot_tags_set?: boolean;
  block_duration_minutes: number;
  user_data: string;
  user_data_file: string;
  shutdown_behavior: string;
  ebs_optimized: boolean;
  enable_t2_unlimited: boolean;
  tenancy: string;
  disable_stop_instance: boolean;
  ssh_interface: string;
  pause_before_ssm_ms: number;
  session_manager_port: number;
  windows_password_timeout_ms: number;
  metadata_options?: MetadataOptions;
  temporary_key_pair_type: string;
}

/** The communicator fields this builder reads (the rest belong to the SSH communicator). */
export interface CommFields {
  communicator: string;
  ssh_host: string;
  ssh_port: number;
  ssh_username: string;
  ssh_password: string;
  ssh_private_key_file: string;
  ssh_keypair_name: string;
  ssh_agent_auth: boolean;
  ssh_clear_authorized_keys: boolean;
  temporary_key_pair_name: string;
  winrm_port: number;
  winrm_password: string;
}

const KMS_KEY_RE = [
  /^[a-f0-9-]+$/,
  /^alias\/[a-zA-Z0-9:/_-]+$/,
  /^arn:aws(-us-gov|-cn)?:kms:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:\d{12}:key\/(mrk-)?[a-f0-9-]+$/,
  /^arn:aws(-us-gov|-cn)?:kms:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:\d{12}:alias\/[a-zA-Z0-9:/_-]+$/,
  /^mrk-[a-f0-9]+$/,
];

/** Accepted KMS key forms (today's plugin: also aws-cn ARNs and multi-region `mrk-` keys). */
export function validKmsKey(k: string): boolean {
  return KMS_KEY_RE.some((re) => re.test(k));
}

export function validateAccess(c: AccessConfig): string[] {
  const errs: string[] = [];
  if ((c.access_key === '') !== (c.secret_key === '')) {
    errs.push('`access_key` and `secret_key` must both be either set or not set.'); // parity:
  }
  if (c.vault_aws_engine && c.vault_aws_engine.name !== '' && (c.access_key !== '' || c.secret_key !== '')) {
    errs.push('If you have set vault_aws_engine, you must not set the access_key or secret_key.'); // parity:
  }
  return errs;
}

export function validateAmi(c: AmiConfig, buildRegion: string): string[] {
  const errs: string[] = [];
  if (c.ami_name === '') {
    errs.push('ami_name must be specified'); // parity:
  } else {
    const len = Buffer.byteLength(c.ami_name);
    if (len < 3 || len > 128) errs.push('ami_name must be between 3 and 128 characters long'); // parity:
    if (c.ami_name !== cleanResourceName(c.ami_name)) {
      // parity:
      errs.push(
        "AMIName should only contain alphanumeric characters, parentheses (()), square brackets ([]), spaces ( ), periods (.), slashes (/), dashes (-), single quotes ('), at-signs (@), or underscores(_). You can use the `clean_resource_name` template filter to automatically clean your ami name.",
      );
    }
  }
  // ami_regions: deduplicated, build region dropped (1.6.6 logs it).
  const seen = new Set<string>();
  c.ami_regions = c.ami_regions.filter((r) => {
    if (seen.has(r) || r === buildRegion) return false;
    seen.add(r);
    return true;
  });
  const kmsRegions = Object.keys(c.region_kms_key_ids);
  if (kmsRegions.length > 0) {
    for (const r of kmsRegions) {
      if (!c.ami_regions.includes(r) && r !== buildRegion)
        errs.push(`Region ${r} is in region_kms_key_ids but not in ami_regions`); // parity:
    }
    for (const r of c.ami_regions) {
      if (!(r in c.region_kms_key_ids))
        errs.push(`Region ${r} is in ami_regions but not in region_kms_key_ids`); // parity:
    }
  }
  if (c.ami_users.length > 0) {
    if (c.encrypt_boot === true && c.kms_key_id === '')
      errs.push('Cannot share AMI encrypted with default KMS key'); // parity:
    if (kmsRegions.some((r) => c.region_kms_key_ids[r] === '')) {
      errs.push('Cannot share AMI encrypted with default KMS key for other regions'); // parity:
    }
  }
  if (c.snapshot_users.length > 0) {
    if (c.encrypt_boot === true && c.kms_key_id === '') {
      // parity:
      errs.push(
        'Cannot share snapshot encrypted with default KMS key, see https://www.packer.io/docs/builders/amazon-ebs#region_kms_key_ids for more information',
      );
    }
    if (kmsRegions.some((r) => c.region_kms_key_ids[r] === ''))
      errs.push('Cannot share snapshot encrypted with default KMS key'); // parity:
  }
  if (c.encrypt_boot !== true && (c.kms_key_id !== '' || kmsRegions.length > 0)) {
    errs.push('If you have set either region_kms_key_ids or kms_key_id, encrypt_boot must also be true.'); // parity:
  }
  for (const k of [c.kms_key_id, ...kmsRegions.map((r) => c.region_kms_key_ids[r])]) {
    if (k !== '' && !validKmsKey(k)) errs.push(`"${k}" is not a valid KMS Key Id.`); // parity:
  }
  return errs;
}

export function validateBlockDevices(list: BlockDevice[]): string[] {
  const errs: string[] = [];
  for (const b of list) {
    if (b.device_name === '') {
      errs.push('The `device_name` must be specified for every device in the block device mapping.'); // parity:
      continue;
    }
    if (b.kms_key_id !== '' && b.encrypted === false) {
      errs.push(`The device ${b.device_name}, must also have \`encrypted: true\` when setting a kms_key_id.`); // parity:
    }
    const ratio: Record<string, number> = { io1: 50, io2: 500 };
    if (b.volume_type in ratio && b.volume_size !== 0) {
      const r = ratio[b.volume_type];
      if (b.iops / b.volume_size > r) {
        errs.push(
          `${b.device_name}: the maximum ratio of provisioned IOPS to requested volume size (in GiB) is ${r}:1 for ${b.volume_type} volumes`, // parity:
        );
      }
      if (b.iops < 100 || b.iops > 64000)
        errs.push(`IOPS must be between 100 and 64000 for device ${b.device_name}`); // parity:
    }
    if (b.volume_type === 'gp3') {
      // Today's plugin (§F): both optional; when given they must be in range. AWS defaults 3000/125.
      if (b.throughput !== 0 && (b.throughput < 125 || b.throughput > 1000)) {
        errs.push(`Throughput must be between 125 and 1000 for device ${b.device_name}`); // parity:
      }
      if (b.iops !== 0 && (b.iops < 3000 || b.iops > 16000)) {
        errs.push(`IOPS must be between 3000 and 16000 for device ${b.device_name}`); // parity:
      }
    } else if (b.throughput > 0) {
      errs.push(`Throughput is not available for device ${b.device_name}`); // parity:
    }
  }
  return errs;
}

const SSH_INTERFACES = ['public_ip', 'private_ip', 'public_dns', 'private_dns', 'session_manager'];

export function validateRun(c: RunConfig, comm: CommFields): string[] {
  const errs: string[] = [];
  if (c.source_ami === '' && Object.keys(c.source_ami_filter.filters).length === 0) {
    errs.push('A source_ami or source_ami_filter must be specified'); // parity:
  }
  if (
    c.source_ami === '' &&
    Object.keys(c.source_ami_filter.filters).length > 0 &&
    c.source_ami_filter.owners.length === 0
  ) {
    errs.push('For security reasons, your source AMI filter must declare an owner.'); // parity:
  }
  if (c.instance_type === '' && c.spot_instance_types.length === 0) {
    errs.push('either instance_type or spot_instance_types must be specified'); // parity:
  }
  if (c.instance_type !== '' && c.spot_instance_types.length > 0) {
    errs.push('either instance_type or spot_instance_types must be specified, not both'); // parity:
  }
  if (c.spot_price === '' || c.spot_price === '0') {
    if (c.spot_tags_set || Object.keys(c.spot_tags).length > 0)
      errs.push('spot_tags should not be set when not requesting a spot instance'); // parity:
  }
  if (c.block_duration_minutes % 60 !== 0) errs.push('block_duration_minutes must be multiple of 60'); // parity:
  if (c.user_data !== '' && c.user_data_file !== '')
    errs.push('Only one of user_data or user_data_file can be specified.'); // parity:
  if (c.user_data_file !== '' && !existsSync(c.user_data_file))
    errs.push(`user_data_file not found: ${c.user_data_file}`); // parity:
  if (c.shutdown_behavior === '') c.shutdown_behavior = 'stop';
  else if (c.shutdown_behavior !== 'stop' && c.shutdown_behavior !== 'terminate') {
    errs.push("shutdown_behavior only accepts 'stop' or 'terminate' values."); // parity:
  }
  if (c.enable_t2_unlimited) {
    // 1.6.6 tests `spot_price != ""` here (so "0" counts) and spells "conjuction".
    if (c.spot_price !== '')
      errs.push('Error: T2 Unlimited cannot be used in conjuction with Spot Instances'); // parity:
    const first = c.instance_type.split('.')[0];
    if (!c.instance_type.includes('.')) {
      errs.push(`Error determining main Instance Type from: ${c.instance_type}`); // parity:
    } else if (first !== 't2') {
      errs.push(`Error: T2 Unlimited enabled with a non-T2 Instance Type: ${c.instance_type}`); // parity:
    }
  }
  if (c.tenancy !== '' && !['default', 'dedicated', 'host'].includes(c.tenancy))
    errs.push(`Error: Unknown tenancy type ${c.tenancy}`); // parity:
  if (c.ssh_interface !== '' && !SSH_INTERFACES.includes(c.ssh_interface))
    errs.push(`Unknown interface type: ${c.ssh_interface}`); // parity:
  if (c.ssh_interface === 'session_manager') {
    if (comm.communicator === 'winrm') {
      errs.push(
        'session_manager connectivity is not supported with the "winrm" communicator; please use "ssh"',
      ); // parity:
    }
    if (c.iam_instance_profile === '' && !c.temporary_iam_instance_profile_policy_document) {
      // parity:
      errs.push(
        'no iam_instance_profile defined; session_manager connectivity requires a valid instance profile with AmazonSSMManagedInstanceCore permissions. Alternatively a temporary_iam_instance_profile_policy_document can be used.',
      );
    }
  }
  if (comm.ssh_keypair_name !== '' && comm.ssh_private_key_file === '') {
    if (comm.communicator === 'winrm') {
      errs.push(
        'ssh_private_key_file must be provided to retrieve the winrm password when using ssh_keypair_name.',
      ); // parity:
    } else if (!comm.ssh_agent_auth) {
      errs.push(
        'ssh_private_key_file must be provided or ssh_agent_auth enabled when ssh_keypair_name is specified.',
      ); // parity:
    }
  }
  for (const cidr of c.temporary_security_group_source_cidrs) {
    const why = cidrProblem(cidr);
    if (why) errs.push(`Error parsing CIDR in temporary_security_group_source_cidrs: ${why}`); // parity:
  }
  if (!['', 'rsa', 'ed25519'].includes(c.temporary_key_pair_type)) {
    errs.push(
      `Cannot use temporary_key_pair_type "${c.temporary_key_pair_type}": it must be "rsa" or "ed25519"`,
    );
  }
  const mo = c.metadata_options;
  if (mo) {
    const oneOf = (key: keyof MetadataOptions, allowed: string[]) => {
      const v = String(mo[key]);
      if (v !== '' && !allowed.includes(v)) {
        errs.push(`Cannot use metadata_options.${key} "${v}": it must be "${allowed.join('" or "')}"`);
      }
    };
    oneOf('http_endpoint', ['enabled', 'disabled']);
    oneOf('http_tokens', ['optional', 'required']);
    oneOf('instance_metadata_tags', ['enabled', 'disabled']);
    const hop = mo.http_put_response_hop_limit;
    if (hop !== 0 && (hop < 1 || hop > 64)) {
      errs.push(
        `Cannot use metadata_options.http_put_response_hop_limit ${hop}: it must be between 1 and 64`,
      );
    }
  }
  return errs;
}

/** Go's net.ParseCIDR error text (`invalid CIDR address: <s>`), or '' when the CIDR parses. */
export function cidrProblem(s: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (m) {
    const [, ip, bits] = m;
    const n = Number(bits);
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
    if (v4 && v4.slice(1).every((o) => Number(o) <= 255 && String(Number(o)) === o) && n <= 32) return '';
    if (ip.includes(':') && /^[0-9a-fA-F:.]+$/.test(ip) && n <= 128) return '';
  }
  return `invalid CIDR address: ${s}`;
}
