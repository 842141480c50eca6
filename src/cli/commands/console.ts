/**
 * `kiln console [-var k=v] [-var-file f] [TEMPLATE]` (Packer's command/console.go, JSON mode):
 * evaluates interpolations with the core context. Piped stdin: every line is evaluated and only
 * the last result printed; interactive: a `> ` prompt until `exit`, EOF or Ctrl-C.
 */
import { fstatSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { initializeCore, type Core } from '../../core/core.js';
import { renderFixedPoint } from '../../interpolate/index.js';
import { writeDiagnostics, type ConsoleDiagnostic } from '../diagnostics.js';
import type { CliIo } from '../io.js';
import { META_FLAGS, cliVars, loadTemplateAndVarFiles, parseCommandFlags } from '../meta.js';
import { commandUi, type CommandUi } from '../output.js';

/** parity: command/console.go Help() (program name kiln). */
export const CONSOLE_USAGE = `Usage: kiln console [options] [TEMPLATE]

  Creates a console for testing variable interpolation.
  If a template is provided, this command will load the template and any
  variables defined therein into its context to be referenced during
  interpolation.

Options:
  -var 'key=value'       Variable for templates, can be used multiple times.
  -var-file=path         JSON or HCL2 file containing user variables. [ Note that even in HCL mode this expects file to contain JSON, a fix is comming soon ]`;

/** parity: packer/core.go consoleJSONHelp */
export const CONSOLE_HELP = `Packer console JSON Mode.
The Packer console allows you to experiment with Packer interpolations.
You may access variables in the Packer config you called the console with.

Type in the interpolation to test and hit <enter> to see the result.

"variables" will dump all available variables and their values.

"{{timestamp}}" will output the timestamp, for example "1559855090".

To exit the console, type "exit" and hit <enter>, or use Control-C.

/!\\ If you would like to start console in hcl2 mode without a config you can
use the --config-type=hcl2 option.`;

/** The result of evaluating one console line. */
export interface Evaluation {
  result: string;
  exit: boolean;
  diagnostics: ConsoleDiagnostic[];
}

/** Packer's Core.EvaluateExpression for JSON templates. */
export function evaluateLine(core: Core, line: string): Evaluation {
  if (line === '') return { result: '', exit: false, diagnostics: [] };
  if (line === 'exit') return { result: '', exit: true, diagnostics: [] };
  if (line === 'help') return { result: CONSOLE_HELP, exit: false, diagnostics: [] };
  if (line === 'variables') {
    let out = '\n';
    for (const [k, v] of Object.entries(core.userVariables).sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      out += `${k}: ${v},\n`;
    }
    return { result: out, exit: false, diagnostics: [] };
  }
  try {
    const result = renderFixedPoint(line, {
      userVariables: core.userVariables,
      initTime: core.initTime,
      templatePath: core.templatePath || undefined,
      data: null,
    });
    return { result, exit: false, diagnostics: [] };
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'InterpolateError') throw e;
    return { result: '', exit: false, diagnostics: [{ summary: 'Interpolation error', detail: e.message }] };
  }
}

/** Runs `kiln console`; returns the exit code. */
export async function runConsole(args: string[], io: CliIo): Promise<number> {
  const f = parseCommandFlags(args, [...META_FLAGS, { name: 'config-type', kind: 'string' }], CONSOLE_USAGE);
  // Packer takes the template only when exactly one argument is left; otherwise its tiny template.
  const path = f.args.length === 1 ? f.args[0] : undefined;
  const ui = commandUi(io);
  const { template, fileVars } = await loadTemplateAndVarFiles(path, f.lists['var-file'] ?? [], io);
  const core = await initializeCore({
    template,
    fileVars,
    vars: cliVars(f),
    initTime: io.now(),
    env: io.env,
    tolerateInitErrors: true,
  });
  // `console -` read the template from stdin: no lines are left to evaluate.
  if (path === '-') {
    ui.message('');
    return 0;
  }
  if (!io.stdin.isTTY && stdinIsPipe(io)) return piped(core, io, ui);
  return interactive(core, io, ui);
}

/** Packer's StdinPiped: stdin is a named pipe (a redirected file is read line by line instead). */
function stdinIsPipe(io: CliIo): boolean {
  if (io.stdin !== process.stdin) return true;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

async function piped(core: Core, io: CliIo, ui: CommandUi): Promise<number> {
  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
  let last = '';
  for await (const line of rl) {
    const ev = evaluateLine(core, line.trim());
    if (ev.diagnostics.length) writeDiagnostics(ui, ev.diagnostics);
    last = ev.result;
  }
  ui.message(last);
  return 0;
}

/** Packer's modeInteractive: a `> ` prompt on a terminal; every result printed, errors boxed. */
async function interactive(core: Core, io: CliIo, ui: CommandUi): Promise<number> {
  const terminal = io.stdin.isTTY === true;
  const rl = createInterface({
    input: io.stdin,
    output: terminal ? (io.stdout as NodeJS.WritableStream) : undefined,
    prompt: '> ',
    terminal,
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      rl.close();
      resolve(0);
    };
    rl.on('SIGINT', () => {
      if (rl.line === '') finish();
      else {
        io.stdout.write('\n');
        rl.write(null, { ctrl: true, name: 'u' });
        rl.prompt();
      }
    });
    rl.on('close', finish);
    rl.on('line', (line) => {
      if (done) return;
      const ev = evaluateLine(core, line);
      writeDiagnostics(ui, ev.diagnostics);
      if (ev.exit) return finish();
      ui.say(ev.result);
      if (terminal) rl.prompt();
    });
    if (terminal) rl.prompt();
  });
}
