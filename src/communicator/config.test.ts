import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeConfig, Problems } from '../config/decode.js';
import {
  commHost,
  communicatorFields,
  expandUser,
  parseTunnelArgument,
  splitHostPort,
  validateCommunicator,
  validateTemporaryKeyPair,
  type CommunicatorConfig,
} from './config.js';
import { packerConfigWith } from '../core/packer-config.js';

const pc = packerConfigWith({ buildName: 'b', builderType: 'null', initTime: new Date(0), runUuid: 'u' });

const dir = mkdtempSync(join(tmpdir(), 'kiln-comm-'));
const rsaPem = join(dir, 'rsa.pem');
writeFileSync(
  rsaPem,
  generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }),
);
const pkcs8 = join(dir, 'ed.pem');
writeFileSync(pkcs8, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const encPem = join(dir, 'enc.pem');
writeFileSync(
  encPem,
  generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
    type: 'pkcs1',
    format: 'pem',
    cipher: 'aes-128-cbc',
    passphrase: 'secret',
  }),
);
const garbage = join(dir, 'garbage');
writeFileSync(garbage, 'not a key\n');
const openssh = join(dir, 'id_ed25519');
const opensshEnc = join(dir, 'id_enc');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', openssh]);
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', opensshEnc]);

function comm(raw: Record<string, unknown>): CommunicatorConfig {
  return decodeConfig(communicatorFields, [raw], { pc, skipInterpolation: true });
}

function problemsOf(raw: Record<string, unknown>): string[] {
  const p = new Problems();
  validateCommunicator(comm(raw), p);
  return p.messages;
}

test('defaults of the ssh communicator', () => {
  const c = comm({ ssh_username: 'u' });
  validateCommunicator(c, new Problems());
  assert.equal(c.communicator, 'ssh');
  assert.equal(c.sshPort, 22);
  assert.equal(c.sshTimeout, 300_000);
  assert.equal(c.sshHandshakeAttempts, 10);
  assert.equal(c.sshKeepAliveInterval, 5000);
  assert.equal(c.sshBastionPort, 22);
  assert.equal(c.sshProxyPort, 1080);
  assert.equal(c.sshFileTransferMethod, 'scp');
  assert.equal(c.sshTemporaryKeyPairType, 'rsa');
  assert.equal(c.winrmTimeout, 1_800_000);
});

test('ssh_wait_timeout overrides ssh_timeout', () => {
  const c = comm({ ssh_username: 'u', ssh_timeout: '1m', ssh_wait_timeout: '10s' });
  validateCommunicator(c, new Problems());
  assert.equal(c.sshTimeout, 10_000);
});

test('bastion key and certificate default to the target ones', () => {
  const c = comm({ ssh_username: 'u', ssh_private_key_file: rsaPem, ssh_bastion_host: 'b' });
  const p = new Problems();
  validateCommunicator(c, p);
  assert.deepEqual(p.messages, []);
  assert.equal(c.sshBastionPrivateKeyFile, rsaPem);
});

test('validation messages are Packer’s, in Packer’s order', () => {
  assert.deepEqual(
    problemsOf({
      ssh_file_transfer_method: 'ftp',
      ssh_bastion_host: 'b',
      ssh_proxy_host: 'p',
      ssh_local_tunnels: ['a', '1:b:2', 'x:y:z'],
      ssh_remote_tunnels: 'q',
      ssh_private_key_file: '/nonexistent/key',
    }),
    [
      'An ssh_username must be specified\n  Note: some builders used to default ssh_username to "root".',
      'ssh_private_key_file is invalid: stat /nonexistent/key: no such file or directory',
      'ssh_bastion_private_key_file is invalid: stat /nonexistent/key: no such file or directory',
      "ssh_file_transfer_method ('ftp') is invalid, valid methods: sftp, scp",
      'please specify either ssh_bastion_host or ssh_proxy_host, not both',
      "ssh_local_tunnels ('a') is invalid: Error parsing tunnel 'a': [a]",
      'ssh_local_tunnels (\'x:y:z\') is invalid: Error parsing forwarding port, must be a valid port: strconv.Atoi: parsing "z": invalid syntax',
      "ssh_remote_tunnels ('q') is invalid: Error parsing tunnel 'q': [q]",
    ],
  );
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_bastion_host: 'b' }), [
    'ssh_bastion_password or ssh_bastion_private_key_file must be specified',
  ]);
  assert.deepEqual(
    problemsOf({ ssh_username: 'u', ssh_bastion_host: 'b', ssh_bastion_agent_auth: true }),
    [],
  );
  assert.deepEqual(problemsOf({ communicator: 'ftp' }), ['Communicator type ftp is invalid']);
  assert.deepEqual(problemsOf({ communicator: 'winrm' }), ['winrm_username must be specified.']);
  assert.deepEqual(problemsOf({ communicator: 'none', ssh_file_transfer_method: 'ftp' }), []);
});

