/** `-timestamp-ui` (Packer's packer.TimestampedUi): `<RFC 3339 local time>: ` before each message. */
import type { Ui } from './ui.js';

/** Local time as Go's time.RFC3339 prints it: `2026-11-24T01:17:14Z` or `…T02:17:14+01:00`. */
export function rfc3339Local(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
    `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zone}`
  );
}

/** Packer's TimestampedUi: stamps say/message/error, not ask or machine events. */
export class TimestampedUi implements Ui {
  constructor(
    private readonly inner: Ui,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private stamp(msg: string): string {
    return `${rfc3339Local(this.now())}: ${msg}`;
  }

  say(msg: string): void {
    this.inner.say(this.stamp(msg));
  }

  message(msg: string): void {
    this.inner.message(this.stamp(msg));
  }

  error(msg: string): void {
    this.inner.error(this.stamp(msg));
  }

  machine(type: string, ...data: string[]): void {
    this.inner.machine(type, ...data);
  }

  ask(query: string, signal?: AbortSignal): Promise<string> {
    return this.inner.ask(query, signal);
  }
}
