/**
 * The builder fixers of `packer fix` (Packer 1.6.6 fix/fixer_*.go), each a function that edits the
 * template map in place and returns it. Behaviour was derived from the spec and checked against
 * the real `packer fix` with probe templates (type checks, overwrite-or-keep of existing keys).
 */
import { parseGoBool } from '../config/weak.js';
import { eachBuilder, FixError, isBool, isMap, isString, renameKey, type JsonMap } from './template-parts.js';

const isAmazon = (t: string | undefined): boolean => t?.startsWith('amazon-') ?? false;

/** iso-md5: `iso_md5` (string) becomes `iso_checksum` + `iso_checksum_type: md5`. */
export function fixIsoMd5(input: JsonMap): JsonMap {
  return eachBuilder(input, (b) => {
    if (!isString(b.iso_md5)) return;
    b.iso_checksum = b.iso_md5;
    b.iso_checksum_type = 'md5';
    delete b.iso_md5;
  });
}

/** createtime: `{{.CreateTime}}` in `ami_name` becomes `{{timestamp}}`. */
export function fixCreateTime(input: JsonMap): JsonMap {
  return eachBuilder(input, (b) => {
    if (isString(b.ami_name)) b.ami_name = b.ami_name.replace(/\{\{\s*\.CreateTime\s*\}\}/g, '{{timestamp}}');
  });
}

/** virtualbox-gaattach: boolean `guest_additions_attach` becomes `guest_additions_mode` attach|upload. */
export function fixVirtualBoxGAAttach(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type !== 'virtualbox' || !isBool(b.guest_additions_attach)) return;
    b.guest_additions_mode = b.guest_additions_attach ? 'attach' : 'upload';
    delete b.guest_additions_attach;
  });
}

/** vmware-rename: builder type `vmware` becomes `vmware-iso`. */
export function fixVMwareRename(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type === 'vmware') b.type = 'vmware-iso';
  });
}

const isParallels = (t: string | undefined): boolean => t === 'parallels-iso' || t === 'parallels-pvm';

/** parallels-headless: drops `headless` from Parallels builders. */
export function fixParallelsHeadless(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (isParallels(type)) delete b.headless;
  });
}

/** parallels-deprecations: drops `parallels_tools_host_path`, `guest_os_distribution` → `guest_os_type`. */
export function fixParallelsDeprecations(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (!isParallels(type)) return;
    delete b.parallels_tools_host_path;
    renameKey(b, 'guest_os_distribution', 'guest_os_type', { overwrite: true });
  });
}

/** sshkeypath: `ssh_key_path` → `ssh_private_key_file` (an existing one wins). */
export function fixSSHKeyPath(input: JsonMap): JsonMap {
  return eachBuilder(input, (b) => renameKey(b, 'ssh_key_path', 'ssh_private_key_file', { accept: isString }));
}

/** sshdisableagent: `ssh_disable_agent` → `ssh_disable_agent_forwarding` (an existing one wins). */
export function fixSSHDisableAgent(input: JsonMap): JsonMap {
  return eachBuilder(input, (b) => renameKey(b, 'ssh_disable_agent', 'ssh_disable_agent_forwarding', { accept: isBool }));
}

/** scaleway-access-key: `access_key` → `organization_id` in scaleway builders. */
export function fixScalewayAccessKey(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type === 'scaleway') renameKey(b, 'access_key', 'organization_id', { accept: isString });
  });
}

/** amazon-shutdown_behavior: `shutdown_behaviour` → `shutdown_behavior`. */
export function fixAmazonShutdownBehavior(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (isAmazon(type)) renameKey(b, 'shutdown_behaviour', 'shutdown_behavior', { overwrite: true });
  });
}

/** amazon-enhanced-networking: boolean `enhanced_networking` → `ena_support`. */
export function fixAmazonEnhancedNetworking(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (isAmazon(type)) renameKey(b, 'enhanced_networking', 'ena_support', { overwrite: true, accept: isBool });
  });
}

