/**
 * amazon-ebs configuration (spec §A): decoding with the shared amazon field tables and the
 * communicator's, then every validation of Packer 1.6.6 (today's plugin where §F says so).
 * Pure: no AWS SDK, no network.
 */
import { decodeConfig, type DecodedConfig, type TemplateEngine } from '../../config/decode.js';
import type { PackerConfig, RawConfig } from '../../core/types.js';
import { ConfigError } from '../../util/errors.js';
import { cleanResourceName } from '../amazon/common/clean-name.js';
import {
  validateAccess,
  validateAmi,
  validateBlockDevices,
  validateRun,
  type CommFields,
  type PolicyDocument,
} from '../amazon/common/config.js';
import { accessFields, amiFields, ebsFields, runFields } from '../amazon/common/fields.js';
import { commFields, type CommDecoded } from '../amazon/common/comm.js';
import { validateCommunicator } from '../../communicator/config.js';
import { Problems } from '../../config/problems.js';
import type { AmazonConfig } from '../amazon/common/state.js';
import { timeOrderedUuid } from '../amazon/common/uuid.js';

export const ebsTable = { ...commFields, ...accessFields, ...amiFields, ...runFields, ...ebsFields };
export type EbsDecoded = DecodedConfig<typeof ebsTable>;

/** Keys rendered at run time with build-info data (§A.0), not at prepare. */
const RUN_TIME_KEYS = [
  'ami_description',
  'run_tags',
  'run_tag',
  'run_volume_tags',
  'run_volume_tag',
  'spot_tags',
  'spot_tag',
  'snapshot_tags',
  'snapshot_tag',
  'tags',
  'tag',
];

/** Deprecated for `*amazon*` (§A.0). */
const DEPRECATED = [
  'shutdown_behaviour',
  'enhanced_networking',
  'ssh_private_ip',
  'temporary_security_group_source_cidr',
  'clean_ami_name',
];

export const extraFuncs = { clean_resource_name: (s: unknown) => cleanResourceName(String(s)) };

export interface EbsPrepared {
  config: AmazonConfig;
  decoded: EbsDecoded;
  comm: CommDecoded;
  warnings: string[];
  /** The template engine (tests may pass one; default: src/interpolate). */
  engine?: TemplateEngine;
}

/** Merges Packer's singular `tag {key,value}` / `run_tag {name,value}` blocks into the map (HCL style). */
function mergeBlocks(raws: RawConfig[]): RawConfig[] {
  return raws.map((raw) => {
    const out: RawConfig = { ...raw };
    const pairs: [string, string][] = [
      ['tag', 'tags'],
      ['run_tag', 'run_tags'],
      ['run_volume_tag', 'run_volume_tags'],
      ['spot_tag', 'spot_tags'],
      ['snapshot_tag', 'snapshot_tags'],
    ];
    for (const [single, map] of pairs) {
      const v = out[single];
      if (!Array.isArray(v)) continue;
      const merged: Record<string, unknown> = {
        ...((out[map] as Record<string, unknown> | undefined) ?? {}),
      };
      for (const b of v as Record<string, unknown>[]) {
        const k = (b.key ?? b.name ?? b.Key ?? b.Name) as string | undefined;
        if (k !== undefined) merged[k] = b.value ?? b.Value ?? '';
      }
      out[map] = merged;
      delete out[single];
    }
    return out;
  });
}

