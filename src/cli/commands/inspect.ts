/**
 * `kiln inspect [-var k=v] [-var-file f] [TEMPLATE]` (Packer's command/inspect.go and
 * CoreWrapper.InspectConfig): variables, builders and provisioners of a template; initialization
 * errors are ignored.
 */
import { initializeCore } from '../../core/core.js';
import type { Template } from '../../template/types.js';
import type { CliIo } from '../io.js';
import { META_FLAGS, cliVars, loadTemplateAndVarFiles, parseCommandFlags } from '../meta.js';
import { commandUi, type CommandUi } from '../output.js';

/** parity: command/inspect.go Help() (program name kiln). */
export const INSPECT_USAGE = `Usage: kiln inspect TEMPLATE

  Inspects a template, parsing and outputting the components a template
  defines. This does not validate the contents of a template (other than
  basic syntax by necessity).

Options:

  -machine-readable  Machine-readable output`;

/** Runs `kiln inspect`; returns the exit code. */
export async function runInspect(args: string[], io: CliIo): Promise<number> {
  const f = parseCommandFlags(args, META_FLAGS, INSPECT_USAGE);
  // Packer takes the template only when exactly one argument is left; otherwise its tiny template.
  const path = f.args.length === 1 ? f.args[0] : undefined;
  const ui = commandUi(io);
  const { template, fileVars } = await loadTemplateAndVarFiles(path, f.lists['var-file'] ?? [], io);
  // Initialization errors are ignored (unset required variables are fine here).
  await initializeCore({ template, fileVars, vars: cliVars(f), initTime: io.now(), env: io.env, tolerateInitErrors: true });
  printInspect(template, ui);
  return 0;
}

/** The defaults as inspect shows them: equal to a sensitive variable's default → `<sensitive>`. */
function maskedDefaults(t: Template): Map<string, string> {
  const defaults = new Map([...t.variables.values()].map((v) => [v.key, v.default]));
  const sensitive = t.sensitiveVariables.filter((n) => t.variables.has(n));
  // Packer compares against the sensitive variables themselves, which it has already masked.
  for (const k of [...defaults.keys()].sort()) {
    for (const s of sensitive) {
      if (defaults.get(s) === defaults.get(k)) defaults.set(k, '<sensitive>');
    }
  }
  return defaults;
}

/** Go's len(): names are padded by bytes, not characters. */
const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Prints Packer's inspect layout through `ui` (spec §4.4). */
export function printInspect(t: Template, ui: CommandUi): void {
  // parity: command/core_wrapper.go InspectConfig
  ui.say('Packer Inspect: JSON mode');
  if (t.description !== '') {
    ui.say('Description:\n');
    ui.say(t.description + '\n');
  }
  if (t.variables.size === 0) {
    ui.say('Variables:\n');
    ui.say('  <No variables>');
  } else {
    const defaults = maskedDefaults(t);
    const keys = [...t.variables.keys()].sort();
    const required = keys.filter((k) => t.variables.get(k)?.required);
    if (required.length) {
      ui.say('Required variables:\n');
      for (const k of required) {
        ui.machine('template-variable', k, defaults.get(k) ?? '', '1');
        ui.say('  ' + k);
      }
      ui.say('');
    }
    ui.say('Optional variables and their defaults:\n');
    const max = Math.max(...keys.map(byteLength));
    for (const k of keys) {
      if (t.variables.get(k)?.required) continue;
      const d = defaults.get(k) ?? '';
      ui.machine('template-variable', k, d, '0');
      ui.say(`  ${k}${' '.repeat(max - byteLength(k))} = ${d}`);
    }
  }
  ui.say('');
  ui.say('Builders:\n');
  if (t.builders.size === 0) ui.say('  <No builders>');
  else {
    const names = [...t.builders.keys()].sort();
    const max = Math.max(...names.map(byteLength));
    for (const n of names) {
      const b = t.builders.get(n);
      if (!b) continue;
      let line = `  ${n}${' '.repeat(max - byteLength(n))}`;
      if (b.name !== b.type) line += ` (${b.type})`;
      ui.machine('template-builder', n, b.type);
      ui.say(line);
    }
  }
  ui.say('');
  ui.say('Provisioners:\n');
  if (t.provisioners.length === 0) ui.say('  <No provisioners>');
  for (const p of t.provisioners) {
    ui.machine('template-provisioner', p.type);
    ui.say(`  ${p.type}`);
  }
  ui.say(
    "\nNote: If your build names contain user variables or template\nfunctions such as 'timestamp', these are processed at build time,\nand therefore only show in their raw form here.",
  );
}
