/**
 * Reading answers from the terminal for `Ui.ask` (Packer's BasicUi reads the controlling TTY, not
 * stdin). Opened lazily at the first question: stdin when it is a TTY, else `/dev/tty`, else none.
 */
import { openSync, closeSync } from 'node:fs';
import { ReadStream } from 'node:tty';

/** A source of typed lines. */
export interface LineReader {
  /** Resolves with the next line (without the newline); rejects when `signal` aborts. */
  readLine(signal?: AbortSignal): Promise<string>;
  /** Releases the terminal. */
  close(): void;
}

/** The parts of a stdin stream `openTty` looks at. */
export interface MaybeTtyInput {
  isTTY?: boolean;
}

/**
 * Opens a line reader on the terminal: `stdin` if it is a TTY stream, else (when `devTty`)
 * `/dev/tty`; undefined when there is no terminal (the UI then fails asks with `no available tty`).
 */
export function openTty(stdin?: MaybeTtyInput & NodeJS.ReadableStream, devTty = true): LineReader | undefined {
  if (stdin?.isTTY) return new StreamLineReader(stdin, () => undefined);
  if (!devTty) return undefined;
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r');
  } catch {
    return undefined;
  }
  let stream: ReadStream;
  try {
    stream = new ReadStream(fd);
  } catch {
    closeSync(fd);
    return undefined;
  }
  return new StreamLineReader(stream, () => stream.destroy());
}

/** Reads lines from any readable stream (also used by tests with a PassThrough). */
export class StreamLineReader implements LineReader {
  private buffer = '';

  constructor(
    private readonly stream: NodeJS.ReadableStream,
    private readonly onClose: () => void = () => undefined,
  ) {}

  readLine(signal?: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const take = (): boolean => {
        const nl = this.buffer.indexOf('\n');
        if (nl < 0) return false;
        const line = this.buffer.slice(0, nl).replace(/\r$/, '');
        this.buffer = this.buffer.slice(nl + 1);
        finish();
        resolve(line);
        return true;
      };
      const onData = (chunk: Buffer | string): void => {
        this.buffer += chunk.toString();
        take();
      };
      const onEnd = (): void => {
        finish();
        reject(new Error('EOF'));
      };
      const onAbort = (): void => {
        finish();
        reject(new Error('interrupted'));
      };
      const finish = (): void => {
        this.stream.removeListener('data', onData);
        this.stream.removeListener('end', onEnd);
        signal?.removeEventListener('abort', onAbort);
        this.stream.pause();
        (this.stream as { unref?: () => void }).unref?.();
      };
      if (take()) return;
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.stream.on('data', onData);
      this.stream.on('end', onEnd);
      (this.stream as { ref?: () => void }).ref?.();
      this.stream.resume();
    });
  }

  close(): void {
    this.onClose();
  }
}