/** amazon-private-ip: `ssh_private_ip` → `ssh_interface: private_ip|public_ip` unless ssh_interface is set. */
export function fixAmazonPrivateIP(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (!isAmazon(type) || Object.hasOwn(b, 'ssh_interface') || !Object.hasOwn(b, 'ssh_private_ip')) return;
    const raw = b.ssh_private_ip;
    let privateIp: boolean;
    if (isBool(raw)) privateIp = raw;
    else if (isString(raw)) {
      try {
        privateIp = parseGoBool(raw);
      } catch (err) {
        throw new FixError(`ssh_private_ip is not a boolean, ${(err as Error).message}`); // parity:
      }
    } else {
      // Packer panics here; kiln reports it.
      throw new FixError(`ssh_private_ip is not a boolean: ${JSON.stringify(raw)}`);
    }
    b.ssh_interface = privateIp ? 'private_ip' : 'public_ip';
    delete b.ssh_private_ip;
  });
}

/** amazon-temp-sec-cidrs: string `temporary_security_group_source_cidr` → list `…_cidrs`. */
export function fixAmazonTempSecCidrs(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (!isAmazon(type) || !isString(b.temporary_security_group_source_cidr)) return;
    b.temporary_security_group_source_cidrs = [b.temporary_security_group_source_cidr];
    delete b.temporary_security_group_source_cidr;
  });
}

/** docker-email (builders part): drops `login_email` from every builder. */
export function fixDockerEmailBuilders(input: JsonMap): JsonMap {
  return eachBuilder(input, (b) => {
    delete b.login_email;
  });
}

/** vmware-compaction: esx5 vmware-iso builders get disk_type_id zeroedthick and skip_compaction true. */
export function fixVMwareCompaction(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type !== 'vmware-iso' || b.remote_type !== 'esx5') return;
    if (!Object.hasOwn(b, 'disk_type_id')) b.disk_type_id = 'zeroedthick';
    else if (!isString(b.disk_type_id) || b.disk_type_id === 'thin') return;
    if (!Object.hasOwn(b, 'skip_compaction')) b.skip_compaction = true;
    else if (b.skip_compaction === false) b.skip_compaction = true;
  });
}

/** hyperv-deprecations: drops `vhd_temp_path` from hyperv-iso builders. */
export function fixHypervDeprecations(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type === 'hyperv-iso') delete b.vhd_temp_path;
  });
}

/** hyperv-vmxc-typo: `clone_from_vmxc_path` → `clone_from_vmcx_path` in hyperv-vmcx builders. */
export function fixHypervVmxcTypo(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type === 'hyperv-vmcx') renameKey(b, 'clone_from_vmxc_path', 'clone_from_vmcx_path', { overwrite: true });
  });
}

/** hyperv-cpu-and-ram: `cpu` → `cpus`, `ram_size` → `memory` in Hyper-V builders. */
export function fixHypervCPUandRAM(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type !== 'hyperv-iso' && type !== 'hyperv-vmcx') return;
    renameKey(b, 'cpu', 'cpus', { overwrite: true });
    renameKey(b, 'ram_size', 'memory', { overwrite: true });
  });
}

/** clean-image-name: clean_image_name / clean_ami_name → clean_resource_name in builder strings (two levels deep). */
export function fixCleanImageName(input: JsonMap): JsonMap {
  const clean = (s: string): string => s.replace(/clean_(image|ami)_name/g, 'clean_resource_name');
  return eachBuilder(input, (b) => {
    for (const [k, v] of Object.entries(b)) {
      if (isString(v)) b[k] = clean(v);
      else if (isMap(v)) for (const [k2, v2] of Object.entries(v)) if (isString(v2)) v[k2] = clean(v2);
    }
  });
}

const SPOT_AUTO_PRODUCT_TYPES = new Set(['amazon-ebs', 'amazon-ebssurrogate', 'amazon-ebsvolume', 'amazon-instance']);

