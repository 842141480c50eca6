/** aws-sdk-go's `awsutil.Prettify` rendering of a request (what 1.6.6 printed with `%v`). */
export function goDump(v: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) return `[${v.map((e) => goDump(e, indent + 2)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{\n\n' + pad + '}';
    const inner = entries.map(([k, x]) => `${pad}  ${k}: ${goDump(x, indent + 2)}`).join(',\n');
    return `{\n${inner}\n${pad}}`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
