/**
 * Float formatting as Go's strconv/fmt do it: shortest round-trip digits for %v/%g, exact
 * half-to-even rounding for explicit precisions (%e %f %g), and Go's hex float form (%x).
 */

interface Digits {
  d: string; // significant digits without trailing zeros ('' for zero)
  dp: number; // decimal point position: value = 0.d × 10^dp
}

/** The exact decimal expansion of |x| (a finite double): digits without leading zeros, and dp. */
function exactDigits(x: number): Digits {
  const a = Math.abs(x);
  if (a === 0) return { d: '', dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, a);
  const bits = buf.getBigUint64(0);
  const bexp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e2: number;
  if (bexp === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  let digits: string;
  let dp: number;
  if (e2 >= 0) {
    digits = (mant << BigInt(e2)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e2)).toString();
    dp = digits.length + e2;
  }
  return { d: digits.replace(/0+$/, ''), dp };
}

/** Rounds exact digits to `nd` significant digits, half to even (Go's decimal rounding). */
function roundDigits(dg: Digits, nd: number): Digits {
  if (nd < 0) return { d: '', dp: dg.dp };
  if (dg.d.length <= nd) return dg;
  const keep = dg.d.slice(0, nd);
  const next = dg.d[nd];
  const tail = dg.d.slice(nd + 1);
  const lastOdd = nd > 0 && Number(keep[nd - 1]) % 2 === 1;
  const up = next > '5' || (next === '5' && (/[1-9]/.test(tail) || lastOdd));
  if (!up) return { d: keep.replace(/0+$/, ''), dp: dg.dp };
  if (nd === 0) return { d: '1', dp: dg.dp + 1 };
  const inc = (BigInt(keep) + 1n).toString();
  if (inc.length > keep.length) return { d: inc.replace(/0+$/, ''), dp: dg.dp + 1 };
  return { d: inc.replace(/0+$/, ''), dp: dg.dp };
}

/** Significant digits of |x|: shortest round-trip when `sig` is undefined, else rounded to `sig`. */
function digitsOf(x: number, sig?: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  if (sig === undefined) {
    const [mant, exp] = Math.abs(x).toExponential().split('e');
    return { d: mant.replace('.', '').replace(/0+$/, ''), dp: Number(exp) + 1 };
  }
  return roundDigits(exactDigits(x), Math.max(sig, 1));
}

function expStr(e: number): string {
  const a = Math.abs(e);
  return (e < 0 ? '-' : '+') + (a < 10 ? '0' + a : String(a));
}

/** %e with `prec` decimals (prec < 0: shortest). */
export function fmtE(x: number, prec: number, e: string): string {
  const dg = digitsOf(x, prec < 0 ? undefined : prec + 1);
  let d = dg.d || '0';
  const exp = dg.d ? dg.dp - 1 : 0;
  if (prec >= 0) d = d.padEnd(prec + 1, '0');
  const mant = d.length > 1 ? d[0] + '.' + d.slice(1) : d;
  return mant + e + expStr(exp);
}

/** %f with `prec` decimals (prec < 0: shortest). */
export function fmtF(x: number, prec: number): string {
  const dg = prec < 0 ? digitsOf(x) : roundDigits(exactDigits(x), exactDigits(x).dp + prec);
  if (!dg.d) return prec > 0 ? '0.' + '0'.repeat(prec) : '0';
  const intPart = dg.dp <= 0 ? '0' : dg.d.slice(0, dg.dp) + '0'.repeat(Math.max(dg.dp - dg.d.length, 0));
  let frac = dg.dp >= 0 ? dg.d.slice(dg.dp) : '0'.repeat(-dg.dp) + dg.d;
  if (prec >= 0) frac = frac.padEnd(prec, '0');
  return frac ? intPart + '.' + frac : intPart;
}

/** %g with `prec` significant digits (prec < 0: shortest, as %v uses). */
export function fmtG(x: number, prec: number, e: string): string {
  if (prec === 0) prec = 1;
  const dg = digitsOf(Math.abs(x), prec < 0 ? undefined : prec);
  const nd = dg.d.length;
  let eprec = prec < 0 ? 6 : prec;
  if (prec >= 0 && eprec > nd && nd >= dg.dp) eprec = nd;
  if (prec < 0) eprec = 6;
  const exp = dg.dp - 1;
  if (dg.d && (exp < -4 || exp >= eprec)) {
    const d = dg.d;
    const mant = d.length > 1 ? d[0] + '.' + d.slice(1) : d;
    return mant + e + expStr(exp);
  }
  if (!dg.d) return '0';
  return fmtF(Math.abs(x), Math.max(nd - dg.dp, 0));
}

/** %x / %X of a float: Go's hexadecimal mantissa-and-exponent form, e.g. 0x1.cp+01. */
export function fmtHexFloat(x: number, prec: number, upper: boolean): string {
  const a = Math.abs(x);
  let exp = 0;
  let mant = 0;
  if (a !== 0) {
    exp = Math.floor(Math.log2(a));
    mant = a / 2 ** exp;
    if (mant >= 2) [mant, exp] = [mant / 2, exp + 1];
    if (mant < 1) [mant, exp] = [mant * 2, exp - 1];
  }
  let frac = '';
  let f = mant - Math.floor(mant);
  for (let i = 0; i < 13 && f > 0; i++) {
    f *= 16;
    const d = Math.floor(f);
    frac += d.toString(16);
    f -= d;
  }
  if (prec >= 0) {
    if (frac.length > prec) {
      const scaled = Math.round(parseInt('1' + frac.slice(0, prec + 1), 16) / 16);
      let h = scaled.toString(16);
      if (h.length > prec + 1) {
        mant = 1;
        exp++;
        h = '1' + '0'.repeat(prec);
      }
      frac = h.slice(1);
    } else frac = frac.padEnd(prec, '0');
  }
  const e = Math.abs(exp);
  let s = `0x${Math.floor(mant)}${frac ? '.' + frac : ''}p${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
  if (upper) s = s.toUpperCase();
  return s;
}
