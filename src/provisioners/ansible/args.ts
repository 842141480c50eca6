/**
 * Pure pieces of the ansible run: the ansible-playbook argument list (spec §D.5), the
 * `--ssh-extra-args` value, the generated inventory (§D.6) and the galaxy command lines (§D.8).
 */

/** Go's `%q` for the strings kiln passes (build names): a double-quoted, escaped string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Quotes one word for Python's shlex.split. */
export function shlexQuote(s: string): string {
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/**
 * The single `--ssh-extra-args` value. ansible strips one pair of surrounding quotes from the value
 * and shlex-splits the rest, so `'<elements joined by spaces>'` gives ssh every element's words:
 * the default `'-o IdentitiesOnly=yes'` is Packer's exact text, a single element holding several
 * options keeps working, and several elements each contribute their own arguments (Packer 1.6.6
 * concatenated them with no separator, quirk H.17).
 */
export function sshExtraArgsValue(extra: string[]): string {
  const list = extra.length ? extra : ['-o IdentitiesOnly=yes'];
  return `'${list.join(' ')}'`;
}

/** True when an argument, split on `=`, contains `token` exactly (Packer's "present" test). */
function mentions(args: string[], token: string): boolean {
  return args.some((a) => a.split('=').includes(token));
}

export interface CommandArgsInput {
  buildName: string;
  builderType: string;
  /** `ip:port` of the builder's HTTP server, or undefined. */
  httpAddr?: string;
  connType: string;
  /** The private key file ansible logs in with ('' when none). */
  privateKeyFile: string;
  sshExtraArgs: string[];
  /** Pass --ssh-extra-args even without a key file (direct mode through a bastion with agent auth). */
  forceSshExtraArgs?: boolean;
  extraArguments: string[];
  /** Direct WinRM mode: the password to hand ansible. */
  winrmPassword?: string;
  envVars: string[];
  inventoryFile: string;
  playbookFile: string;
}

/** ansible-playbook's arguments in Packer's order (§D.5). */
export function commandArgs(i: CommandArgsInput): string[] {
  const args: string[] = [];
  if (i.buildName) args.push('-e', `packer_build_name=${goQuote(i.buildName)}`);
  args.push('-e', `packer_builder_type=${i.builderType}`);
  if (i.httpAddr) args.push('-e', `packer_http_addr=${i.httpAddr}`);
  if (i.connType === 'ssh' && (i.privateKeyFile || i.forceSshExtraArgs)) args.push('--ssh-extra-args', sshExtraArgsValue(i.sshExtraArgs));
  args.push(...i.extraArguments);
  if (i.winrmPassword !== undefined && !mentions(args, 'ansible_password')) {
    args.push('-e', `ansible_password=${i.winrmPassword}`);
  }
  const hasPassword = mentions(args, 'ansible_password');
  if (i.privateKeyFile && !hasPassword) args.push('-e', `ansible_ssh_private_key_file=${i.privateKeyFile}`);
  if (
    hasPassword &&
    i.connType === 'ssh' &&
    !mentions(args, 'ansible_host_key_checking') &&
    !i.envVars.some((e) => e.split('=').includes('ANSIBLE_HOST_KEY_CHECKING'))
  ) {
    args.push('-e', 'ansible_host_key_checking=False');
  }
  args.push('-i', i.inventoryFile, i.playbookFile);
  return args;
}

export interface InventoryInput {
  hostAlias: string;
  host: string;
  port: string;
  user: string;
  groups: string[];
  emptyGroups: string[];
  /** ansible major version (< 2 selects the ansible_ssh_* names). */
  ansibleMajor: number;
  winrm: boolean;
}

/** The default inventory line (§D.6). */
export function inventoryLine(i: InventoryInput): string {
  if (i.winrm) {
    return `${i.hostAlias} ansible_host=${i.host} ansible_connection=winrm ansible_winrm_transport=basic ansible_shell_type=powershell ansible_user=${i.user} ansible_port=${i.port}\n`;
  }
  if (i.ansibleMajor < 2) {
    return `${i.hostAlias} ansible_ssh_host=${i.host} ansible_ssh_user=${i.user} ansible_ssh_port=${i.port}\n`;
  }
  return `${i.hostAlias} ansible_host=${i.host} ansible_user=${i.user} ansible_port=${i.port}\n`;
}

/** The inventory file: the host line, then each group with the line, then each empty group. */
export function inventoryContent(line: string, groups: string[], emptyGroups: string[]): string {
  let out = line;
  for (const g of groups) out += `[${g}]\n${line}`;
  for (const g of emptyGroups) out += `[${g}]\n`;
  return out;
}

export interface GalaxyInput {
  file: string;
  /** The requirements file's text. */
  text: string;
  force: boolean;
  rolesPath: string;
  collectionsPath: string;
}

/** The galaxy invocations (§D.8): roles unless only `collections:` is present, then collections. */
export function galaxyArgs(i: GalaxyInput): string[][] {
  const hasRoles = /^roles:/m.test(i.text);
  const hasCollections = /^collections:/m.test(i.text);
  const runs: string[][] = [];
  if (hasRoles || !hasCollections) {
    const a = ['install', '-r', i.file];
    if (i.force) a.push('-f');
    if (i.rolesPath) a.push('-p', i.rolesPath);
    runs.push(a);
  }
  if (hasCollections) {
    const a = ['collection', 'install', '-r', i.file];
    if (i.force) a.push('-f');
    if (i.collectionsPath) a.push('-p', i.collectionsPath);
    runs.push(a);
  }
  return runs;
}

/** Parses `ansible-playbook --version` output (§D.2); undefined when no version is found. */
export function parseAnsibleVersion(output: string): { version: string; major: number } | undefined {
  const m = /\w (\d+\.\d+[.\d+]*)/.exec(output);
  if (!m) return undefined;
  return { version: m[1], major: Number.parseInt(m[1].split('.')[0], 10) };
}
