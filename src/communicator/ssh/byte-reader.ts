/**
 * Pull-style reading over a push-style Readable: single bytes, lines, and exact byte counts. The
 * SCP state machines use it to read the remote side's acks and records.
 */
import type { Readable, Writable } from 'node:stream';

const HIGH_WATER = 8 * 1024 * 1024;

export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private readonly onData = (c: Buffer) => {
    this.chunks.push(c);
    this.buffered += c.length;
    if (this.buffered > HIGH_WATER) this.src.pause();
    this.notify();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (e: Error) => {
    this.failure = e;
    this.notify();
  };

  constructor(private readonly src: Readable) {
    src.on('data', this.onData);
    src.on('end', this.onEnd);
    src.on('close', this.onEnd);
    src.on('error', this.onError);
  }

  /** Stops reading: removes this reader's listeners, pauses the stream, puts unread bytes back. */
  detach(): void {
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.src.off('close', this.onEnd);
    this.src.off('error', this.onError);
    this.src.pause();
    if (this.buffered > 0) this.src.unshift(Buffer.concat(this.chunks));
    this.chunks = [];
    this.buffered = 0;
  }

  private maybeResume(): void {
    if (this.buffered < HIGH_WATER / 4 && this.src.isPaused()) this.src.resume();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until at least n bytes are buffered; false when the stream ended first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.failure) throw this.failure;
      if (this.ended) return false;
      if (this.src.isPaused()) this.src.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return true;
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const head = this.chunks[0];
      const k = Math.min(head.length, n - off);
      head.copy(out, off, 0, k);
      off += k;
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
    }
    this.buffered -= n;
    this.maybeResume();
    return out;
  }

  /** One byte, or undefined at end of stream. */
  async byte(): Promise<number | undefined> {
    if (!(await this.fill(1))) return undefined;
    return this.take(1)[0];
  }

  /** Bytes up to (not including) the next `\n`; undefined at end of stream. */
  async line(): Promise<string | undefined> {
    for (;;) {
      let idx = -1;
      let seen = 0;
      for (const c of this.chunks) {
        const i = c.indexOf(0x0a);
        if (i >= 0) {
          idx = seen + i;
          break;
        }
        seen += c.length;
      }
      if (idx >= 0) {
        const text = this.take(idx + 1).toString('utf8', 0, idx);
        return text;
      }
      if (!(await this.fill(this.buffered + 1))) {
        return this.buffered > 0 ? this.take(this.buffered).toString('utf8') : undefined;
      }
    }
  }

  /** Copies exactly n bytes into out (respecting back-pressure); throws if the stream ends early. */
  async copyTo(n: number, out: Writable): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) {
        throw new Error(`unexpected end of stream with ${left} bytes left`);
      }
      const head = this.chunks[0];
      const k = Math.min(head.length, left);
      const piece = k === head.length ? head : head.subarray(0, k);
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
      this.buffered -= k;
      this.maybeResume();
      left -= k;
      if (!out.write(piece)) await drained(out);
    }
  }
}

/** Resolves when a writable wants more data (or rejects if it fails first). */
export function drained(w: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (e: Error) => done(e);
    const onClose = () => done(new Error('stream closed'));
    w.on('drain', onDrain);
    w.on('error', onError);
    w.on('close', onClose);
  });
}
