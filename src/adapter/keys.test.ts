import { test } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { generateKeyPair } from './keys.js';

test('every generated key loads (ssh2 alone makes a broken ed25519 key about once in 256)', async () => {
  for (const type of ['ed25519', 'ecdsa'] as const) {
    for (let i = 0; i < 300; i++) {
      const k = await generateKeyPair(type);
      const priv = ssh2.utils.parseKey(k.privateKey);
      assert.ok(!(priv instanceof Error), `${type} #${i}: ${String(priv)}\n${k.privateKey}`);
      assert.match(
        k.publicKey,
        type === 'ed25519' ? /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI/ : /^ecdsa-sha2-nistp256 /,
      );
    }
  }
});
