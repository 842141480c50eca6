/**
 * POSIX shell word handling for the commands ansible sends through the proxy
 * (`scp -t '/home/u/.ansible/tmp/x/AnsiballZ_setup.py'`) and for the commands the proxy sends on.
 */

/** Quotes one word for a POSIX shell: `it's` → `'it'"'"'s'`; safe words are left alone. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Splits a command line into words the way a POSIX shell does for simple words: single quotes,
 * double quotes (with `\` escaping `"`, `\`, `$`, `` ` ``), backslash escapes, whitespace separation.
 * No expansions. Returns undefined for an unterminated quote.
 */
export function shellSplit(line: string): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        const d = line[i];
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) {
          if (line[i + 1] !== '\n') cur += line[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 < line.length) {
        if (line[i + 1] !== '\n') {
          cur += line[i + 1];
          inWord = true;
        }
        i += 2;
      } else {
        i++;
      }
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
