/**
 * OpenSSH user certificates (`ssh_certificate_file`, `ssh_bastion_certificate_file`): reading the
 * `*-cert.pub` file, the checks Packer's ReadCertificate makes (a certificate, valid now, for this
 * key), and the algorithm names used on the wire (PROTOCOL.certkeys). No ssh2 here: plain buffers.
 */
import { readFileSync } from 'node:fs';

/** A parsed certificate line. */
export interface UserCertificate {
  /** The certificate key type, e.g. `ssh-ed25519-cert-v01@openssh.com`. */
  certType: string;
  /** The whole certificate blob (what goes in the publickey request). */
  blob: Buffer;
  /** The certified public key as a plain public key blob (`ssh-ed25519` …), to compare with the key. */
  publicKey: Buffer;
  validAfter: bigint;
  validBefore: bigint;
}

/** Certificate types and the plain key type they certify. */
const CERT_BASE: Record<string, string> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'ssh-dss-cert-v01@openssh.com': 'ssh-dss',
};

/** Number of SSH-encoded fields of each key type's public part (after the type name). */
const KEY_FIELDS: Record<string, number> = {
  'ssh-ed25519': 1, // pk
  'ssh-rsa': 2, // e, n
  'ecdsa-sha2-nistp256': 2, // curve, Q
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 2,
  'ssh-dss': 4, // p, q, g, y
};

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.pos + 4 > this.buf.length) throw new Error('ssh: short read');
    const n = this.buf.readUInt32BE(this.pos);
    if (this.pos + 4 + n > this.buf.length) throw new Error('ssh: short read');
    const out = this.buf.subarray(this.pos + 4, this.pos + 4 + n);
    this.pos += 4 + n;
    return out;
  }
  uint64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new Error('ssh: short read');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  uint32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error('ssh: short read');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
}

/** SSH wire `string`: uint32 length + bytes. */
export function sshString(data: Buffer | string): Buffer {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * Parses the text of a `*-cert.pub` file (an authorized_keys-style line). Throws Packer's texts:
 * `unable to parse public key: ssh: no key found`, `Error loading certificate` (a plain key).
 */
export function parseCertificate(text: string | Buffer): UserCertificate {
  const lines = (Buffer.isBuffer(text) ? text.toString('utf8') : text)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  // parity:
  const noKey = new Error('unable to parse public key: ssh: no key found');
  if (lines.length === 0) throw noKey;
  const fields = lines[0].split(/\s+/);
  // An authorized_keys line may start with options; the key type is the first field that decodes.
  let blob: Buffer | undefined;
  let type = '';
  for (let i = 0; i + 1 < fields.length && !blob; i++) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(fields[i + 1])) continue;
    const b = Buffer.from(fields[i + 1], 'base64');
    try {
      const t = new Reader(b).string().toString('latin1');
      if (t === fields[i]) [blob, type] = [b, t];
    } catch {
      // not a key blob
    }
  }
  if (!blob) throw noKey;
  const base = CERT_BASE[type];
  if (!base) throw new Error('Error loading certificate'); // parity:
  try {
    const r = new Reader(blob);
    r.string(); // type
    r.string(); // nonce
    const keyFields: Buffer[] = [];
    for (let i = 0; i < KEY_FIELDS[base]; i++) keyFields.push(r.string());
    r.uint64(); // serial
    r.uint32(); // cert type (user/host)
    r.string(); // key id
    r.string(); // principals
    const validAfter = r.uint64();
    const validBefore = r.uint64();
    return {
      certType: type,
      blob,
      publicKey: Buffer.concat([sshString(base), ...keyFields.map((f) => sshString(f))]),
      validAfter,
      validBefore,
    };
  } catch (err) {
    throw new Error(`unable to parse public key: ${(err as Error).message}`); // parity:
  }
}

/** The plain key type a certificate type certifies (`ssh-ed25519` for `ssh-ed25519-cert-v01@…`). */
export function certBaseType(certType: string): string {
  return CERT_BASE[certType] ?? certType;
}

/**
 * Reads and checks a certificate file for a key whose public blob is `keyPublic`, as Packer's
 * ReadCertificate + NewCertSigner do; throws with their texts.
 */
export function readCertificate(path: string, keyPublic: Buffer, now = Date.now()): UserCertificate {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new Error(`unable to read certificate file: ${goOpenError(path, err)}`); // parity:
  }
  return checkCertificate(data, path, keyPublic, now);
}

/** The checks of readCertificate on already-read file contents. */
export function checkCertificate(
  data: Buffer | string,
  path: string,
  keyPublic: Buffer,
  now = Date.now(),
): UserCertificate {
  const cert = parseCertificate(data);
  const unixNow = BigInt(Math.floor(now / 1000));
  const INFINITY = (1n << 64n) - 1n;
  const asSigned = (v: bigint) => (v >= 1n << 63n ? v - (1n << 64n) : v);
  if (asSigned(cert.validAfter) < 0n || unixNow < cert.validAfter) {
    throw new Error(`${path} not a valid cert: ssh: cert is not yet valid`); // parity:
  }
  if (cert.validBefore !== INFINITY && (unixNow >= cert.validBefore || asSigned(cert.validBefore) < 0n)) {
    throw new Error(`${path} not a valid cert: ssh: cert has expired`); // parity:
  }
  if (!cert.publicKey.equals(keyPublic)) {
    // parity:
    throw new Error('failed to create cert signer: ssh: signer and cert have different public key');
  }
  return cert;
}

/** Go's os.Open error text for a failed read (`open <p>: no such file or directory`). */
function goOpenError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOTDIR: 'not a directory',
    EISDIR: 'is a directory',
  };
  if (code === 'EISDIR') return `read ${path}: is a directory`;
  return `open ${path}: ${text[code] ?? (err as Error).message}`;
}

/**
 * The publickey algorithm name to send for a certificate and the signature format inside it. RSA
 * certificates use rsa-sha2-256 (as Go's x/crypto prefers), or rsa-sha2-512 when the server's
 * `server-sig-algs` lists only that; never the SHA-1 `ssh-rsa-cert-v01@openssh.com`.
 */
export function certAlgorithm(
  certType: string,
  serverSigAlgs?: string[] | null,
): { algo: string; sigAlgo: string; hash?: string } {
  const base = certBaseType(certType);
  if (base === 'ssh-rsa') {
    const only512 =
      Array.isArray(serverSigAlgs) &&
      serverSigAlgs.includes('rsa-sha2-512') &&
      !serverSigAlgs.includes('rsa-sha2-256');
    const sigAlgo = only512 ? 'rsa-sha2-512' : 'rsa-sha2-256';
    return { algo: `${sigAlgo}-cert-v01@openssh.com`, sigAlgo, hash: only512 ? 'sha512' : 'sha256' };
  }
  return { algo: certType, sigAlgo: base };
}
