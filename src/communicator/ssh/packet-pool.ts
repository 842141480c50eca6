/**
 * Reuse of ssh2's outgoing packet buffers. ssh2 allocates every SSH packet afresh (a bulk upload:
 * one ~32 KiB buffer per packet, 8 000 for 256 MiB); glibc hands that memory back to the kernel
 * and takes it again, and on virtual machines the page faults cost as much CPU as the encryption.
 * Here the cipher's `allocPacket` takes packet-sized buffers from a small pool, and a buffer goes
 * back to the pool once the socket has written it (the write callback): no buffer is reused while
 * anything can still read it. Reaches into ssh2's protocol object (`_cipher`, replaced at each key
 * exchange); without it, ssh2 simply allocates as before.
 */
import type { Client } from 'ssh2';

/** Only large packets are pooled (bulk data); small ones come from Node's own buffer pool anyway. */
const MIN_POOLED = 16 * 1024;
const MAX_PER_SIZE = 64;
const WRAPPED = Symbol('kiln.packetPool');

type Cipher = { allocPacket?: (len: number) => Buffer; [WRAPPED]?: boolean };

export interface PacketPool {
  /** The write callback for `chunk` if it is a pooled packet (returns it to the pool), else undefined. */
  releaserFor(chunk: unknown): (() => void) | undefined;
}

/** Installs the pool on `client`'s protocol; call right after `client.connect()`. */
export function poolPackets(client: Client): PacketPool | undefined {
  const proto = (client as unknown as { _protocol?: { _cipher?: Cipher } })._protocol;
  if (!proto || !('_cipher' in proto)) return undefined;
  const free = new Map<number, Buffer[]>();
  const owned = new WeakSet<Buffer>();
  const realAllocUnsafe = Buffer.allocUnsafe;
  const take = (size: number): Buffer => {
    if (size < MIN_POOLED) return realAllocUnsafe(size);
    const b = free.get(size)?.pop();
    if (b) return b;
    const fresh = Buffer.allocUnsafeSlow(size);
    owned.add(fresh);
    return fresh;
  };
  const wrap = (cipher: Cipher | undefined) => {
    if (!cipher || typeof cipher.allocPacket !== 'function' || cipher[WRAPPED]) return;
    const alloc = cipher.allocPacket;
    cipher[WRAPPED] = true;
    cipher.allocPacket = function (this: Cipher, len: number): Buffer {
      // allocPacket sizes the packet (padding, MAC) and calls Buffer.allocUnsafe once, synchronously.
      Buffer.allocUnsafe = take as typeof Buffer.allocUnsafe;
      try {
        return alloc.call(this, len);
      } finally {
        Buffer.allocUnsafe = realAllocUnsafe;
      }
    };
  };
  let current = proto._cipher;
  wrap(current);
  Object.defineProperty(proto, '_cipher', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (c: Cipher) => {
      current = c;
      wrap(c);
    },
  });
  return {
    releaserFor(chunk) {
      if (!Buffer.isBuffer(chunk) || !owned.has(chunk)) return undefined;
      return () => {
        let list = free.get(chunk.length);
        if (!list) free.set(chunk.length, (list = []));
        if (list.length < MAX_PER_SIZE) list.push(chunk);
      };
    },
  };
}
