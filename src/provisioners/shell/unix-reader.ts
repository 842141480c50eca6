/**
 * Line-ending normalisation of uploaded scripts unless `binary` (Packer's UnixReader, spec §6.3):
 * every line (split on `\n`, a trailing `\r` dropped) is re-emitted with `\n`, so CRLF becomes LF
 * and the result always ends with a newline. A line over 64 KiB fails, as Go's bufio.Scanner does.
 */
const MAX_LINE = 64 * 1024;

export function toUnixLines(input: Buffer): Buffer {
  const out: Buffer[] = [];
  const NL = Buffer.from('\n');
  let start = 0;
  while (start < input.length) {
    let end = input.indexOf(0x0a, start);
    const next = end < 0 ? input.length : end + 1;
    if (end < 0) end = input.length;
    if (next - start > MAX_LINE) throw new Error('bufio.Scanner: token too long'); // parity:
    let line = input.subarray(start, end);
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    out.push(line, NL);
    start = next;
  }
  return Buffer.concat(out);
}
