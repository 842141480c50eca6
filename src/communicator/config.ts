/**
 * The communicator options every builder embeds (`communicator`, `ssh_*`, `winrm_*`,
 * `temporary_key_pair_*`, `pause_before_connecting`) and their prepare-time defaults and
 * validation, as Packer's packer-plugin-sdk/communicator/config.go (`Config.Prepare`) does them.
 * WinRM options are decoded and validated but kiln cannot connect over WinRM.
 */
import { readFileSync, statSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, normalize } from 'node:path';
import { f, type Decoded, type Problems } from '../config/decode.js';
import { goQuote } from '../template/go-quote.js';
import { checkCertificate } from './ssh/certificate.js';
import { parsePrivateKey, type KeyParser } from './ssh/keys.js';

/** Field table of the communicator options; spread it into a builder's table. */
export const communicatorFields = {
  communicator: f.string('communicator', 'ssh (default), winrm, none (or docker, dockerWindowsContainer).', {
    default: 'ssh',
  }),
  pauseBeforeConnecting: f.duration(
    'pause_before_connecting',
    'Wait this long after the first connection, then connect again.',
  ),

  sshHost: f.string('ssh_host', 'Address to SSH to (builder-specific default).'),
  sshPort: f.int('ssh_port', 'Port to SSH to.', { default: 22 }),
  sshUsername: f.string('ssh_username', 'User to connect as (required for ssh).'),
  sshPassword: f.string('ssh_password', 'Password for password and keyboard-interactive auth.'),
  sshKeyPairName: f.string('ssh_keypair_name', 'Existing cloud key pair name (builder-specific).'),
  sshTemporaryKeyPairName: f.string(
    'temporary_key_pair_name',
    'Name of the temporary key pair builders create.',
  ),
  sshTemporaryKeyPairType: f.string(
    'temporary_key_pair_type',
    'Temporary key algorithm: rsa (default), dsa, ecdsa, ed25519.',
    { default: 'rsa' },
  ),
  sshTemporaryKeyPairBits: f.int('temporary_key_pair_bits', 'Temporary key size; 0 = algorithm default.'),
  sshCiphers: f.strings('ssh_ciphers', 'Allowed ciphers (overrides the defaults).'),
  sshClearAuthorizedKeys: f.bool(
    'ssh_clear_authorized_keys',
    'Remove the temporary key from authorized_keys before imaging.',
  ),
  sshKEXAlgos: f.strings(
    'ssh_key_exchange_algorithms',
    'Allowed key exchange algorithms (overrides the defaults).',
  ),
  sshPrivateKeyFile: f.string('ssh_private_key_file', 'Private key file for public key auth; ~ is expanded.'),
  sshCertificateFile: f.string('ssh_certificate_file', 'User certificate used with the private key.'),
  sshPty: f.bool('ssh_pty', 'Request a PTY for every command.'),
  sshTimeout: f.duration('ssh_timeout', 'How long to wait for SSH to become available.', {
    default: 5 * 60_000,
  }),
  sshWaitTimeout: f.duration(
    'ssh_wait_timeout',
    'Deprecated alias of ssh_timeout; overrides it when non-zero.',
  ),
  sshAgentAuth: f.bool('ssh_agent_auth', 'Authenticate with the agent at SSH_AUTH_SOCK.'),
  sshDisableAgentForwarding: f.bool('ssh_disable_agent_forwarding', 'Do not forward the local SSH agent.'),
  sshHandshakeAttempts: f.int(
    'ssh_handshake_attempts',
    'Authentication failures tolerated before giving up.',
    { default: 10 },
  ),
  sshBastionHost: f.string('ssh_bastion_host', 'Bastion (jump) host.'),
  sshBastionPort: f.int('ssh_bastion_port', 'Bastion port.', { default: 22 }),
  sshBastionAgentAuth: f.bool('ssh_bastion_agent_auth', 'Authenticate to the bastion with the agent.'),
  sshBastionUsername: f.string('ssh_bastion_username', 'Bastion user.'),
  sshBastionPassword: f.string('ssh_bastion_password', 'Bastion password.'),
  sshBastionInteractive: f.bool(
    'ssh_bastion_interactive',
    'Answer the bastion keyboard-interactive prompts from the terminal.',
  ),
  sshBastionPrivateKeyFile: f.string(
    'ssh_bastion_private_key_file',
    'Bastion key file (default: ssh_private_key_file).',
  ),
  sshBastionCertificateFile: f.string(
    'ssh_bastion_certificate_file',
    'Bastion certificate (default: ssh_certificate_file).',
  ),
  sshFileTransferMethod: f.string('ssh_file_transfer_method', 'scp (default) or sftp.', { default: 'scp' }),
  sshProxyHost: f.string('ssh_proxy_host', 'SOCKS5 proxy host.'),
  sshProxyPort: f.int('ssh_proxy_port', 'SOCKS5 proxy port.', { default: 1080 }),
  sshProxyUsername: f.string('ssh_proxy_username', 'SOCKS5 proxy user.'),
  sshProxyPassword: f.string('ssh_proxy_password', 'SOCKS5 proxy password.'),
  sshKeepAliveInterval: f.duration('ssh_keep_alive_interval', 'Keep-alive interval; negative disables.', {
    default: 5000,
  }),
  sshReadWriteTimeout: f.duration('ssh_read_write_timeout', 'Deadline of every read/write; 0 disables.'),
  sshRemoteTunnels: f.strings('ssh_remote_tunnels', 'Remote forwards "<port>:<host>:<hostport>".'),
  sshLocalTunnels: f.strings('ssh_local_tunnels', 'Local forwards "<port>:<host>:<hostport>".'),
  sshPublicKey: f.string('ssh_public_key', 'Undocumented: public key material set by builders.'),
  sshPrivateKey: f.string('ssh_private_key', 'Undocumented: private key material set by builders.'),

  winrmUser: f.string('winrm_username', 'WinRM user (required for winrm).'),
  winrmPassword: f.string('winrm_password', 'WinRM password.'),
  winrmHost: f.string('winrm_host', 'WinRM address.'),
  winrmNoProxy: f.bool('winrm_no_proxy', 'Bypass the HTTP proxy for WinRM.'),
  winrmPort: f.int('winrm_port', 'WinRM port (5985, or 5986 with SSL).'),
  winrmTimeout: f.duration('winrm_timeout', 'How long to wait for WinRM.', { default: 30 * 60_000 }),
  winrmUseSSL: f.bool('winrm_use_ssl', 'Use HTTPS.'),
  winrmInsecure: f.bool('winrm_insecure', 'Skip certificate checks.'),
  winrmUseNTLM: f.bool('winrm_use_ntlm', 'Use NTLM authentication.'),
};

