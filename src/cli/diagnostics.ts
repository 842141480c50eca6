/**
 * Packer's diagnostic box (HCL's text writer, spec §4.2): `<Severity>: <summary>\n\n<detail
 * wrapped at 80 columns>\n\n`, printed through Ui.Error (errors) or Ui.Say (warnings).
 */
import type { Diagnostic } from '../core/errors.js';
import type { CommandUi } from './output.js';

const isSpace = (c: string): boolean => /^\s$/u.test(c) || c === '\u0085';

/** mitchellh/go-wordwrap WrapString: breaks between words past `lim` bytes; long words stay whole. */
export function wrapString(s: string, lim: number): string {
  let buf = '';
  let current = 0;
  let word = '';
  let space = '';
  const blen = (x: string) => Buffer.byteLength(x, 'utf8');
  for (const ch of s) {
    if (ch === '\n') {
      if (word.length === 0) {
        if (current + blen(space) <= lim) buf += space;
        space = '';
      } else {
        buf += space + word;
        space = '';
        word = '';
      }
      buf += ch;
      current = 0;
    } else if (isSpace(ch)) {
      if (space.length === 0 || word.length > 0) {
        current += blen(space) + blen(word);
        buf += space + word;
        space = '';
        word = '';
      }
      space += ch;
    } else {
      word += ch;
      if (current + blen(space) + blen(word) > lim && blen(word) < lim) {
        buf += '\n';
        current = 0;
        space = '';
      }
    }
  }
  if (word.length === 0) {
    if (current + blen(space) <= lim) buf += space;
  } else {
    buf += space + word;
  }
  return buf;
}

/** A diagnostic without severity (printed `???????: `), as `console` creates them. */
export interface ConsoleDiagnostic {
  severity?: undefined;
  summary: string;
  detail: string;
}

/** The box text of one diagnostic (without the UI's final newline). */
export function formatDiagnostic(d: Diagnostic | ConsoleDiagnostic): string {
  const sev = d.severity === 'error' ? 'Error' : d.severity === 'warning' ? 'Warning' : '???????';
  let out = `${sev}: ${d.summary}\n\n`;
  if (d.detail !== '') out += `${wrapString(d.detail, 80)}\n\n`;
  return out;
}

/**
 * Prints diagnostics like Packer's writeDiags: all boxes in one message, through Ui.Error when any
 * is an error (returns 1), else through Ui.Say (returns 0).
 */
export function writeDiagnostics(ui: CommandUi, diags: Array<Diagnostic | ConsoleDiagnostic>): number {
  const text = diags.map((d) => formatDiagnostic(d)).join('');
  if (text === '') return 0;
  if (diags.some((d) => d.severity === 'error')) {
    ui.error(text);
    return 1;
  }
  ui.say(text);
  return 0;
}
