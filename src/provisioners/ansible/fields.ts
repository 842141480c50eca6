/** The ansible provisioner's options (spec §D.1), as a field table for decodeConfig. */
import { f, type Decoded } from '../../config/fields.js';

export const ansibleFields = {
  playbookFile: f.string('playbook_file', 'The playbook to run (required); passed as an absolute path.'),
  command: f.string('command', 'The ansible-playbook executable (no shell).', { default: 'ansible-playbook' }),
  extraArguments: f.strings('extra_arguments', 'Arguments appended verbatim, each its own argument.'),
  ansibleEnvVars: f.strings('ansible_env_vars', 'KEY=VALUE pairs added to ansible\'s environment.'),
  ansibleSshExtraArgs: f.strings('ansible_ssh_extra_args', 'ssh arguments, each its own argument (default -o IdentitiesOnly=yes).'),
  groups: f.strings('groups', 'Inventory groups the host belongs to.'),
  emptyGroups: f.strings('empty_groups', 'Inventory groups written with no host.'),
  hostAlias: f.string('host_alias', 'The host name in the inventory.', { default: 'default' }),
  user: f.string('user', 'ansible_user and the user the proxy accepts (default: the communicator user).'),
  localPort: f.int('local_port', 'Port of the proxy (default: any free port).'),
  sshHostKeyFile: f.string('ssh_host_key_file', 'Host key of the proxy (default: a one-time key).'),
  sshAuthorizedKeyFile: f.string('ssh_authorized_key_file', 'Public key the proxy accepts (default: a one-time key).'),
  sftpCommand: f.string('sftp_command', 'Remote sftp-server command for the sftp subsystem (default: kiln serves SFTP itself).'),
  useSftp: f.bool('use_sftp', 'Let ansible transfer files with sftp (otherwise ANSIBLE_SCP_IF_SSH=True).'),
  skipVersionCheck: f.bool('skip_version_check', 'Do not run `<command> --version`.'),
  inventoryDirectory: f.string('inventory_directory', 'Directory the generated inventory is written to.'),
  inventoryFile: f.string('inventory_file', 'An inventory to use as is.'),
  inventoryFileTemplate: f.string('inventory_file_template', 'Template of the generated inventory line.'),
  keepInventoryFile: f.bool('keep_inventory_file', 'Keep the generated inventory file.'),
  galaxyFile: f.string('galaxy_file', 'A requirements file for ansible-galaxy.'),
  galaxyCommand: f.string('galaxy_command', 'The ansible-galaxy executable.', { default: 'ansible-galaxy' }),
  galaxyForceInstall: f.bool('galaxy_force_install', 'Pass -f to ansible-galaxy.'),
  rolesPath: f.string('roles_path', 'Where galaxy installs roles (-p).'),
  collectionsPath: f.string('collections_path', 'Where galaxy installs collections (-p).'),
  useProxy: f.tristate('use_proxy', 'false: ansible connects to the machine directly.'),
  goldenImageChecks: f.tristate('golden_image_checks', 'kiln only. false: do not warn about playbook tasks that start services.'),
  ansibleProxyKeyType: f.string('ansible_proxy_key_type', 'Key type of the proxy keys: ed25519 (default), ecdsa or rsa.'),
};

export type AnsibleFields = Decoded<typeof ansibleFields>;