test('private key files must exist and parse', () => {
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_private_key_file: rsaPem }), []);
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_private_key_file: pkcs8 }), []);
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_private_key_file: openssh }), []);
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_private_key_file: garbage }), [
    `ssh_private_key_file is invalid: Error setting up SSH config: Failed to read key '${garbage}': no key found`,
  ]);
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_private_key_file: encPem }), [
    `ssh_private_key_file is invalid: Error setting up SSH config: Failed to read key '${encPem}': password protected keys are\nnot supported. Please decrypt the key prior to use.`,
  ]);
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_private_key_file: opensshEnc }), [
    'ssh_private_key_file is invalid: Error setting up SSH config: ssh: this private key is passphrase protected',
  ]);
});

test('certificate files must exist and be certificates', () => {
  assert.deepEqual(
    problemsOf({
      ssh_username: 'u',
      ssh_private_key_file: openssh,
      ssh_certificate_file: join(dir, 'nocert'),
    }),
    [
      `ssh_private_key_file is invalid: unable to read certificate file: open ${join(dir, 'nocert')}: no such file or directory`,
    ],
  );
  assert.deepEqual(
    problemsOf({ ssh_username: 'u', ssh_private_key_file: openssh, ssh_certificate_file: garbage }),
    ['ssh_private_key_file is invalid: unable to parse public key: ssh: no key found'],
  );
  assert.deepEqual(
    problemsOf({ ssh_username: 'u', ssh_private_key_file: openssh, ssh_certificate_file: `${openssh}.pub` }),
    ['ssh_private_key_file is invalid: Error loading certificate'],
  );
});

test('~ expands to the home directory', () => {
  assert.equal(expandUser('~/x/y'), join(process.env.HOME || homedir(), 'x/y'));
  assert.equal(expandUser('/abs'), '/abs');
  assert.equal(expandUser('~root/k'), '/root/k');
  assert.throws(() => expandUser('~no-such-user-kiln/k'), {
    message: 'user: unknown user no-such-user-kiln',
  });
  assert.deepEqual(problemsOf({ ssh_username: 'u', ssh_private_key_file: '~no-such-user-kiln/k' }), [
    'ssh_private_key_file is invalid: user: unknown user no-such-user-kiln',
  ]);
});

test('tunnel arguments parse like Packer', () => {
  assert.deepEqual(parseTunnelArgument('8080:localhost:80'), {
    listenPort: 8080,
    forwardHost: 'localhost',
    forwardPort: 80,
  });
  assert.deepEqual(parseTunnelArgument('1:[::1]:5'), { listenPort: 1, forwardHost: '::1', forwardPort: 5 });
  const bad: Array<[string, string]> = [
    ['1:b', 'Error parsing forwarding, must be a tcp address: address b: missing port in address'],
    ['1:a:b:2', 'Error parsing forwarding, must be a tcp address: address a:b:2: too many colons in address'],
    [
      'x:h:2',
      'Error parsing listening port, must be a valid port: strconv.Atoi: parsing "x": invalid syntax',
    ],
    ['1:]x:5', "Error parsing forwarding, must be a tcp address: address ]x:5: unexpected ']' in address"],
  ];
  for (const [v, msg] of bad) assert.throws(() => parseTunnelArgument(v), { message: msg }, v);
  assert.throws(() => splitHostPort('[::1'), { message: "address [::1: missing ']' in address" });
});

test('temporary key types', () => {
  const p = new Problems();
  validateTemporaryKeyPair(comm({ temporary_key_pair_type: 'foo' }), p);
  validateTemporaryKeyPair(comm({ temporary_key_pair_type: 'ed25519' }), p);
  assert.deepEqual(p.messages, [
    'foo does not belong to Algorithm values: possible algorithm types are `dsa` | `ecdsa` | `ed25519` | `rsa` ( the default )',
  ]);
});

test('Host() follows the communicator type', () => {
  assert.equal(commHost(comm({ ssh_host: 'a', winrm_host: 'b' })), 'a');
  assert.equal(commHost(comm({ communicator: 'winrm', ssh_host: 'a', winrm_host: 'b' })), 'b');
  assert.equal(commHost(comm({ communicator: 'none', ssh_host: 'a' })), '');
});
