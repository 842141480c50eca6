/**
 * The communicator options embedded in the amazon builders' config, and what the builder derives
 * from them: the fields it reads itself (CommFields) and the connect step's SSH options.
 * (Interim table until src/communicator/config.ts provides the shared one.)
 */
import { readFileSync } from 'node:fs';
import { f, type Decoded } from '../../../config/fields.js';
import type { SshConnectOptions } from '../../../communicator/ssh/options.js';

export const commFields = {
  communicator: f.string('communicator', 'ssh, winrm or none.'),
  ssh_host: f.string('ssh_host', 'Host to connect to.'),
  ssh_port: f.int('ssh_port', 'Port.', { default: 22 }),
  ssh_username: f.string('ssh_username', 'User.'),
  ssh_password: f.string('ssh_password', 'Password.'),
  ssh_private_key_file: f.string('ssh_private_key_file', 'Private key file.'),
  ssh_keypair_name: f.string('ssh_keypair_name', 'Existing key pair.'),
  ssh_agent_auth: f.bool('ssh_agent_auth', 'Use the SSH agent.'),
  ssh_clear_authorized_keys: f.bool('ssh_clear_authorized_keys', 'Remove the temporary key before imaging.'),
  ssh_timeout: f.duration('ssh_timeout', 'How long to wait for SSH.', { default: 5 * 60_000 }),
  ssh_wait_timeout: f.duration('ssh_wait_timeout', 'Legacy ssh_timeout.'),
  ssh_handshake_attempts: f.int('ssh_handshake_attempts', 'Authentication attempts.', { default: 10 }),
  ssh_keep_alive_interval: f.duration('ssh_keep_alive_interval', 'Keep-alive interval.', { default: 5000 }),
  ssh_read_write_timeout: f.duration('ssh_read_write_timeout', 'Read/write timeout.'),
  ssh_pty: f.bool('ssh_pty', 'Request a PTY.'),
  ssh_file_transfer_method: f.string('ssh_file_transfer_method', 'scp or sftp.'),
  ssh_bastion_host: f.string('ssh_bastion_host', 'Bastion host.'),
  ssh_bastion_port: f.int('ssh_bastion_port', 'Bastion port.', { default: 22 }),
  ssh_bastion_username: f.string('ssh_bastion_username', 'Bastion user.'),
  ssh_bastion_password: f.string('ssh_bastion_password', 'Bastion password.'),
  ssh_bastion_private_key_file: f.string('ssh_bastion_private_key_file', 'Bastion key file.'),
  ssh_bastion_agent_auth: f.bool('ssh_bastion_agent_auth', 'Bastion agent auth.'),
  pause_before_connecting: f.duration('pause_before_connecting', 'Pause before connecting.'),
  temporary_key_pair_name: f.string('temporary_key_pair_name', 'Temporary key pair name.'),
  winrm_port: f.int('winrm_port', 'WinRM port.', { default: 5985 }),
  winrm_password: f.string('winrm_password', 'WinRM password.'),
  winrm_username: f.string('winrm_username', 'WinRM user.'),
};

export type CommDecoded = Decoded<typeof commFields>;

export function commProblems(c: CommDecoded): string[] {
  const errs: string[] = [];
  const type = c.communicator === '' ? 'ssh' : c.communicator;
  if (!['ssh', 'winrm', 'none'].includes(type)) errs.push(`communicator must be ssh, winrm or none, got ${type}`);
  if (type === 'ssh') {
    if (c.ssh_username === '') errs.push('An ssh_username must be specified\n  Note: some builders used to default ssh_username to "root".'); // parity:
    if (c.ssh_bastion_host !== '' && !c.ssh_bastion_agent_auth && c.ssh_bastion_password === '' && c.ssh_bastion_private_key_file === '') {
      errs.push('ssh_bastion_password or ssh_bastion_private_key_file must be specified'); // parity:
    }
  }
  if (type === 'winrm' && c.winrm_username === '') errs.push('winrm_username must be specified.'); // parity:
  return errs;
}

/** SSH options of the connect step (host/port/keys of the run are added by the builder). */
export function sshOptions(c: CommDecoded): SshConnectOptions {
  const keyFile = c.ssh_private_key_file;
  const bastionKey = c.ssh_bastion_private_key_file || keyFile;
  return {
    host: c.ssh_host,
    port: c.ssh_port,
    username: c.ssh_username,
    ...(c.ssh_password !== '' ? { password: c.ssh_password } : {}),
    agentAuth: c.ssh_agent_auth,
    pty: c.ssh_pty,
    keepAliveIntervalMs: c.ssh_keep_alive_interval,
    readWriteTimeoutMs: c.ssh_read_write_timeout,
    fileTransferMethod: c.ssh_file_transfer_method === 'sftp' ? 'sftp' : 'scp',
    ...(c.ssh_bastion_host !== ''
      ? {
          bastion: {
            host: c.ssh_bastion_host,
            port: c.ssh_bastion_port,
            username: c.ssh_bastion_username,
            ...(c.ssh_bastion_password !== '' ? { password: c.ssh_bastion_password } : {}),
            ...(bastionKey !== '' && !c.ssh_bastion_agent_auth ? { privateKeys: [readFileSync(bastionKey)] } : {}),
            agentAuth: c.ssh_bastion_agent_auth,
          },
        }
      : {}),
  };
}

/** ssh_timeout, overridden by the legacy ssh_wait_timeout. */
export function sshTimeoutMs(c: CommDecoded): number {
  return c.ssh_wait_timeout > 0 ? c.ssh_wait_timeout : c.ssh_timeout;
}
