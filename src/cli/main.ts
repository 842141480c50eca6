/**
 * kiln's process edge (Packer's main.go + mitchellh/cli): argv → command → exit code. The only
 * place that turns errors into text and exit codes, and the only caller of process.exit.
 * Commands are imported lazily from the table, so `kiln validate` loads no build machinery.
 */
import { UserError } from '../util/errors.js';
import type { CliIo, CommandRun } from './io.js';
import { UsageExit } from './usage.js';
import { commandUi } from './output.js';

interface CommandEntry {
  synopsis: string;
  load: () => Promise<CommandRun>;
  hidden?: boolean;
}

type BuildModule = { runBuild?: CommandRun };

/** The command table (Packer's commands.go), in help order. */
const COMMANDS: Record<string, CommandEntry> = {
  build: {
    synopsis: 'build image(s) from template',
    load: async () => {
      let mod: BuildModule;
      try {
        mod = (await import('./commands/build.js' as string)) as BuildModule;
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
        throw new UserError('Cannot run build: the build command is not available in this kiln build');
      }
      if (typeof mod.runBuild !== 'function') {
        throw new UserError('Cannot run build: the build command is not available in this kiln build');
      }
      return mod.runBuild;
    },
  },
  cleanup: { synopsis: 'removes what dead kiln runs left in EC2', load: async () => (await import('./commands/cleanup.js')).runCleanup },
  console: {
    synopsis: 'creates a console for testing variable interpolation',
    load: async () => (await import('./commands/console.js')).runConsole,
  },
  fix: {
    synopsis: 'fixes templates from old versions of packer',
    load: async () => (await import('./commands/fix.js')).runFix,
  },
  inspect: {
    synopsis: 'see components of a template',
    load: async () => (await import('./commands/inspect.js')).runInspect,
  },
  validate: {
    synopsis: 'check that a template is valid',
    load: async () => (await import('./commands/validate.js')).runValidate,
  },
  version: {
    synopsis: 'Prints the kiln version',
    load: async () => (await import('./commands/version.js')).runVersion,
  },
};

/** The top-level usage text (mitchellh/cli's basic help). */
export function mainUsage(): string {
  const names = Object.keys(COMMANDS).filter((n) => !COMMANDS[n].hidden);
  const width = Math.max(...names.map((n) => n.length)) + 4;
  const lines = names.map((n) => `    ${n.padEnd(width)}${COMMANDS[n].synopsis}`);
  return `Usage: kiln [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n${lines.join('\n')}\n`;
}

const HELP_FLAGS = new Set(['-h', '-help', '--help']);
const VERSION_FLAGS = new Set(['-v', '-version', '--version']);

/** Process-level io from the real process. */
export function processIo(machineReadable: boolean): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Lazy: creating process.stdin costs start-up time, and most commands never read it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: safeCwd(),
    machineReadable,
    now: () => new Date(),
  };
}

/** The working directory, or '.' when it no longer exists (process.cwd() throws then). */
function safeCwd(): string {
  try {
    return process.cwd();
  } catch {
    return '.';
  }
}

function debugWanted(env: Record<string, string | undefined>): boolean {
  const on = (v: string | undefined) => v !== undefined && v !== '' && v !== '0';
  return on(env.KILN_DEBUG) || on(env.PACKER_LOG);
}

/**
 * Runs kiln with `argv` (without node and script) against `io`; returns the exit code. Never
 * throws: user errors print their message, anything else a one-line internal error.
 */
