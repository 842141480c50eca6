/**
 * Public-key authentication with an OpenSSH user certificate over ssh2.
 *
 * ssh2 (1.x) has no certificate support: it sends one algorithm name both as the publickey
 * algorithm and inside the signature, while a certificate needs `<type>-cert-v01@openssh.com` for
 * the first and the plain signature format (`ssh-ed25519`, `rsa-sha2-256`, …) for the second
 * (PROTOCOL.certkeys; OpenSSH rejects anything else). So a certificate key is a stand-in ParsedKey
 * that ssh2 carries through its auth state machine, and the client's protocol object gets an
 * `authPK` that writes the request for such keys itself (other keys go to ssh2's own code). This
 * reaches into ssh2's protocol internals (`_packetRW`, `_authsQueue`, `_kex`, lib/protocol/utils);
 * test/communicator/certificate.test.ts exercises it against a real sshd.
 */
import { createRequire } from 'node:module';
import type { Client, ParsedKey } from 'ssh2';
import { certAlgorithm, certBaseType, sshString, type UserCertificate } from './certificate.js';

interface CertSigner {
  cert: UserCertificate;
  /** Publickey algorithm name (e.g. `rsa-sha2-256-cert-v01@openssh.com`). */
  algo: string;
  /** Signature format name inside the signature blob (e.g. `rsa-sha2-256`). */
  sigAlgo: string;
  baseType: string;
}

const signers = new WeakMap<object, CertSigner>();

/** A key that ssh2 treats as a private key and that authenticates as `cert`. */
export function certificateKey(key: ParsedKey, cert: UserCertificate): ParsedKey {
  const { algo, sigAlgo, hash } = certAlgorithm(cert.certType);
  const stand = Object.create(key) as ParsedKey;
  // ssh2 picks RSA hash variants by `type` only for `ssh-rsa`; a certificate name opts out of that.
  Object.defineProperty(stand, 'type', { value: algo, enumerable: true });
  Object.defineProperty(stand, 'getPublicSSH', { value: () => cert.blob });
  Object.defineProperty(stand, 'sign', {
    value: (data: Buffer) => key.sign(data, hash),
  });
  signers.set(stand, { cert, algo, sigAlgo, baseType: certBaseType(cert.certType) });
  return stand;
}

const PATCHED = Symbol('kiln.certAuth');

interface ProtocolInternals {
  authPK(username: string, key: unknown, keyAlgo?: unknown, cbSign?: unknown): void;
  _packetRW: { write: { alloc(n: number): Buffer; allocStart: number; finalize(b: Buffer): Buffer } };
  _authsQueue: string[];
  _kex: { sessionID: Buffer };
  [PATCHED]?: boolean;
}

interface Ssh2ProtocolUtils {
  sendPacket(proto: unknown, packet: Buffer): void;
  convertSignature(sig: Buffer, keyType: string): Buffer | false;
}

let utils: Ssh2ProtocolUtils | undefined;

function protocolUtils(): Ssh2ProtocolUtils {
  utils ??= createRequire(import.meta.url)('ssh2/lib/protocol/utils.js') as Ssh2ProtocolUtils;
  return utils;
}

const USERAUTH_REQUEST = 50;

/** Makes `client` send certificate keys correctly; call once its protocol exists (auth time). */
export function enableCertificateAuth(client: Client): void {
  const proto = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
  if (!proto || proto[PATCHED]) return;
  proto[PATCHED] = true;
  const { sendPacket, convertSignature } = protocolUtils();
  const original = proto.authPK;
  const send = (payload: Buffer) => {
    const w = proto._packetRW.write;
    const packet = w.alloc(payload.length);
    payload.copy(packet, w.allocStart);
    sendPacket(proto, w.finalize(packet));
  };
  proto.authPK = function (this: ProtocolInternals, username, key, keyAlgo, cbSign) {
    const signer = signers.get(key as object);
    if (!signer) return original.call(this, username, key, keyAlgo, cbSign);
    const sign = (typeof keyAlgo === 'function' ? keyAlgo : cbSign) as
      ((data: Buffer, cb: (sig: Buffer) => void) => void) | undefined;
    const body = Buffer.concat([
      Buffer.from([USERAUTH_REQUEST]),
      sshString(username),
      sshString('ssh-connection'),
      sshString('publickey'),
      Buffer.from([sign ? 1 : 0]),
      sshString(signer.algo),
      sshString(signer.cert.blob),
    ]);
    if (!sign) {
      this._authsQueue.push('publickey');
      send(body);
      return;
    }
    sign(Buffer.concat([sshString(this._kex.sessionID), body]), (raw) => {
      const sig = convertSignature(raw, signer.baseType);
      if (sig === false) throw new Error('Error while converting handshake signature');
      const blob = Buffer.concat([sshString(signer.sigAlgo), sshString(sig)]);
      this._authsQueue.push('publickey');
      send(Buffer.concat([body, sshString(blob)]));
    });
  };
}