/** The decoded communicator options (durations in ms). */
export type CommunicatorConfig = Decoded<typeof communicatorFields>;

/** Communicator types validation accepts. */
export const COMMUNICATOR_TYPES = ['ssh', 'winrm', 'docker', 'dockerWindowsContainer', 'none'] as const;

/** Go's Config.Host(): the ssh or winrm host by type, else ''. */
export function commHost(c: CommunicatorConfig): string {
  return c.communicator === 'ssh' ? c.sshHost : c.communicator === 'winrm' ? c.winrmHost : '';
}
/** Go's Config.Port(). */
export function commPort(c: CommunicatorConfig): number {
  return c.communicator === 'ssh' ? c.sshPort : c.communicator === 'winrm' ? c.winrmPort : 0;
}
/** Go's Config.User(). */
export function commUser(c: CommunicatorConfig): string {
  return c.communicator === 'ssh' ? c.sshUsername : c.communicator === 'winrm' ? c.winrmUser : '';
}
/** Go's Config.Password(). */
export function commPassword(c: CommunicatorConfig): string {
  return c.communicator === 'ssh' ? c.sshPassword : c.communicator === 'winrm' ? c.winrmPassword : '';
}

/** Looks up a local user's home directory in /etc/passwd (Go's user.Lookup). */
function lookupHome(name: string): string {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // No passwd database: the user is unknown.
  }
  for (const line of passwd.split('\n')) {
    const parts = line.split(':');
    if (parts[0] === name && parts.length >= 6) return parts[5];
  }
  throw new Error(`user: unknown user ${name}`); // parity:
}

/** Packer's pathing.ExpandUser: `~`, `~/x` → $HOME; `~user/x` → that user's home. Throws on unknown users. */
export function expandUser(path: string): string {
  if (!path.startsWith('~')) return path;
  const slash = path.indexOf('/');
  const name = path.slice(1, slash < 0 ? path.length : slash);
  const rest = slash < 0 ? '' : path.slice(slash);
  const home = name === '' ? process.env.HOME || homedir() : lookupHome(name);
  return normalize(join(home, rest)).replace(/\/$/, '') || '/';
}

/** Go's os.Stat error text (`stat <p>: no such file or directory`), or undefined if the path exists. */
function statError(path: string): string | undefined {
  try {
    statSync(path);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const text: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      ENOTDIR: 'not a directory',
      ELOOP: 'too many levels of symbolic links',
      ENAMETOOLONG: 'file name too long',
    };
    return `stat ${path}: ${text[code ?? ''] ?? (err as Error).message}`;
  }
}