export function prepareEbs(raws: RawConfig[], pc: PackerConfig, engine?: TemplateEngine): EbsPrepared {
  const d = decodeConfig(ebsTable, mergeBlocks(raws), {
    pc,
    extraFuncs,
    exclude: RUN_TIME_KEYS,
    deprecated: DEPRECATED,
    ...(engine ? { engine } : {}),
  });
  const warnings: string[] = [];
  const problems: string[] = [];
  if (pc.force) d.force_deregister = true;

  const comm = d as unknown as CommDecoded;
  // Temporary key pair name (§A.4): only when no other SSH credential is given.
  const c = comm;
  // The communicator's own prepare first: defaults (winrm port, ssh_wait_timeout) and its problems.
  const commProblems = new Problems();
  validateCommunicator(c, commProblems);
  let tempName = c.sshTemporaryKeyPairName;
  if (
    tempName === '' &&
    c.sshKeyPairName === '' &&
    c.sshPrivateKeyFile === '' &&
    c.sshPassword === '' &&
    !c.sshAgentAuth
  ) {
    tempName = `packer_${timeOrderedUuid()}`;
  }

  if (d.security_group_id !== '' && d.security_group_ids.length > 0) {
    problems.push('Only one of security_group_id or security_group_ids can be specified.'); // parity:
  }
  const sgIds = d.security_group_id !== '' ? [d.security_group_id] : d.security_group_ids;
  if (d.spot_price_auto_product !== '') {
    warnings.push(
      'spot_price_auto_product is deprecated and no longer necessary for Packer builds. Packer now automatically selects the best spot price for you.',
    );
  }
  if ((d.ena_support === true || d.sriov_support) && d.spot_price !== '' && d.spot_price !== '0') {
    // parity:
    problems.push(
      'Spot instances do not support modification, which is required when either `ena_support` or `sriov_support` are set. Please ensure you use an AMI that already has either SR-IOV or ENA enabled.',
    );
  }
  let policy: PolicyDocument | undefined;
  const rawPolicy = d.temporary_iam_instance_profile_policy_document;
  if (rawPolicy !== undefined && rawPolicy !== null) policy = rawPolicy as PolicyDocument;

  const cfg: AmazonConfig = {
    access_key: d.access_key,
    secret_key: d.secret_key,
    token: d.token,
    region: d.region,
    profile: d.profile,
    shared_credentials_file: d.shared_credentials_file,
    custom_endpoint_ec2: d.custom_endpoint_ec2,
    insecure_skip_tls_verify: d.insecure_skip_tls_verify,
    max_retries: d.max_retries,
    mfa_code: d.mfa_code,
    skip_metadata_api_check: d.skip_metadata_api_check,
    skip_credential_validation: d.skip_credential_validation,
    decode_authorization_messages: d.decode_authorization_messages,
    assume_role: d.assume_role.role_arn !== '' ? d.assume_role : undefined,
    vault_aws_engine: d.vault_aws_engine.name !== '' ? d.vault_aws_engine : undefined,
    aws_polling: d.aws_polling.delay_seconds || d.aws_polling.max_attempts ? d.aws_polling : undefined,
    ami_name: d.ami_name,
    ami_description: d.ami_description,
    ami_virtualization_type: d.ami_virtualization_type,
    ami_users: d.ami_users,
    ami_groups: d.ami_groups,
    ami_product_codes: d.ami_product_codes,
    ami_regions: d.ami_regions,
    skip_region_validation: d.skip_region_validation,
    tags: d.tags,
    snapshot_tags: d.snapshot_tags,
    snapshot_users: d.snapshot_users,
    snapshot_groups: d.snapshot_groups,
    ena_support: d.ena_support,
    sriov_support: d.sriov_support,
    force_deregister: d.force_deregister,
    force_delete_snapshot: d.force_delete_snapshot,
    encrypt_boot: d.encrypt_boot,
    kms_key_id: d.kms_key_id,
    region_kms_key_ids: d.region_kms_key_ids,
    skip_save_build_region: d.skip_save_build_region,
    instance_type: d.instance_type,
    source_ami: d.source_ami,
    source_ami_filter: d.source_ami_filter,
    subnet_id: d.subnet_id,
    subnet_filter: d.subnet_filter,
    vpc_id: d.vpc_id,
    vpc_filter: d.vpc_filter,
    security_group_ids: sgIds,
    security_group_filter: d.security_group_filter,
    temporary_security_group_source_cidrs: d.temporary_security_group_source_cidrs,
    associate_public_ip_address: d.associate_public_ip_address,
    availability_zone: d.availability_zone,
    iam_instance_profile: d.iam_instance_profile,
    skip_profile_validation: d.skip_profile_validation,
    temporary_iam_instance_profile_policy_document: policy,
    run_tags: d.run_tags,
    run_volume_tags: d.run_volume_tags,
    spot_price: d.spot_price,
    spot_instance_types: d.spot_instance_types,
    spot_tags: d.spot_tags,
    spot_tags_set: raws.some((r) => r.spot_tags !== undefined && r.spot_tags !== null),
    block_duration_minutes: d.block_duration_minutes,
    user_data: d.user_data,
    user_data_file: d.user_data_file,
    shutdown_behavior: d.shutdown_behavior,
    ebs_optimized: d.ebs_optimized,
    enable_t2_unlimited: d.enable_t2_unlimited,
    tenancy: d.tenancy,
    disable_stop_instance: d.disable_stop_instance,
    ssh_interface: d.ssh_interface,
    pause_before_ssm_ms: d.pause_before_ssm,
    session_manager_port: d.session_manager_port,
    windows_password_timeout_ms: d.windows_password_timeout,
    metadata_options: Object.values(d.metadata_options).some((v) => v !== '' && v !== 0)
      ? d.metadata_options
      : undefined,
    temporary_key_pair_type: c.sshTemporaryKeyPairType,
    launch_block_device_mappings: d.launch_block_device_mappings,
    ami_block_device_mappings: d.ami_block_device_mappings,
    no_ephemeral: d.no_ephemeral,
    communicator: c.communicator === '' ? 'ssh' : c.communicator,
    ssh_host: c.sshHost,
    ssh_port: c.sshPort,
    ssh_username: c.sshUsername,
    ssh_password: c.sshPassword,
    ssh_private_key_file: c.sshPrivateKeyFile,
    ssh_keypair_name: c.sshKeyPairName,
    ssh_agent_auth: c.sshAgentAuth,
    ssh_clear_authorized_keys: c.sshClearAuthorizedKeys,
    temporary_key_pair_name: tempName,
    winrm_port: c.winrmPort,
    winrm_password: c.winrmPassword,
  } satisfies AmazonConfig & CommFields;

  problems.unshift(...commProblems.messages);
  problems.push(...validateAccess(cfg));
  problems.push(...validateAmi(cfg, cfg.region));
  problems.push(...validateBlockDevices(cfg.launch_block_device_mappings));
  problems.push(...validateBlockDevices(cfg.ami_block_device_mappings));
  problems.push(...validateRun(cfg, cfg));
  // Not runnable by kiln (docs/compatibility.md): refused here, before any AWS resource exists.
  if (cfg.communicator === 'winrm') {
    problems.push(
      'Cannot use communicator "winrm" with amazon-ebs: kiln has no WinRM communicator yet (see docs/compatibility.md)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: cfg, decoded: d, comm, warnings, engine };
}
