/** One-time SSH keys for the proxy: its host key and the user key ansible logs in with. */

export type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface KeyPair {
  /** OpenSSH private key text (what ssh's -i and the server's hostKeys take). */
  privateKey: string;
  /** `<type> <base64>` public key line. */
  publicKey: string;
}

/**
 * Generates a key pair; ed25519 by default, ecdsa P-256, or rsa 3072 (signed with rsa-sha2).
 * ssh2's generator drops a leading zero byte of an ed25519 public key now and then (about one key
 * in 256), producing a key nothing can load; each pair is therefore checked (both halves parse, they
 * match, a signature verifies) and generated again when it fails.
 */
export async function generateKeyPair(type: KeyType = 'ed25519'): Promise<KeyPair> {
  const { utils } = (await import('ssh2')).default;
  const opts = type === 'ecdsa' ? { bits: 256 } : type === 'rsa' ? { bits: 3072 } : undefined;
  for (let attempt = 0; ; attempt++) {
    const pair = await new Promise<KeyPair>((resolve, reject) => {
      const cb = (err: Error | null, keys: { private: string; public: string }): void => {
        if (err) reject(err);
        else resolve({ privateKey: keys.private, publicKey: keys.public });
      };
      if (opts) utils.generateKeyPair(type, opts as never, cb);
      else utils.generateKeyPair(type as 'ed25519', cb);
    });
    const priv = utils.parseKey(pair.privateKey);
    const pub = utils.parseKey(pair.publicKey);
    if (!(priv instanceof Error) && !(pub instanceof Error) && !Array.isArray(priv) && !Array.isArray(pub)) {
      const probe = Buffer.from('kiln key check');
      const sig = priv.sign(probe);
      if (
        pub.getPublicSSH().equals(priv.getPublicSSH()) &&
        !(sig instanceof Error) &&
        pub.verify(probe, sig) === true
      ) {
        return pair;
      }
    }
    if (attempt >= 20) throw new Error(`Cannot generate a usable ${type} key pair`);
  }
}
