/**
 * `min_packer_version` (spec §1.11) with hashicorp/go-version semantics: optional `v`, one or more
 * numeric segments (padded to three), prerelease and metadata; canonical String() form in messages.
 */

/** A parsed go-version version. */
export interface GoVersion {
  segments: number[];
  pre: string;
  metadata: string;
}

const VERSION_RE =
  /^v?([0-9]+(\.[0-9]+)*?)(-([0-9]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)|(-?([A-Za-z\-~]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)))?(\+([0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*))?$/;

/** Parses like go-version's NewVersion; throws Error(`Malformed version: <v>`). */
export function parseGoVersion(v: string): GoVersion {
  const m = VERSION_RE.exec(v);
  if (!m) throw new Error(`Malformed version: ${v}`); // parity: go-version
  const segments = m[1].split('.').map((s) => Number(s));
  if (segments.some((n) => !Number.isSafeInteger(n))) throw new Error(`Error parsing version: ${v}`);
  while (segments.length < 3) segments.push(0);
  return { segments, pre: m[7] ?? m[4] ?? '', metadata: m[10] ?? '' };
}

/** go-version's Version.String(). */
export function formatGoVersion(v: GoVersion): string {
  let s = v.segments.join('.');
  if (v.pre) s += `-${v.pre}`;
  if (v.metadata) s += `+${v.metadata}`;
  return s;
}

function comparePrePart(a: string, b: string): number {
  const an = /^[0-9]+$/.test(a);
  const bn = /^[0-9]+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** go-version Compare: -1, 0 or 1. */
export function compareGoVersions(a: GoVersion, b: GoVersion): number {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const d = (a.segments[i] ?? 0) - (b.segments[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (a.pre === b.pre) return 0;
  if (!a.pre) return 1;
  if (!b.pre) return -1;
  const ap = a.pre.split('.');
  const bp = b.pre.split('.');
  for (let i = 0; i < Math.max(ap.length, bp.length); i++) {
    if (ap[i] === undefined) return -1;
    if (bp[i] === undefined) return 1;
    const c = comparePrePart(ap[i], bp[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** Packer's min-version check: undefined when satisfied (or unset), else the error text. */
export function checkMinVersion(minVersion: string, coreVersion: string): string | undefined {
  if (!minVersion) return undefined;
  const actual = parseGoVersion(coreVersion);
  let min: GoVersion;
  try {
    min = parseGoVersion(minVersion);
  } catch (e) {
    return `min_version is invalid: ${(e as Error).message}`; // parity: packer/core.go
  }
  if (compareGoVersions(actual, min) < 0) {
    // parity: packer/core.go
    return `This template requires Packer version ${formatGoVersion(min)} or higher; using ${formatGoVersion(actual)}`;
  }
  return undefined;
}
