/**
 * What the SSH communicator needs to connect: the resolved form of the `ssh_*` options (spec §7.2),
 * with key files already read. Builders and the connect step fill it from the decoded
 * CommunicatorConfig; tests fill it directly.
 */

export interface SshBastionOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  /** Private keys (file contents, PEM or OpenSSH format). */
  privateKeys?: (string | Buffer)[];
  /** Authenticate with the agent at `agentSock` (default SSH_AUTH_SOCK). */
  agentAuth?: boolean;
  /** ssh_bastion_certificate_file: the private keys authenticate as this OpenSSH user certificate. */
  certificateFile?: string;
  /** ssh_bastion_interactive: answer keyboard-interactive questions from the user (stdin / tty). */
  interactive?: boolean;
  /** Where interactive answers are read from instead of stdin (tests). */
  interactiveInput?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface SshProxyOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export interface SshConnectOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  /** Private keys (file contents or builder/temporary keys), tried in order. */
  privateKeys?: (string | Buffer)[];
  /** ssh_certificate_file: every private key authenticates as this OpenSSH user certificate. */
  certificateFile?: string;
  /** Use the agent (ssh_agent_auth). */
  agentAuth?: boolean;
  /** The agent socket; default process.env.SSH_AUTH_SOCK. */
  agentSock?: string;
  /** ssh_disable_agent_forwarding. */
  disableAgentForwarding?: boolean;
  /** ssh_pty: request a PTY (xterm, 80×40) for every command. */
  pty?: boolean;
  /** ssh_keep_alive_interval in ms; ≤ 0 disables. Default 5000. */
  keepAliveIntervalMs?: number;
  /** ssh_read_write_timeout in ms; 0 disables. */
  readWriteTimeoutMs?: number;
  /** TCP dial timeout (Packer: 15 s). */
  dialTimeoutMs?: number;
  /** SSH handshake timeout (Packer: 1 minute). */
  handshakeTimeoutMs?: number;
  /** ssh_file_transfer_method. */
  fileTransferMethod?: 'scp' | 'sftp';
  ciphers?: string[];
  keyExchangeAlgorithms?: string[];
  bastion?: SshBastionOptions;
  proxy?: SshProxyOptions;
  /** ssh_local_tunnels / ssh_remote_tunnels, already parsed. */
  localTunnels?: SshTunnel[];
  remoteTunnels?: SshTunnel[];
}

/** A tunnel entry, parsed by `parseTunnelArgument` (../config.ts), the one parser with Packer's errors. */
export interface SshTunnel {
  port: number;
  host: string;
  hostPort: number;
}
