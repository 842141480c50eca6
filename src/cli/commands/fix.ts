/**
 * `kiln fix [-validate=true] TEMPLATE` (Packer's command/fix.go): runs the JSON fixers in order,
 * prints the fixed template (sorted keys, 2-space indent), then parses and validates it.
 */
import { readFile } from 'node:fs/promises';
import { FIXERS, FixError, fixTemplate, formatFixedJson } from '../../fix/index.js';
import { decodeGoJson, GoJsonError } from '../../template/go-json.js';
import { parseTemplate } from '../../template/parse.js';
import { templateProblems } from '../../template/validate.js';
import { goMultiError } from '../../util/errors.js';
import type { CliIo } from '../io.js';
import { UsageExit, parseCommandFlags } from '../meta.js';
import { commandUi } from '../output.js';

/** The usage text, with the fixers in order (parity: command/fix.go Help()). */
export function fixUsage(): string {
  const width = Math.max(0, ...FIXERS.map((f) => f.name.length));
  const lines = FIXERS.map((f) => `  ${f.name.padEnd(width)} ${f.synopsis}`);
  return `Usage: kiln fix [options] TEMPLATE

  Reads the JSON template and attempts to fix known backwards
  incompatibilities. The fixed template will be outputted to standard out.

  If the template cannot be fixed due to an error, the command will exit
  with a non-zero exit status. Error messages will appear on standard error.

Fixes that are run (in order):

${lines.join('\n')}

Options:

  -validate=true      If true (default), validates the fixed template.`;
}

const TAIL = '\n\nThis is usually caused by an error in the input template.\nPlease fix the error and try again.';

/** Runs `kiln fix`; returns the exit code. */
export async function runFix(args: string[], io: CliIo): Promise<number> {
  const f = parseCommandFlags(args, [{ name: 'validate', kind: 'bool' }], fixUsage());
  if (f.args.length !== 1) throw new UsageExit(fixUsage(), undefined, 1);
  const ui = commandUi(io);
  const path = f.args[0];
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    ui.error(`Error opening template: open ${path}: ${why}`); // parity: command/fix.go
    return 1;
  }
  let data: unknown;
  try {
    data = decodeGoJson(text, { firstValueOnly: true }).value;
  } catch (e) {
    if (!(e instanceof GoJsonError)) throw e;
    ui.error(`Error parsing template: ${e.goMessage}`); // parity: command/fix.go
    return 1;
  }
  let fixed: unknown;
  try {
    fixed = fixTemplate(data);
  } catch (e) {
    if (!(e instanceof FixError)) throw e;
    ui.error(e.message);
    return 1;
  }
  const result = formatFixedJson(fixed);
  ui.say(result + '\n');
  if (f.bools.validate === false) return 0;
  let problems: string[];
  try {
    problems = templateProblems(parseTemplate(result));
  } catch (e) {
    if (!(e instanceof Error) || !('detail' in e)) throw e;
    ui.error(`Error! Fixed template fails to parse: ${(e as { detail: string }).detail}${TAIL}`); // parity:
    return 1;
  }
  if (problems.length) {
    ui.error(`Error! Fixed template failed to validate: ${goMultiError(problems)}${TAIL}`); // parity:
    return 1;
  }
  return 0;
}
