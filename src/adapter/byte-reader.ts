/**
 * Pull-style reading of a byte stream: lines, single bytes and exact-length payloads, with the
 * stream's own backpressure (nothing is read ahead beyond one chunk).
 */
import type { Readable } from 'node:stream';

export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(input: Readable | AsyncIterable<Buffer>) {
    // A Readable's default iterator destroys the stream when it ends, which for an SSH channel
    // would close it before the exit status is sent.
    const r = input as Readable;
    this.it =
      typeof r.iterator === 'function'
        ? r.iterator({ destroyOnReturn: false })
        : (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Loads one more chunk; false at end of stream. */
  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }

  /** One byte, or undefined at end of stream. */
  async byte(): Promise<number | undefined> {
    while (!this.buf.length) if (!(await this.fill())) return undefined;
    const b = this.buf[0];
    this.buf = this.buf.subarray(1);
    return b;
  }

  /** Bytes up to (not including) the next `\n`; undefined at end of stream (partial lines dropped). */
  async line(max = 64 * 1024): Promise<string | undefined> {
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl >= 0) {
        const s = this.buf.subarray(0, nl).toString('utf8');
        this.buf = this.buf.subarray(nl + 1);
        return s;
      }
      if (this.buf.length > max) throw new Error('protocol line too long');
      if (!(await this.fill())) return undefined;
    }
  }

  /** Yields exactly n bytes in chunks as they arrive; throws if the stream ends first. */
  async *exactly(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!this.buf.length && !(await this.fill())) throw new Error('unexpected end of stream');
      const take = Math.min(left, this.buf.length);
      const piece = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
      yield piece;
    }
  }

  /** Drops whatever is left. */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