export async function run(argv: string[], ioIn?: Partial<CliIo>): Promise<number> {
  const args = [...argv];
  const mr = args.indexOf('-machine-readable');
  if (mr >= 0) args.splice(mr, 1);
  const io = processIo(mr >= 0);
  for (const [k, v] of Object.entries(ioIn ?? {})) {
    Object.defineProperty(io, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  io.machineReadable = mr >= 0;
  try {
    return await dispatch(args, io);
  } catch (e) {
    return reportError(e, io);
  }
}

async function dispatch(args: string[], io: CliIo): Promise<number> {
  // mitchellh/cli: help flags anywhere before `--`; version flags and other flags before the
  // command; the first non-flag argument is the command.
  let isHelp = false;
  let isVersion = false;
  const topFlags: string[] = [];
  let command: string | undefined;
  let commandIndex = -1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (HELP_FLAGS.has(a)) {
      isHelp = true;
      continue;
    }
    if (command === undefined && VERSION_FLAGS.has(a)) {
      isVersion = true;
      continue;
    }
    if (command === undefined && a.startsWith('-')) {
      topFlags.push(a);
      continue;
    }
    if (command === undefined && a !== '') {
      command = a;
      commandIndex = i;
      break;
    }
  }
  if (isVersion) {
    const { versionLine } = await import('./commands/version.js');
    io.stdout.write(versionLine() + '\n');
    return 0;
  }
  if (command === undefined || !Object.prototype.hasOwnProperty.call(COMMANDS, command)) {
    io.stdout.write(mainUsage() + '\n');
    return isHelp && command === undefined && topFlags.length === 0 ? 0 : 127;
  }
  const entry = COMMANDS[command];
  const rest = args.slice(commandIndex + 1);
  const runCommand = await entry.load();
  // Help anywhere, or flags before the command: the command's usage (via its own -h handling).
  const wantHelp = isHelp || topFlags.length > 0;
  const cmdArgs = wantHelp ? ['-h', ...rest] : rest;
  const log = command !== 'build' ? await startLog(io, args) : undefined;
  try {
    return await runWithUsage(runCommand, cmdArgs, io, command, topFlags, isHelp);
  } finally {
    log?.closeLog();
  }
}

/** PACKER_LOG / PACKER_LOG_PATH for the commands that do not set up their own log (build does). */
async function startLog(io: CliIo, args: string[]): Promise<{ closeLog(): void } | undefined> {
  const on = (v: string | undefined) => v !== undefined && v !== '' && v !== '0';
  if (!on(io.env.PACKER_LOG)) return undefined;
  const log = await import('../util/log.js');
  const { maskSecrets } = await import('../template/secrets.js');
  try {
    log.configureLog({ env: io.env, stderr: io.stderr, mask: maskSecrets });
  } catch (e) {
    // parity: main.go
    throw new UserError(`Couldn't setup log output: ${(e as Error).message}`);
  }
  const { KILN_VERSION } = await import('./version-info.js');
  log.debugLog(`[INFO] kiln version: ${KILN_VERSION} [${process.version} ${process.platform} ${process.arch}]`);
  log.debugLog(`[INFO] CLI args: ${JSON.stringify(['kiln', ...args])}`);
  return log;
}

/** Runs a command, turning a UsageExit into its usage text (and flag error) and exit code. */
async function runWithUsage(
  runCommand: CommandRun,
  cmdArgs: string[],
  io: CliIo,
  command: string,
  topFlags: string[],
  isHelp: boolean,
): Promise<number> {
  try {
    return await runCommand(cmdArgs, io);
  } catch (e) {
    if (e instanceof UsageExit) {
      if (topFlags.length > 0 && !isHelp) {
        // parity: mitchellh/cli
        io.stdout.write('Invalid flags before the subcommand. If these flags are for\nthe subcommand, please put them after the subcommand.\n\n');
        io.stdout.write(e.usage + '\n');
        return 1;
      }
      // Packer prints the flag error asynchronously: recorded runs show it after the usage for
      // validate and build, before it for inspect, console and fix.
      const messageFirst = command === 'inspect' || command === 'console' || command === 'fix';
      if (e.flagMessage && messageFirst) io.stdout.write(e.flagMessage + '\n');
      io.stdout.write(e.usage + '\n');
      if (e.flagMessage && !messageFirst) io.stdout.write(e.flagMessage + '\n');
      return e.exitCode;
    }
    throw e;
  }
}

function reportError(e: unknown, io: CliIo): number {
  if (e instanceof UserError) {
    // Packer prints its errors through Ui.Error: on stdout (spec §0.3).
    commandUi(io).error(e.message);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  io.stderr.write(`kiln: internal error: ${err.message.split('\n')[0]}\n`);
  io.stderr.write('This is a bug in kiln; please report it with the command you ran. Set KILN_DEBUG=1 to see the stack trace.\n');
  if (debugWanted(io.env) && err.stack) io.stderr.write(err.stack + '\n');
  return 1;
}

/** The entry point bin/kiln calls: runs kiln and exits the process with its exit code. */
export async function main(argv: string[]): Promise<void> {
  // A failure outside the command's promise chain is still a kiln bug: one line, no stack trace.
  const fatal = (e: unknown) => {
    const code = reportError(e, processIo(false));
    process.exit(code === 0 ? 1 : code);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const code = await run(argv);
  process.stdout.write('', () => process.exit(code));
}
