/**
 * Go's time.Duration text forms: `time.ParseDuration` (with Go's exact error texts) and
 * `Duration.String()`. kiln keeps durations as milliseconds (fractions allowed); the parser works in
 * exact int64 nanoseconds like Go and converts at the end.
 */

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const INT64_MAX = (1n << 63n) - 1n;

/** Go's time.quote: `"…"` with `"`/`\` escaped and control or non-ASCII bytes as `\xNN`. */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return `${out}"`;
}

function invalid(orig: string): Error {
  return new Error(`time: invalid duration ${goTimeQuote(orig)}`); // parity:
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * Parses a Go duration string (`"5m"`, `"1h30m"`, `"1.5s"`, `"-300ms"`) into int64 nanoseconds.
 * Throws an Error whose message is Go's exact text, e.g. `time: invalid duration "x"`.
 */
export function parseGoDurationNs(orig: string): bigint {
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid(orig);
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid(orig);
    // Integer part (Go: leadingInt, overflow → invalid).
    let i = 0;
    let v = 0n;
    while (isDigit(s[i])) {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > INT64_MAX) throw invalid(orig);
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // Fraction (Go: leadingFraction; digits beyond int64 precision are dropped).
    let post = false;
    let frac = 0n;
    let scale = 1;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const next = frac * 10n + BigInt(s.charCodeAt(j) - 48);
          if (next > INT64_MAX) overflow = true;
          else {
            frac = next;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid(orig);
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    if (u === 0) throw new Error(`time: missing unit in duration ${goTimeQuote(orig)}`); // parity:
    const unitText = s.slice(0, u);
    s = s.slice(u);
    const unit = NS_PER_UNIT[unitText];
    if (unit === undefined) {
      // parity:
      throw new Error(`time: unknown unit ${goTimeQuote(unitText)} in duration ${goTimeQuote(orig)}`);
    }
    if (v > INT64_MAX / unit) throw invalid(orig);
    v *= unit;
    if (frac > 0n) {
      v += BigInt(Math.trunc(Number(frac) * (Number(unit) / scale)));
      if (v > INT64_MAX) throw invalid(orig);
    }
    total += v;
    if (total > INT64_MAX) throw invalid(orig);
  }
  return neg ? -total : total;
}

/** Parses a Go duration string into milliseconds (fractional for sub-millisecond parts). */
export function parseGoDuration(s: string): number {
  return Number(parseGoDurationNs(s)) / 1e6;
}

/** Go's fmtFrac: the fraction of v/10^prec without trailing zeros (and without '.' when zero). */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let digits = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) digits = digit.toString() + digits;
    v /= 10n;
  }
  return [print ? `.${digits}` : '', v];
}

/** Go's Duration.String() for int64 nanoseconds: `0s`, `300ms`, `1.5s`, `5m0s`, `1h30m0s`. */
export function formatGoDurationNs(ns: bigint): string {
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    if (u === 0n) return '0s';
    let prec: number;
    let unit: string;
    if (u < 1_000n) {
      return `${neg ? '-' : ''}${u}ns`;
    } else if (u < 1_000_000n) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, whole] = fmtFrac(u, prec);
    out = `${whole}${frac}${unit}`;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    u = secs;
    out = `${u % 60n}${frac}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's Duration.String() for a duration in milliseconds (rounded to whole nanoseconds). */
export function formatGoDuration(ms: number): string {
  return formatGoDurationNs(BigInt(Math.round(ms * 1e6)));
}
