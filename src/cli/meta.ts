/**
 * What several commands share (Packer's command/meta.go): usage errors, the -var/-var-file flags,
 * reading the template (a path, or `-` for stdin) and the var files in Packer's order.
 */
import { resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { parseTemplate, parseTemplateFile } from '../template/parse.js';
import { readVarFiles } from '../template/var-files.js';
import type { Template } from '../template/types.js';
import { FlagError, HelpRequested, parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
import type { CliIo } from './io.js';
import { UsageExit } from './usage.js';

export { UsageExit };

/** The template used when none is given (Packer's TiniestBuilder). */
export const TINIEST_TEMPLATE = '{"builders":[{"type":"null","communicator":"none"}]}';

/** Flags every template command takes. */
export const VAR_FLAGS: FlagSpec[] = [
  { name: 'var', kind: 'kv' },
  { name: 'var-file', kind: 'strings' },
];

/** Packer's MetaArgs flags (every template command accepts them; inspect and console ignore -only/-except). */
export const META_FLAGS: FlagSpec[] = [
  ...VAR_FLAGS,
  { name: 'only', kind: 'list' },
  { name: 'except', kind: 'list' },
];

/** Parses a command's flags; a flag error or -h becomes a UsageExit. */
export function parseCommandFlags(args: string[], specs: FlagSpec[], usage: string): ParsedFlags {
  try {
    return parseFlags(args, specs);
  } catch (e) {
    if (e instanceof HelpRequested) throw new UsageExit(usage, undefined, 0);
    if (e instanceof FlagError) throw new UsageExit(usage, e.message, 1);
    throw e;
  }
}

/** The -var pairs of parsed flags (command-line order). */
export function cliVars(f: ParsedFlags): Array<[string, string]> {
  return f.kvs.var ?? [];
}

async function readStdin(io: CliIo): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

/**
 * Reads and parses the template (`-` = stdin, template_dir = the working directory; undefined =
 * Packer's tiny one-null-builder template), then checks
 * the var files can be read, as Packer does right after parsing. Throws UserError.
 */
export async function loadTemplateAndVarFiles(
  path: string | undefined,
  varFiles: string[],
  io: CliIo,
): Promise<{ template: Template; fileVars: Record<string, string> }> {
  let template: Template;
  if (path === undefined) {
    template = parseTemplate(TINIEST_TEMPLATE);
  } else if (path === '-') {
    template = parseTemplate(await readStdin(io));
    template.path = resolve(io.cwd, 'stdin.json');
  } else {
    if (path.endsWith('.pkr.hcl') || path.endsWith('.pkr.json')) {
      throw new UserError(`Cannot read ${path}: kiln supports legacy JSON templates only, not HCL2`);
    }
    template = await parseTemplateFile(path);
  }
  const fileVars = await readVarFiles(varFiles);
  return { template, fileVars };
}
