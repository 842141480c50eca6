import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certAlgorithm, checkCertificate, parseCertificate, sshString } from './certificate.js';

/** A CA, an ed25519 user key and its certificate valid over `validity` (ssh-keygen -V). */
function makeCert(validity: string): { dir: string; cert: Buffer; pub: Buffer; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-certunit-'));
  for (const k of ['ca', 'user'])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
  execFileSync('ssh-keygen', [
    '-q',
    '-s',
    join(dir, 'ca'),
    '-I',
    'id',
    '-n',
    'u',
    '-V',
    validity,
    join(dir, 'user.pub'),
  ]);
  const path = join(dir, 'user-cert.pub');
  const b64 = readFileSync(join(dir, 'user.pub'), 'utf8').split(' ')[1];
  return { dir, cert: readFileSync(path), pub: Buffer.from(b64, 'base64'), path };
}

test('parses a certificate and finds the certified key', () => {
  const c = makeCert('-1h:+1h');
  try {
    const cert = parseCertificate(c.cert);
    assert.equal(cert.certType, 'ssh-ed25519-cert-v01@openssh.com');
    assert.deepEqual(cert.publicKey, c.pub);
    assert.ok(cert.validBefore > cert.validAfter);
    assert.equal(checkCertificate(c.cert, c.path, c.pub).certType, cert.certType);
  } finally {
    rmSync(c.dir, { recursive: true });
  }
});

test("Packer's errors: no key, plain key, not yet valid, expired, other key", () => {
  const c = makeCert('20300101:20300102');
  try {
    assert.throws(() => parseCertificate('garbage'), {
      message: 'unable to parse public key: ssh: no key found',
    });
    assert.throws(() => parseCertificate(`ssh-ed25519 ${c.pub.toString('base64')} x`), {
      message: 'Error loading certificate',
    });
    assert.throws(() => checkCertificate(c.cert, c.path, c.pub), {
      message: `${c.path} not a valid cert: ssh: cert is not yet valid`,
    });
    const in2031 = Date.UTC(2031, 0, 1);
    assert.throws(() => checkCertificate(c.cert, c.path, c.pub, in2031), {
      message: `${c.path} not a valid cert: ssh: cert has expired`,
    });
    const inside = Date.UTC(2030, 0, 1, 12);
    const other = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32, 7))]);
    assert.throws(() => checkCertificate(c.cert, c.path, other, inside), {
      message: 'failed to create cert signer: ssh: signer and cert have different public key',
    });
  } finally {
    rmSync(c.dir, { recursive: true });
  }
});

test('RSA certificates sign with SHA-2, never SHA-1', () => {
  const rsa = 'ssh-rsa-cert-v01@openssh.com';
  assert.deepEqual(certAlgorithm(rsa), {
    algo: 'rsa-sha2-256-cert-v01@openssh.com',
    sigAlgo: 'rsa-sha2-256',
    hash: 'sha256',
  });
  assert.equal(certAlgorithm(rsa, ['rsa-sha2-512', 'ssh-rsa']).algo, 'rsa-sha2-512-cert-v01@openssh.com');
  assert.equal(certAlgorithm(rsa, ['ssh-rsa']).algo, 'rsa-sha2-256-cert-v01@openssh.com');
  assert.deepEqual(certAlgorithm('ssh-ed25519-cert-v01@openssh.com'), {
    algo: 'ssh-ed25519-cert-v01@openssh.com',
    sigAlgo: 'ssh-ed25519',
  });
});