type Ssh2Utils = { parseKey(data: Buffer | string): unknown };

function ssh2Utils(): Ssh2Utils {
  // ssh2 is loaded only when a key file has to be checked.
  return (createRequire(import.meta.url)('ssh2') as { utils: Ssh2Utils }).utils;
}

/**
 * Parses a private key file like Packer's helper FileSigner; throws with Packer's message
 * (`Error setting up SSH config: …`). Go's own parser errors (asn1 …) are approximated.
 */
export function checkPrivateKeyFile(path: string): void {
  const data = readFileSync(path);
  const text = data.toString('latin1');
  const block = /-----BEGIN ([^\n]*?)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!block) throw new Error(`Error setting up SSH config: Failed to read key '${path}': no key found`); // parity:
  if (/^Proc-Type:\s*4,ENCRYPTED\s*$/m.test(block[2])) {
    // parity:
    throw new Error(
      `Error setting up SSH config: Failed to read key '${path}': password protected keys are\nnot supported. Please decrypt the key prior to use.`,
    );
  }
  const parsed = ssh2Utils().parseKey(data);
  if (!(parsed instanceof Error)) return;
  if (/passphrase/i.test(parsed.message)) {
    throw new Error('Error setting up SSH config: ssh: this private key is passphrase protected'); // parity:
  }
  try {
    createPrivateKey(data); // PKCS#8 and other PEM forms ssh2 does not read but Go does.
  } catch {
    throw new Error(`Error setting up SSH config: ${parsed.message}`);
  }
}

/**
 * Checks a user certificate file for the key at `keyPath` like Packer's ReadCertificate: readable,
 * a certificate, valid now, and for this key (`failed to create cert signer: …`).
 */
function checkCertificateFile(path: string, keyPath: string): void {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const reason = statError(path)?.replace(/^stat /, 'open ') ?? (err as Error).message;
    throw new Error(`unable to read certificate file: ${reason}`); // parity:
  }
  const key = parsePrivateKey(readFileSync(keyPath), ssh2Utils().parseKey as KeyParser);
  checkCertificate(data, path, key.getPublicSSH());
}

function keyFileProblem(option: string, keyFile: string, certFile: string): string | undefined {
  let path: string;
  try {
    path = expandUser(keyFile);
  } catch (err) {
    return `${option} is invalid: ${(err as Error).message}`;
  }
  const missing = statError(path);
  if (missing) return `${option} is invalid: ${missing}`;
  try {
    checkPrivateKeyFile(path);
    if (certFile !== '') checkCertificateFile(expandUser(certFile), path);
  } catch (err) {
    return `${option} is invalid: ${(err as Error).message}`; // parity:
  }
  return undefined;
}

/** Go's strconv.Atoi; throws `strconv.Atoi: parsing "x": invalid syntax`. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  return n;
}

/** Go's net.SplitHostPort, throwing its AddrError texts. */
export function splitHostPort(hostport: string): [string, string] {
  const fail = (why: string): Error => new Error(`address ${hostport}: ${why}`);
  const i = hostport.lastIndexOf(':');
  if (i < 0) throw fail('missing port in address');
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) throw fail("missing ']' in address");
    if (end + 1 === hostport.length) throw fail('missing port in address');
    if (end + 1 !== i)
      throw fail(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    host = hostport.slice(1, end);
    [j, k] = [1, end + 1];
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) throw fail('too many colons in address');
  }
  if (hostport.slice(j).includes('[')) throw fail("unexpected '[' in address");
  if (hostport.slice(k).includes(']')) throw fail("unexpected ']' in address");
  return [host, hostport.slice(i + 1)];
}

/** A parsed `ssh_local_tunnels` / `ssh_remote_tunnels` entry. */
export interface TunnelSpec {
  listenPort: number;
  forwardHost: string;
  forwardPort: number;
}

/** Packer's ParseTunnelArgument(`"<port>:<host>:<hostport>"`), with its exact error texts. */
export function parseTunnelArgument(forward: string): TunnelSpec {
  const colon = forward.indexOf(':');
  if (colon < 0) throw new Error(`Error parsing tunnel '${forward}': [${forward}]`); // parity:
  const listening = forward.slice(0, colon);
  let host: string;
  let port: string;
  try {
    [host, port] = splitHostPort(forward.slice(colon + 1));
  } catch (err) {
    throw new Error(`Error parsing forwarding, must be a tcp address: ${(err as Error).message}`); // parity:
  }
  let forwardPort: number;
  let listenPort: number;
  try {
    forwardPort = atoi(port);
  } catch (err) {
    throw new Error(`Error parsing forwarding port, must be a valid port: ${(err as Error).message}`); // parity:
  }
  try {
    listenPort = atoi(listening);
  } catch (err) {
    throw new Error(`Error parsing listening port, must be a valid port: ${(err as Error).message}`); // parity:
  }
  return { listenPort, forwardHost: host, forwardPort };
}

