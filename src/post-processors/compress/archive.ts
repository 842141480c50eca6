/**
 * Minimal tar (ustar) and zip writers for the compress post-processor, mirroring what Packer
 * writes: one entry per input file, named by its base name, timestamps cleared for reproducible
 * archives, zip entries deflated.
 */
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { deflateRawSync } from 'node:zlib';

/** Something archive bytes are written to (a file, or a gzip stream in front of one). */
export interface ByteSink {
  write(chunk: Buffer): Promise<void>;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header. */
export function tarHeader(name: string, size: number, mode: number, uid: number, gid: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  put(name, 0, 100);
  put(octal(mode & 0o7777, 8), 100, 8);
  put(octal(uid, 8), 108, 8);
  put(octal(gid, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  h.fill(0x20, 148, 156);
  put('0', 156, 1);
  put('ustar\x0000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + ' ', 148, 8);
  return h;
}

/** Writes a tar archive of `files` (base names) to `out`. */
export async function writeTar(files: string[], out: ByteSink): Promise<void> {
  for (const path of files) {
    const st = await fsp.stat(path);
    const name = basename(path);
    if (Buffer.byteLength(name) > 100) throw new Error(`Failed to create tar header for ${path}: name too long`);
    await out.write(tarHeader(name, st.size, st.mode, st.uid, st.gid));
    const handle = await fsp.open(path, 'r');
    try {
      for await (const chunk of handle.createReadStream({ autoClose: false })) await out.write(chunk as Buffer);
    } finally {
      await handle.close();
    }
    const pad = (512 - (st.size % 512)) % 512;
    if (pad) await out.write(Buffer.alloc(pad));
  }
  await out.write(Buffer.alloc(1024));
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of a buffer. */
export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Writes a zip archive of `files` (base names, deflated) to `out`. Each file is read whole. */
export async function writeZip(files: string[], out: ByteSink, level: number): Promise<void> {
  const central: Buffer[] = [];
  let offset = 0;
  for (const path of files) {
    const data = await fsp.readFile(path);
    const st = await fsp.stat(path);
    const name = Buffer.from(basename(path), 'utf8');
    const packed = deflateRawSync(data, { level });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    await out.write(Buffer.concat([local, name, packed]));
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(0x0314, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt16LE(0, 12);
    entry.writeUInt16LE(0x21, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(packed.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(((st.mode & 0xffff) << 16) >>> 0, 38);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, name);
    offset += local.length + name.length + packed.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  await out.write(Buffer.concat([dir, end]));
}
