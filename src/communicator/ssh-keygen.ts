/**
 * Temporary SSH key pairs (Packer SDK `communicator/step_ssh_keygen.go`, spec §7.9): rsa (default,
 * 4096 bits), ecdsa (P-256/384/521, default 521) as PKCS#8 `PRIVATE KEY` PEM, ed25519 as
 * `OPENSSH PRIVATE KEY`; the public key in authorized_keys form (`ssh-rsa AAAA…\n`, no comment).
 * RSA keys authenticate with rsa-sha2-256/512 (ssh2 picks them from the server's server-sig-algs).
 */
import { createRequire } from 'node:module';
import { generateKeyPair as cryptoGenerate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { ProvisionState, Step } from '../core/runner/index.js';

const generate = promisify(cryptoGenerate);

export type TemporaryKeyType = 'rsa' | 'ecdsa' | 'ed25519';

export interface TemporaryKeyPair {
  type: TemporaryKeyType;
  /** PEM (rsa/ecdsa: PKCS#8) or OpenSSH (ed25519) private key text. */
  privateKey: string;
  /** `<algo> <base64>\n`, ready for authorized_keys. */
  publicKey: string;
}

/** Validates temporary_key_pair_type/bits; returns the problem text or undefined. */
export function checkKeyPairSettings(type: string, bits: number): string | undefined {
  const types = ['dsa', 'ecdsa', 'ed25519', 'rsa'];
  if (!types.includes(type)) {
    // parity:
    return `invalid temporary_key_pair_type '${type}': possible algorithm types are \`dsa\` | \`ecdsa\` | \`ed25519\` | \`rsa\` ( the default )`;
  }
  if (type === 'dsa')
    return 'Cannot use temporary_key_pair_type dsa: kiln does not generate DSA keys (OpenSSH no longer accepts them)';
  if (type === 'rsa' && bits !== 0 && bits < 1024)
    return `invalid temporary_key_pair_bits ${bits}: rsa keys need at least 1024 bits`;
  if (type === 'ecdsa' && bits !== 0 && ![256, 384, 521].includes(bits)) {
    return `invalid temporary_key_pair_bits ${bits}: ecdsa keys are 256, 384 or 521 bits`;
  }
  return undefined;
}

function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

/** An unsigned big-endian integer as an SSH mpint. */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return sshString(v);
}

function publicLine(algo: string, blob: Buffer): string {
  return `${algo} ${blob.toString('base64')}\n`;
}

function jwk(pub: KeyObject): Record<string, string> {
  return pub.export({ format: 'jwk' }) as Record<string, string>;
}

/** Generates a key pair; `bits` 0 = the algorithm's default. */
export async function generateTemporaryKeyPair(
  type: TemporaryKeyType = 'rsa',
  bits = 0,
): Promise<TemporaryKeyPair> {
  if (type === 'rsa') {
    const { publicKey, privateKey } = await generate('rsa', {
      modulusLength: bits || 4096,
      publicExponent: 65537,
    });
    const j = jwk(publicKey);
    const blob = Buffer.concat([
      sshString('ssh-rsa'),
      mpint(Buffer.from(j.e, 'base64url')),
      mpint(Buffer.from(j.n, 'base64url')),
    ]);
    return {
      type,
      privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      publicKey: publicLine('ssh-rsa', blob),
    };
  }
  if (type === 'ecdsa') {
    const size = bits || 521;
    const curve = { 256: 'P-256', 384: 'P-384', 521: 'P-521' }[size as 256 | 384 | 521];
    const ident = `nistp${size}`;
    const { publicKey, privateKey } = await generate('ec', { namedCurve: curve });
    const j = jwk(publicKey);
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(j.x, 'base64url'),
      Buffer.from(j.y, 'base64url'),
    ]);
    const algo = `ecdsa-sha2-${ident}`;
    const blob = Buffer.concat([sshString(algo), sshString(ident), sshString(point)]);
    return {
      type,
      privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      publicKey: publicLine(algo, blob),
    };
  }
  // require(), not import(): an ESM import of the CommonJS package costs a lexing pass on top.
  const ssh2 = createRequire(import.meta.url)('ssh2') as typeof import('ssh2');
  const pair = ssh2.utils.generateKeyPairSync('ed25519');
  const [algo, b64] = pair.public.trim().split(/\s+/);
  return { type, privateKey: pair.private, publicKey: `${algo} ${b64}\n` };
}

/** State for the key-generation step: where the key lands. */
export interface KeygenState extends ProvisionState {
  temporaryKey?: TemporaryKeyPair;
}

/**
 * StepSSHKeyGen: with a private key file configured says `Using existing SSH private key`; otherwise
 * `Creating temporary <type> SSH key for instance...` and stores the pair in `state.temporaryKey`.
 */
export function stepSshKeygen<S extends KeygenState>(cfg: {
  privateKeyFile?: string;
  type: TemporaryKeyType;
  bits: number;
}): Step<S> {
  return {
    name: 'StepSSHKeyGen',
    async run(state, { ui }) {
      if (cfg.privateKeyFile) {
        ui.say('Using existing SSH private key'); // parity:
        return 'continue';
      }
      ui.say(`Creating temporary ${cfg.type} SSH key for instance...`); // parity:
      state.temporaryKey = await generateTemporaryKeyPair(cfg.type, cfg.bits);
      return 'continue';
    },
  };
}