function prepareSsh(c: CommunicatorConfig, problems: Problems): void {
  if (c.sshBastionHost !== '') {
    if (c.sshBastionPrivateKeyFile === '') c.sshBastionPrivateKeyFile = c.sshPrivateKeyFile;
    if (c.sshBastionCertificateFile === '') c.sshBastionCertificateFile = c.sshCertificateFile;
  }
  if (c.sshWaitTimeout !== 0) c.sshTimeout = c.sshWaitTimeout;

  if (c.sshUsername === '') {
    problems.add(
      'An ssh_username must be specified\n  Note: some builders used to default ssh_username to "root".',
    ); // parity:
  }
  if (c.sshPrivateKeyFile !== '') {
    const p = keyFileProblem('ssh_private_key_file', c.sshPrivateKeyFile, c.sshCertificateFile);
    if (p) problems.add(p);
  }
  if (c.sshBastionHost !== '' && !c.sshBastionAgentAuth) {
    if (c.sshBastionPassword === '' && c.sshBastionPrivateKeyFile === '') {
      problems.add('ssh_bastion_password or ssh_bastion_private_key_file must be specified'); // parity:
    } else if (c.sshBastionPrivateKeyFile !== '') {
      const p = keyFileProblem(
        'ssh_bastion_private_key_file',
        c.sshBastionPrivateKeyFile,
        c.sshBastionCertificateFile,
      );
      if (p) problems.add(p);
    }
  }
  if (c.sshFileTransferMethod !== 'scp' && c.sshFileTransferMethod !== 'sftp') {
    problems.add(
      `ssh_file_transfer_method ('${c.sshFileTransferMethod}') is invalid, valid methods: sftp, scp`,
    ); // parity:
  }
  if (c.sshBastionHost !== '' && c.sshProxyHost !== '') {
    problems.add('please specify either ssh_bastion_host or ssh_proxy_host, not both'); // parity:
  }
  for (const [option, list] of [
    ['ssh_local_tunnels', c.sshLocalTunnels],
    ['ssh_remote_tunnels', c.sshRemoteTunnels],
  ] as const) {
    for (const v of list) {
      try {
        parseTunnelArgument(v);
      } catch (err) {
        problems.add(`${option} ('${v}') is invalid: ${(err as Error).message}`); // parity:
      }
    }
  }
}

/**
 * Packer's communicator `Config.Prepare`: applies the type-dependent defaults to `c` (winrm port,
 * `ssh_wait_timeout` overriding `ssh_timeout`, bastion key/certificate defaulting to the target's)
 * and adds every problem to `problems`. Reads key files (existence and parsing), nothing else.
 */
export function validateCommunicator(c: CommunicatorConfig, problems: Problems): void {
  if (c.communicator === '') c.communicator = 'ssh';
  switch (c.communicator) {
    case 'ssh':
      prepareSsh(c, problems);
      break;
    case 'winrm':
      if (c.winrmPort === 0) c.winrmPort = c.winrmUseSSL ? 5986 : 5985;
      if (c.winrmUser === '') problems.add('winrm_username must be specified.'); // parity:
      break;
    case 'docker':
    case 'dockerWindowsContainer':
    case 'none':
      break;
    default:
      problems.add(`Communicator type ${c.communicator} is invalid`); // parity:
  }
}

/** Temporary key algorithms (`temporary_key_pair_type`). */
export const TEMPORARY_KEY_TYPES = ['dsa', 'ecdsa', 'ed25519', 'rsa'] as const;

/**
 * For builders that generate a temporary key locally: checks `temporary_key_pair_type`
 * (`<x> does not belong to Algorithm values: possible algorithm types are …`).
 */
export function validateTemporaryKeyPair(c: CommunicatorConfig, problems: Problems): void {
  if (!(TEMPORARY_KEY_TYPES as readonly string[]).includes(c.sshTemporaryKeyPairType)) {
    // parity:
    problems.add(
      `${c.sshTemporaryKeyPairType} does not belong to Algorithm values: possible algorithm types are \`dsa\` | \`ecdsa\` | \`ed25519\` | \`rsa\` ( the default )`,
    );
  }
}
