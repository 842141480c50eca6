/** One-time SSH keys for the proxy: its host key and the user key ansible logs in with. */

export type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface KeyPair {
  /** OpenSSH private key text (what ssh's -i and the server's hostKeys take). */
  privateKey: string;
  /** `<type> <base64>` public key line. */
  publicKey: string;
}

/** Generates a key pair; ed25519 by default, ecdsa P-256, or rsa 3072 (signed with rsa-sha2). */
export async function generateKeyPair(type: KeyType = 'ed25519'): Promise<KeyPair> {
  const { utils } = (await import('ssh2')).default;
  const opts = type === 'ecdsa' ? { bits: 256 } : type === 'rsa' ? { bits: 3072 } : undefined;
  return await new Promise<KeyPair>((resolve, reject) => {
    const cb = (err: Error | null, keys: { private: string; public: string }): void => {
      if (err) reject(err);
      else resolve({ privateKey: keys.private, publicKey: keys.public });
    };
    if (opts) utils.generateKeyPair(type, opts as never, cb);
    else utils.generateKeyPair(type as 'ed25519', cb);
  });
}
