/**
 * `kiln validate [-syntax-only] [-var k=v] [-var-file f] [-only a,b] [-except a,b] TEMPLATE`
 * (Packer's command/validate.go): parse, then initialize, create and prepare the selected builds.
 */
import { CoreInitError } from '../../core/errors.js';
import { writeDiagnostics, formatDiagnostic } from '../diagnostics.js';
import type { CliIo } from '../io.js';
import { VAR_FLAGS, UsageExit, cliVars, loadTemplateAndVarFiles, parseCommandFlags } from '../meta.js';
import { commandUi } from '../output.js';
import { parityMode } from '../parity.js';

/** parity: command/validate.go Help() (program name kiln). */
export const VALIDATE_USAGE = `Usage: kiln validate [options] TEMPLATE

  Checks the template is valid by parsing the template and also
  checking the configuration with the various builders, provisioners, etc.

  If it is not valid, the errors will be shown and the command will exit
  with a non-zero exit status. If it is valid, it will exit with a zero
  exit status.

Options:

  -syntax-only           Only check syntax. Do not verify config of the template.
  -except=foo,bar,baz    Validate all builds other than these.
  -only=foo,bar,baz      Validate only these builds.
  -var 'key=value'       Variable for templates, can be used multiple times.
  -var-file=path         JSON or HCL2 file containing user variables. [ Note that even in HCL mode this expects file to contain JSON, a fix is comming soon ]`;

/** Runs `kiln validate`; returns the exit code. */
export async function runValidate(args: string[], io: CliIo): Promise<number> {
  const f = parseCommandFlags(
    args,
    [
      { name: 'syntax-only', kind: 'bool' },
      { name: 'only', kind: 'list' },
      { name: 'except', kind: 'list' },
      ...VAR_FLAGS,
    ],
    VALIDATE_USAGE,
  );
  if (f.args.length !== 1) throw new UsageExit(VALIDATE_USAGE, undefined, 1);
  const ui = commandUi(io);
  const { template, fileVars } = await loadTemplateAndVarFiles(f.args[0], f.lists['var-file'] ?? [], io);
  if (f.bools['syntax-only']) {
    ui.say('Syntax-only check passed. Everything looks okay.'); // parity: command/validate.go
    return 0;
  }
  // Loaded only now: -syntax-only needs neither the core nor the interpolation engine.
  const { initializeCore } = await import('../../core/core.js');
  let core;
  try {
    core = await initializeCore({ template, fileVars, vars: cliVars(f), initTime: io.now(), env: io.env });
  } catch (e) {
    if (!(e instanceof CoreInitError)) throw e;
    ui.error(formatDiagnostic(e.diagnostic));
    return 1;
  }
  const { diagnostics } = await core.createBuilds({ only: f.lists.only ?? [], except: f.lists.except ?? [] });
  const ret = writeDiagnostics(ui, diagnostics);
  if (ret === 0 && !parityMode(io.env)) ui.say('The configuration is valid.');
  return ret;
}
