/**
 * BGZF (blocked gzip, the SAM/BAM container Packer's compress writes for `.bgzf`): the input cut
 * into blocks of at most 65280 bytes, each a complete gzip member whose header carries the `BC`
 * extra subfield holding the member's total size − 1, then the fixed 28-byte empty member that
 * marks end of file. Any gzip reader decompresses it; BGZF readers can seek by block.
 * Blocks are deflated on libuv's thread pool, up to `concurrency` at a time, written in order.
 */
import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { crc32 as jsCrc32 } from './archive.js';

/** node:zlib's native CRC-32 where this Node has it (20.15+), else the table-driven one. */
const crc32: (data: Buffer) => number = (zlib as { crc32?: (data: Buffer) => number }).crc32 ?? jsCrc32;

/** Input bytes per block (biogo's bgzf.BlockSize): keeps even a stored block under 64 KiB. */
export const BGZF_BLOCK_SIZE = 0xff00;
/** Largest member BSIZE can describe. */
export const BGZF_MAX_MEMBER = 0x10000;
/** The end-of-file marker: an empty member with the BC field (from the SAM specification). */
export const BGZF_EOF = Buffer.from('1f8b08040000000000ff0600424302001b0003000000000000000000', 'hex');

function deflate(data: Buffer, level: number, strategy: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zlib.deflateRaw(data, { level, strategy }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

/** One BGZF member for `data` (already deflated as `packed`). */
export function bgzfMember(data: Buffer, packed: Buffer, level: number): Buffer {
  const size = 18 + packed.length + 8;
  if (size > BGZF_MAX_MEMBER)
    throw new Error(
      `bgzf block of ${data.length} bytes deflated to ${packed.length} bytes: too large for one block`,
    );
  const head = Buffer.alloc(18);
  head.writeUInt32LE(0x04088b1f, 0); // ID1 ID2, CM=deflate, FLG=FEXTRA
  head.writeUInt32LE(0, 4); // MTIME unset
  head[8] = level === 9 ? 2 : level === 1 ? 4 : 0; // XFL as Go's gzip writer sets it
  head[9] = 0xff; // OS unknown
  head.writeUInt16LE(6, 10); // XLEN
  head.write('BC', 12, 'latin1');
  head.writeUInt16LE(2, 14); // SLEN
  head.writeUInt16LE(size - 1, 16); // BSIZE
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(crc32(data), 0);
  tail.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, packed, tail]);
}

/** A transform stream turning bytes into BGZF. */
export class BgzfWriter extends Transform {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private readonly inFlight: Promise<Buffer>[] = [];

  constructor(
    private readonly level: number,
    private readonly concurrency: number,
    private readonly strategy: number = zlib.constants.Z_DEFAULT_STRATEGY,
  ) {
    super();
  }

  /** Starts deflating one block; waits for the oldest while too many are in flight. */
  private async submit(block: Buffer): Promise<void> {
    const level = this.level;
    this.inFlight.push(
      deflate(block, level, this.strategy).then((packed) => bgzfMember(block, packed, level)),
    );
    while (this.inFlight.length >= Math.max(1, this.concurrency)) this.push(await this.inFlight.shift());
  }

  private async drainAll(): Promise<void> {
    while (this.inFlight.length) this.push(await this.inFlight.shift());
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    void (async () => {
      let data = chunk;
      while (this.pendingLength + data.length >= BGZF_BLOCK_SIZE) {
        const take = BGZF_BLOCK_SIZE - this.pendingLength;
        const block = Buffer.concat([...this.pending, data.subarray(0, take)], BGZF_BLOCK_SIZE);
        this.pending = [];
        this.pendingLength = 0;
        data = data.subarray(take);
        await this.submit(block);
      }
      if (data.length) {
        this.pending.push(data);
        this.pendingLength += data.length;
      }
    })().then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    void (async () => {
      // Like Packer's writer, the last block is written even when empty, then the EOF marker.
      await this.submit(Buffer.concat(this.pending, this.pendingLength));
      this.pending = [];
      await this.drainAll();
      this.push(BGZF_EOF);
    })().then(() => done(), done);
  }
}
