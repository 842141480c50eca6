/** The amazon builders' `clean_resource_name` template function (spec §A.0). */

const KEEP = /[A-Za-z0-9()[\] ./\-'@_]/;

/** Replaces every byte outside `[A-Za-z0-9()[\] ./\-'@_]` with `-` (a multi-byte character gives several). */
export function cleanResourceName(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && KEEP.test(c) ? c : '-';
  }
  return out;
}
