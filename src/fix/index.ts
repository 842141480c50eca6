/**
 * `packer fix`: the 34 fixers of Packer 1.6.6 in Packer's order (fix/fixer.go), each with the
 * synopsis `packer fix -h` prints. The `kiln fix` command reads the file, calls `fixTemplate`, and
 * prints `formatFixedJson(result)` followed by a blank line; a FixError prints as `Error fixing: …`.
 */
import * as b from './fixers-builders.js';
import * as o from './fixers-other.js';
import { FixError, isMap, type JsonMap } from './template-parts.js';

export { formatFixedJson } from './format-json.js';
export { FixError } from './template-parts.js';

/** One fixer: its name and `packer fix -h` synopsis (parity text), and what it does. */
export interface Fixer {
  name: string;
  synopsis: string;
  fix(input: JsonMap): JsonMap;
}

/** Packer's fixers in the order they run; names and synopses as `packer fix -h` prints them. */
// parity: names and synopses
export const FIXERS: readonly Fixer[] = [
  { name: 'iso-md5', synopsis: 'Replaces "iso_md5" in builders with "iso_checksum"', fix: b.fixIsoMd5 },
  { name: 'createtime', synopsis: 'Replaces ".CreateTime" in builder configs with "{{timestamp}}"', fix: b.fixCreateTime },
  { name: 'virtualbox-gaattach', synopsis: 'Updates VirtualBox builders using "guest_additions_attach" to use "guest_additions_mode"', fix: b.fixVirtualBoxGAAttach },
  { name: 'pp-vagrant-override', synopsis: 'Fixes provider-specific overrides for Vagrant post-processor', fix: o.fixVagrantPPOverride },
  { name: 'virtualbox-rename', synopsis: 'Updates "virtualbox" builders to "virtualbox-iso"', fix: o.fixVirtualBoxRename },
  { name: 'vmware-rename', synopsis: 'Updates "vmware" builders to "vmware-iso"', fix: b.fixVMwareRename },
  { name: 'parallels-headless', synopsis: 'Removes unused "headless" from Parallels builders', fix: b.fixParallelsHeadless },
  {
    name: 'parallels-deprecations',
    synopsis: 'Removes deprecated "parallels_tools_host_path" from Parallels builders and changes "guest_os_distribution" to "guest_os_type".',
    fix: b.fixParallelsDeprecations,
  },
  { name: 'sshkeypath', synopsis: 'Updates builders using "ssh_key_path" to use "ssh_private_key_file"', fix: b.fixSSHKeyPath },
  { name: 'sshdisableagent', synopsis: 'Updates builders using "ssh_disable_agent" to use "ssh_disable_agent_forwarding"', fix: b.fixSSHDisableAgent },
  { name: 'scaleway-access-key', synopsis: 'Updates builders using "access_key" to use "organization_id"', fix: b.fixScalewayAccessKey },
  { name: 'manifest-filename', synopsis: 'Updates "manifest" post-processor so any "filename" field is renamed to "output".', fix: o.fixManifestFilename },
  { name: 'amazon-shutdown_behavior', synopsis: 'Changes "shutdown_behaviour" to "shutdown_behavior" in Amazon builders.', fix: b.fixAmazonShutdownBehavior },
  { name: 'amazon-enhanced-networking', synopsis: 'Replaces "enhanced_networking" in builders with "ena_support"', fix: b.fixAmazonEnhancedNetworking },
  { name: 'amazon-private-ip', synopsis: 'Replaces `"ssh_private_ip": true` in amazon builders with `"ssh_interface": "private_ip"`', fix: b.fixAmazonPrivateIP },
  {
    name: 'amazon-temp-sec-cidrs',
    synopsis: 'Replaces "temporary_security_group_source_cidr" (string) with "temporary_security_group_source_cidrs" (list of strings)',
    fix: b.fixAmazonTempSecCidrs,
  },
  { name: 'docker-email', synopsis: 'Removes "login_email" from the Docker builder.', fix: o.fixDockerEmail },
  { name: 'docker-tag-tags', synopsis: 'Updates "docker" post-processor so any "tag" field is renamed to "tags".', fix: o.fixDockerTagToTags },
  { name: 'powershell-escapes', synopsis: 'Removes PowerShell escapes from user env vars and elevated username and password strings', fix: o.fixPowerShellEscapes },
  { name: 'vmware-compaction', synopsis: 'Adds "skip_compaction = true" to "vmware-iso" builders with incompatible disk_type_id', fix: b.fixVMwareCompaction },
  { name: 'hyperv-deprecations', synopsis: 'Removes the deprecated "vhd_temp_path" setting from Hyper-V ISO builder templates', fix: b.fixHypervDeprecations },
  {
    name: 'hyperv-vmxc-typo',
    synopsis: 'Fixes a typo replacing "clone_from_vmxc_path" with "clone_from_vmcx_path" in Hyper-V VMCX builder templates',
    fix: b.fixHypervVmxcTypo,
  },
  { name: 'hyperv-cpu-and-ram', synopsis: 'Replaces "cpu" with "cpus" and "ram_size" with "memory"in Hyper-V VMCX builder templates', fix: b.fixHypervCPUandRAM },
  { name: 'clean-image-name', synopsis: 'Replaces /clean_(image|ami)_name/ in builder configs with "clean_resource_name"', fix: b.fixCleanImageName },
  { name: 'spot-price-auto-product', synopsis: 'Removes the deprecated "spot_price_auto_product" setting from Amazon builder templates', fix: b.fixSpotPriceAutoProduct },
  { name: 'qemu-disk-size', synopsis: 'Updates "disk_size" from int to string in QEMU builders.', fix: b.fixQemuDiskSize },
  { name: 'galaxy-command', synopsis: 'Replaces "galaxycommand" in ansible-local provisioner configs with "galaxy_command"', fix: o.fixGalaxyCommand },
  {
    name: 'comm-config',
    synopsis: 'Remove ssh prefixes from communicator port forwarding configuration (host_port_min, host_port_max, skip_nat_mapping)',
    fix: b.fixCommConfig,
  },
  { name: 'ssh-wait-timeout', synopsis: 'Replaces "ssh_wait_timeout" with "ssh_timeout"', fix: b.fixSSHWaitTimeout },
  { name: 'vsphere-iso-net-disk', synopsis: 'Removes deprecated network and disk fields from "vsphere-iso" builder', fix: b.fixVSphereNetworkDisk },
  {
    name: 'iso-checksum-type-and-url',
    synopsis: 'Puts content of potential "iso_checksum_url" and "iso_checksum_url" in "iso_checksum"',
    fix: b.fixISOChecksumTypeAndURL,
  },
  { name: 'qemu-host-port', synopsis: 'Updates ssh_host_port_min and ssh_host_port_max to host_port_min and host_port_max', fix: b.fixQEMUHostPort },
  { name: 'azure-exclude_from_latest', synopsis: 'Changes "exlude_from_latest" to "exclude_from_latest" in Azure builders.', fix: b.fixAzureExcludeFromLatest },
  { name: 'proxmox-type', synopsis: 'Updates the builder type proxmox to proxmox-iso', fix: b.fixProxmoxType },
];

/**
 * Runs every fixer in Packer's order on a deep copy of `input` (the template file's parsed JSON)
 * and returns the fixed template. Throws FixError whose message is the whole line to print:
 * `Error fixing: …` when a section has a shape the fixers cannot decode, `Error parsing
 * template: json: cannot unmarshal …` when the JSON is not an object.
 */
export function fixTemplate(input: unknown): unknown {
  if (input === null) {
    // Packer panics ("assignment to entry in nil map"); kiln says what is wrong.
    throw new FixError('Cannot fix the template: its JSON is null, not an object', '');
  }
  if (!isMap(input)) {
    const kind = Array.isArray(input) ? 'array' : typeof input === 'string' ? 'string' : typeof input === 'number' ? 'number' : 'bool';
    // parity: Go's json.Unmarshal into map[string]interface{}
    throw new FixError(`json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`, 'Error parsing template: ');
  }
  let tpl = structuredClone(input);
  for (const fixer of FIXERS) tpl = fixer.fix(tpl);
  return tpl;
}
