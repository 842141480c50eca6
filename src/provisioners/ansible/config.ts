/**
 * The ansible provisioner's prepare (spec §D.1–D.2): decode with the field table, apply Packer's
 * checks and messages, run the `--version` check. No ssh2 here: `kiln validate` loads this file.
 */
import { promises as fsp } from 'node:fs';
import type { GeneratedData, PackerConfig, RawConfig } from '../../core/types.js';
import { decodeConfig, Problems, type DecodedConfig } from '../../config/decode.js';
import { parseAnsibleVersion } from './args.js';
import { ansibleFields } from './fields.js';
import { runCapture } from './run.js';
import { cachedMajorVersion } from './version-cache.js';
import { goPathError } from '../../util/go-os-error.js';

export type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

export type AnsibleConfig = DecodedConfig<typeof ansibleFields> & {
  /** Major version found by the version check (2 when skipped, as Packer assumes). */
  ansibleMajor: number;
  proxyKeyType: KeyType;
};

function goStatError(path: string, e: unknown): string {
  return goPathError('stat', path, e);
}

async function validateFile(problems: Problems, path: string, key: string, required: boolean): Promise<void> {
  if (required && path === '') {
    problems.add(`${key} must be specified.`); // parity:
    return;
  }
  try {
    const st = await fsp.stat(path);
    if (st.isDirectory()) problems.add(`${key}: ${path} must point to a file`); // parity:
  } catch (e) {
    problems.add(`${key}: ${path} is invalid: ${goStatError(path, e as NodeJS.ErrnoException)}`); // parity:
  }
}

async function validateDir(problems: Problems, path: string): Promise<void> {
  try {
    const st = await fsp.stat(path);
    if (!st.isDirectory()) problems.add(`inventory_directory: ${path} must point to a directory`); // parity:
  } catch (e) {
    problems.add(`inventory_directory: ${path} is invalid: ${goStatError(path, e as NodeJS.ErrnoException)}`); // parity:
  }
}

/** Runs `<command> --version` and returns the major version, or the problem Packer reports. */
export async function ansibleMajorVersion(command: string): Promise<number | string> {
  const r = await runCapture(command, ['--version']);
  if (r.error !== undefined) return `Error running "${command} --version": ${r.error}`; // parity:
  const v = parseAnsibleVersion(r.output);
  if (!v) return `Could not find ${command} version in output:\n${r.output}`; // parity:
  if (Number.isNaN(v.major)) return `Could not parse major version from "${v.version}".`; // parity:
  return v.major;
}

/** Decodes and validates; throws a ConfigError listing every problem. */
export async function prepareAnsible(
  raws: RawConfig[],
  pc: PackerConfig,
  placeholder: GeneratedData,
): Promise<AnsibleConfig> {
  const decoded = decodeConfig(ansibleFields, raws, { pc, placeholder, exclude: ['inventory_file_template'] });
  const problems = new Problems();
  await validateFile(problems, decoded.playbookFile, 'playbook_file', true);
  if (decoded.galaxyFile) await validateFile(problems, decoded.galaxyFile, 'galaxy_file', true);
  if (decoded.sshAuthorizedKeyFile) {
    await validateFile(problems, decoded.sshAuthorizedKeyFile, 'ssh_authorized_key_file', true);
  }
  if (decoded.sshHostKeyFile) await validateFile(problems, decoded.sshHostKeyFile, 'ssh_host_key_file', true);
  if (decoded.localPort > 65535) problems.add(`local_port: ${decoded.localPort} must be a valid port`); // parity:
  if (decoded.inventoryDirectory) await validateDir(problems, decoded.inventoryDirectory);

  let proxyKeyType: KeyType = 'ed25519';
  const kt = decoded.ansibleProxyKeyType.toLowerCase();
  if (kt === 'ecdsa' || kt === 'rsa' || kt === 'ed25519') proxyKeyType = kt;
  else if (kt !== '') {
    problems.add(
      `ansible_proxy_key_type: cannot use "${decoded.ansibleProxyKeyType}": expected ED25519, ECDSA or RSA`,
    );
  }

  let ansibleMajor = 2;
  if (!decoded.skipVersionCheck) {
    const v = await cachedMajorVersion(decoded.command, () => ansibleMajorVersion(decoded.command));
    if (typeof v === 'string') problems.add(v);
    else ansibleMajor = v;
  }
  problems.throwIfAny();
  return { ...decoded, ansibleMajor, proxyKeyType };
}
