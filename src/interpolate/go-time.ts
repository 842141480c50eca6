/**
 * Go's time.Format with reference-time layouts (`Mon Jan 2 15:04:05 MST 2006`), always in UTC:
 * `MST` prints `UTC`, `Z07:00` prints `Z`, `-0700` prints `+0000`. Fractions come from the
 * millisecond clock (digits past the third are zero).
 */

const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const longMonths = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

const startsWithLower = (s: string): boolean => s.length > 0 && s[0] >= 'a' && s[0] <= 'z';
const isDigit = (s: string, i: number): boolean => i < s.length && s[i] >= '0' && s[i] <= '9';

/** The next layout token: [literal prefix, token, rest]; token '' at the end. */
function nextChunk(layout: string): [string, string, string] {
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    const at = (s: string): boolean => layout.startsWith(s, i);
    const tok = (len: number, name = layout.slice(i, i + len)): [string, string, string] => [
      layout.slice(0, i),
      name,
      layout.slice(i + len),
    ];
    switch (c) {
      case 'J':
        if (at('Jan')) {
          if (at('January')) return tok(7);
          if (!startsWithLower(layout.slice(i + 3))) return tok(3);
        }
        break;
      case 'M':
        if (at('Mon')) {
          if (at('Monday')) return tok(6);
          if (!startsWithLower(layout.slice(i + 3))) return tok(3);
        }
        if (at('MST')) return tok(3);
        break;
      case '0':
        if (i + 1 < layout.length && layout[i + 1] >= '1' && layout[i + 1] <= '6') return tok(2);
        if (at('002')) return tok(3);
        break;
      case '1':
        if (at('15')) return tok(2);
        return tok(1);
      case '2':
        if (at('2006')) return tok(4);
        return tok(1);
      case '_':
        if (at('_2')) {
          if (at('_2006')) return [layout.slice(0, i + 1), '2006', layout.slice(i + 5)];
          return tok(2);
        }
        if (at('__2')) return tok(3);
        break;
      case '3':
      case '4':
      case '5':
        return tok(1);
      case 'P':
        if (at('PM')) return tok(2);
        break;
      case 'p':
        if (at('pm')) return tok(2);
        break;
      case '-':
      case 'Z':
        for (const z of ['070000', '07:00:00', '0700', '07:00', '07'])
          if (at(c + z)) return tok(z.length + 1);
        break;
      case '.':
      case ',':
        if (i + 1 < layout.length && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
          const ch = layout[i + 1];
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigit(layout, j)) return tok(j - i);
        }
        break;
    }
  }
  return [layout, '', ''];
}

const pad = (n: number, w: number, ch = '0'): string => String(n).padStart(w, ch);

/** time.Time.Format for `date` in UTC. */
export function formatGoTime(date: Date, layout: string): string {
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const day = date.getUTCDate();
  const hour = date.getUTCHours();
  const min = date.getUTCMinutes();
  const sec = date.getUTCSeconds();
  const ms = date.getUTCMilliseconds();
  const yday = Math.floor((Date.UTC(year, month, day) - Date.UTC(year, 0, 1)) / 86400000) + 1;
  let out = '';
  let rest = layout;
  while (rest !== '') {
    const [prefix, token, after] = nextChunk(rest);
    out += prefix;
    rest = after;
    if (token === '') break;
    switch (token) {
      case '06':
        out += pad(year % 100, 2);
        break;
      case '2006':
        out += pad(year, 4);
        break;
      case 'Jan':
        out += longMonths[month].slice(0, 3);
        break;
      case 'January':
        out += longMonths[month];
        break;
      case '1':
        out += month + 1;
        break;
      case '01':
        out += pad(month + 1, 2);
        break;
      case 'Mon':
        out += longDays[date.getUTCDay()].slice(0, 3);
        break;
      case 'Monday':
        out += longDays[date.getUTCDay()];
        break;
      case '2':
        out += day;
        break;
      case '_2':
        out += pad(day, 2, ' ');
        break;
      case '02':
        out += pad(day, 2);
        break;
      case '__2':
        out += pad(yday, 3, ' ');
        break;
      case '002':
        out += pad(yday, 3);
        break;
      case '15':
        out += pad(hour, 2);
        break;
      case '3':
        out += hour % 12 === 0 ? 12 : hour % 12;
        break;
      case '03':
        out += pad(hour % 12 === 0 ? 12 : hour % 12, 2);
        break;
      case '4':
        out += min;
        break;
      case '04':
        out += pad(min, 2);
        break;
      case '5':
        out += sec;
        break;
      case '05':
        out += pad(sec, 2);
        break;
      case 'PM':
        out += hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += hour >= 12 ? 'pm' : 'am';
        break;
      case 'MST':
        out += 'UTC';
        break;
      default:
        if (token[0] === 'Z') out += 'Z';
        else if (token[0] === '-') out += '+' + token.slice(1).replace(/\d/g, '0');
        else {
          // fractional seconds: .000 keeps every digit, .999 trims trailing zeros
          const digits = (pad(ms, 3) + '000000').slice(0, token.length - 1);
          if (token[1] === '0') out += token[0] + digits;
          else {
            const trimmed = digits.replace(/0+$/, '');
            if (trimmed !== '') out += token[0] + trimmed;
          }
        }
    }
  }
  return out;
}

/** Go's time.RFC3339 layout. */
export const RFC3339 = '2006-01-02T15:04:05Z07:00';
