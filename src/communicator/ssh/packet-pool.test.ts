import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'ssh2';
import { poolPackets } from './packet-pool.js';

/** A stand-in for ssh2's cipher: allocPacket sizes the packet and calls Buffer.allocUnsafe once. */
class FakeCipher {
  allocPacket(payloadLen: number): Buffer {
    return Buffer.allocUnsafe(payloadLen + 16);
  }
}

function fakeClient(): { client: Client; proto: { _cipher: FakeCipher } } {
  const proto = { _cipher: new FakeCipher() };
  return { client: { _protocol: proto } as unknown as Client, proto };
}

test('a written packet buffer is reused; one still being written is not', () => {
  const { client, proto } = fakeClient();
  const pool = poolPackets(client);
  assert.ok(pool);
  const a = proto._cipher.allocPacket(32 * 1024);
  const b = proto._cipher.allocPacket(32 * 1024);
  assert.notEqual(a, b);
  const releaseA = pool.releaserFor(a);
  assert.ok(releaseA);
  assert.equal(proto._cipher.allocPacket(32 * 1024) === a, false, 'not reused before its write is done');
  releaseA();
  assert.equal(proto._cipher.allocPacket(32 * 1024), a, 'reused after its write is done');
});

test('small packets and foreign buffers are not pooled; Buffer.allocUnsafe is restored', () => {
  const real = Buffer.allocUnsafe;
  const { client, proto } = fakeClient();
  const pool = poolPackets(client);
  assert.ok(pool);
  const small = proto._cipher.allocPacket(100);
  assert.equal(pool.releaserFor(small), undefined);
  assert.equal(pool.releaserFor(Buffer.alloc(40 * 1024)), undefined);
  assert.equal(pool.releaserFor('text'), undefined);
  assert.equal(Buffer.allocUnsafe, real);
});

test('the cipher that replaces the first one at key exchange is pooled too', () => {
  const { client, proto } = fakeClient();
  const pool = poolPackets(client);
  assert.ok(pool);
  proto._cipher = new FakeCipher(); // what ssh2 does at NEWKEYS
  const a = proto._cipher.allocPacket(20_000);
  const release = pool.releaserFor(a);
  assert.ok(release, 'the new cipher allocates from the pool');
  release();
  assert.equal(proto._cipher.allocPacket(20_000), a);
});

test('without a protocol object (another ssh2 version), nothing is installed', () => {
  assert.equal(poolPackets({} as Client), undefined);
});
