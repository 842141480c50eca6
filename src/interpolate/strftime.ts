/**
 * C-style strftime as Packer's `strftime` function (jehiah/go-strftime): the supported specifiers
 * are `%a %A %b %B %d %H %I %L %m %M %p %S %y %Y %z %Z %%`; any other `%x` is copied literally and
 * a trailing lone `%` stays `%`. Always UTC.
 */
import { formatGoTime } from './go-time.js';

const conversion: Record<string, string> = {
  a: 'Mon',
  A: 'Monday',
  b: 'Jan',
  B: 'January',
  d: '02',
  H: '15',
  I: '03',
  L: '.000',
  m: '01',
  M: '04',
  p: 'PM',
  S: '05',
  y: '06',
  Y: '2006',
  z: '-0700',
  Z: 'MST',
};

export function strftime(date: Date, fmt: string): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    if (i + 1 >= fmt.length) {
      out += '%';
      break;
    }
    const spec = fmt[++i];
    if (spec === '%') out += '%';
    else if (spec in conversion) out += formatGoTime(date, conversion[spec]);
    else out += '%' + spec;
  }
  return out;
}
