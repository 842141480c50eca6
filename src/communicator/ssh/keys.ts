/**
 * Private key parsing for ssh2, accepting what Packer (Go's ssh.ParsePrivateKey) accepts: OpenSSH,
 * PKCS#1/SEC1 PEM, and PKCS#8 `PRIVATE KEY` PEM (which ssh2 cannot read; converted with node:crypto).
 */
import { createPrivateKey } from 'node:crypto';
import type { ParsedKey } from 'ssh2';

export type KeyParser = (data: Buffer | string, passphrase?: Buffer | string) => ParsedKey | Error;

/** Parses a private key; throws `Error on parsing SSH private key: <err>` (parity with Packer). */
export function parsePrivateKey(data: string | Buffer, parseKey: KeyParser): ParsedKey {
  let text = Buffer.isBuffer(data) ? data.toString('utf8') : data;
  if (/-----BEGIN PRIVATE KEY-----/.test(text)) {
    try {
      const k = createPrivateKey(text);
      if (k.asymmetricKeyType === 'rsa') text = k.export({ format: 'pem', type: 'pkcs1' }).toString();
      else if (k.asymmetricKeyType === 'ec') text = k.export({ format: 'pem', type: 'sec1' }).toString();
    } catch (err) {
      throw new Error(`Error on parsing SSH private key: ${(err as Error).message}`); // parity:
    }
  }
  const parsed = parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error) throw new Error(`Error on parsing SSH private key: ${key.message}`); // parity:
  return key as ParsedKey;
}