/** spot-price-auto-product: drops `spot_price_auto_product` from the spot-capable amazon builders. */
export function fixSpotPriceAutoProduct(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type !== undefined && SPOT_AUTO_PRODUCT_TYPES.has(type)) delete b.spot_price_auto_product;
  });
}

/** qemu-disk-size: numeric `disk_size` becomes the string `<n>M` in qemu builders. */
export function fixQemuDiskSize(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type === 'qemu' && typeof b.disk_size === 'number') b.disk_size = `${Math.trunc(b.disk_size)}M`;
  });
}

/** comm-config: VirtualBox `ssh_host_port_min/max`, `ssh_skip_nat_mapping` lose the `ssh_` prefix. */
export function fixCommConfig(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (!type?.startsWith('virtualbox')) return;
    for (const key of ['host_port_min', 'host_port_max', 'skip_nat_mapping']) renameKey(b, `ssh_${key}`, key);
  });
}

/** ssh-wait-timeout: string `ssh_wait_timeout` → `ssh_timeout` (an existing one wins). */
export function fixSSHWaitTimeout(input: JsonMap): JsonMap {
  return eachBuilder(input, (b) => renameKey(b, 'ssh_wait_timeout', 'ssh_timeout', { accept: isString }));
}

/** Moves the listed keys of `b` into a new first element of the list `b[listKey]`. */
function prependGroup(b: JsonMap, keys: string[], listKey: string): void {
  const group: JsonMap = {};
  for (const k of keys) {
    if (!Object.hasOwn(b, k)) continue;
    group[k] = b[k];
    delete b[k];
  }
  if (Object.keys(group).length === 0) return;
  const existing = Array.isArray(b[listKey]) ? (b[listKey] as unknown[]) : [];
  b[listKey] = [group, ...existing];
}

/** vsphere-iso-net-disk: `network`/`network_card` → `network_adapters[0]`, disk fields → `storage[0]`. */
export function fixVSphereNetworkDisk(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type !== 'vsphere-iso') return;
    prependGroup(b, ['network', 'network_card'], 'network_adapters');
    prependGroup(b, ['disk_size', 'disk_thin_provisioned', 'disk_eagerly_scrub'], 'storage');
  });
}

/** iso-checksum-type-and-url: `iso_checksum_url` → `iso_checksum: file:<url>`; type + checksum → `<type>:<checksum>`. */
export function fixISOChecksumTypeAndURL(input: JsonMap): JsonMap {
  return eachBuilder(input, (b) => {
    if (Object.hasOwn(b, 'iso_checksum_url')) {
      const url = b.iso_checksum_url;
      delete b.iso_checksum_url;
      if (isString(url)) {
        b.iso_checksum = `file:${url}`;
        delete b.iso_checksum_type;
        return;
      }
    }
    if (!Object.hasOwn(b, 'iso_checksum_type')) return;
    const type = b.iso_checksum_type;
    delete b.iso_checksum_type;
    if (isString(type) && isString(b.iso_checksum)) b.iso_checksum = `${type}:${b.iso_checksum}`;
  });
}

/** qemu-host-port: qemu `ssh_host_port_min/max` → `host_port_min/max`. */
export function fixQEMUHostPort(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type !== 'qemu') return;
    renameKey(b, 'ssh_host_port_min', 'host_port_min', { overwrite: true });
    renameKey(b, 'ssh_host_port_max', 'host_port_max', { overwrite: true });
  });
}

/** azure-exclude_from_latest: azure-chroot `shared_image_destination.exlude_from_latest` typo fixed. */
export function fixAzureExcludeFromLatest(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (!type?.startsWith('azure-chroot') || !isMap(b.shared_image_destination)) return;
    renameKey(b.shared_image_destination, 'exlude_from_latest', 'exclude_from_latest', { overwrite: true });
  });
}

/** proxmox-type: builder type `proxmox` becomes `proxmox-iso`. */
export function fixProxmoxType(input: JsonMap): JsonMap {
  return eachBuilder(input, (b, type) => {
    if (type === 'proxmox') b.type = 'proxmox-iso';
  });
}
