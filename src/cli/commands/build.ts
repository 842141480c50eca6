/**
 * `kiln build [options] TEMPLATE` (Packer's command/build.go + command/signal.go): prepares the
 * selected builds, runs them (in parallel up to -parallel-builds), handles SIGINT/SIGTERM, and
 * prints Packer's sequence: colour lines, per-build results, `==> Wait completed after …`, the error
 * summary and the artifact list. Beyond Packer: a table of step durations after each build.
 */
import { setMaxListeners } from 'node:events';
import { initializeCore, type CoreBuild } from '../../core/core.js';
import { CoreInitError } from '../../core/errors.js';
import { runCoreBuild, type BuildOutcome } from '../../core/build-run.js';
import type { Artifact, OnError } from '../../core/types.js';
import type { Ui } from '../../ui/ui.js';
import { BasicUi } from '../../ui/basic.js';
import { MachineReadableUi } from '../../ui/machine.js';
import { openTty, type LineReader } from '../../ui/tty.js';
import { buildUi, targetUi } from '../../ui/compose.js';
import { clearSecrets, maskSecrets } from '../../template/secrets.js';
import { formatDuration, stopwatch } from '../../util/durafmt.js';
import { closeLog, configureLog, debugLog, logEnabled } from '../../util/log.js';
import { formatDiagnostic, writeDiagnostics } from '../diagnostics.js';
import type { CliIo } from '../io.js';
import { VAR_FLAGS, UsageExit, cliVars, loadTemplateAndVarFiles, parseCommandFlags } from '../meta.js';
import { parityMode } from '../parity.js';
import { formatStepTable } from './build-steps.js';

/** parity: command/build.go Help() (program name kiln). */
export const BUILD_USAGE = `Usage: kiln build [options] TEMPLATE

  Will execute multiple builds in parallel as defined in the template.
  The various artifacts created by the template will be outputted.

Options:

  -color=false                  Disable color output. (Default: color)
  -debug                        Debug mode enabled for builds.
  -except=foo,bar,baz           Run all builds and post-processors other than these.
  -only=foo,bar,baz             Build only the specified builds.
  -force                        Force a build to continue if artifacts exist, deletes existing artifacts.
  -machine-readable             Produce machine-readable output.
  -on-error=[cleanup|abort|ask|run-cleanup-provisioner] If the build fails do: clean up (default), abort, ask, or run-cleanup-provisioner.
  -parallel-builds=1            Number of builds to run in parallel. 1 disables parallelization. 0 means no limit (Default: 0)
  -timestamp-ui                 Enable prefixing of each ui output with an RFC3339 timestamp.
  -var 'key=value'              Variable for templates, can be used multiple times.
  -var-file=path                JSON or HCL2 file containing user variables.`;

const ON_ERROR_VALUES = ['cleanup', 'abort', 'ask', 'run-cleanup-provisioner'];

/** Where SIGINT/SIGTERM come from (the process; tests pass an EventEmitter). */
export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  removeListener(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

/** Extra knobs of `runBuild` (tests). */
export interface BuildCommandOptions {
  signals?: SignalSource;
  /** Opens the terminal for `ask` (default: stdin if a TTY, else /dev/tty). */
  tty?: () => LineReader | undefined;
}

interface BuildFlags {
  color: boolean;
  debug: boolean;
  force: boolean;
  onError: OnError;
  parallel: number;
  timestamp: boolean;
  only: string[];
  except: string[];
}

/** Runs `kiln build`; returns the exit code. Flag problems throw UsageExit (main prints usage). */
export async function runBuild(args: string[], io: CliIo, opts: BuildCommandOptions = {}): Promise<number> {
  // -machine-readable may still be here when runBuild is called directly.
  const mrIndex = args.findIndex((a) => a === '-machine-readable' || a === '--machine-readable');
  const machine = io.machineReadable || mrIndex >= 0;
  if (mrIndex >= 0) args = [...args.slice(0, mrIndex), ...args.slice(mrIndex + 1)];
  const f = parseCommandFlags(
    args,
    [
      { name: 'color', kind: 'bool' },
      { name: 'debug', kind: 'bool' },
      { name: 'force', kind: 'bool' },
      { name: 'timestamp-ui', kind: 'bool' },
      { name: 'on-error', kind: 'enum', values: ON_ERROR_VALUES },
      { name: 'parallel-builds', kind: 'int' },
      { name: 'only', kind: 'list' },
      { name: 'except', kind: 'list' },
      ...VAR_FLAGS,
    ],
    BUILD_USAGE,
  );
  if (f.args.length !== 1) throw new UsageExit(BUILD_USAGE, undefined, 1);
  const flags: BuildFlags = {
    color: f.bools.color ?? true,
    debug: f.bools.debug ?? false,
    force: f.bools.force ?? false,
    onError: (f.strings['on-error'] || 'cleanup') as OnError,
    parallel: f.ints['parallel-builds'] ?? 0,
    timestamp: f.bools['timestamp-ui'] ?? false,
    only: f.lists.only ?? [],
    except: f.lists.except ?? [],
  };

  clearSecrets();
  const ownLog = !logEnabled();
  if (ownLog) {
    try {
      configureLog({ env: io.env, stderr: io.stderr, mask: maskSecrets });
    } catch (e) {
      io.stderr.write(`Couldn't setup log output: ${(e as Error).message}\n`); // parity: main.go
      return 1;
    }
  }
  const basic = machine
    ? new MachineReadableUi({ out: io.stdout, mask: maskSecrets, now: io.now })
    : new BasicUi({
        out: io.stdout,
        mask: maskSecrets,
        // The controlling terminal is consulted only by the real process, not with a test's stdin.
        tty: opts.tty ?? (() => openTty(io.stdin, io.stdin === process.stdin)),
      });
  const signals = opts.signals ?? process;
  const ctl = new AbortController();
  // Every build (and each of its waits) listens on this one signal: no listener limit, so ten or more
  // builds at once do not print Node's MaxListenersExceededWarning.
  setMaxListeners(0, ctl.signal);
  let interrupted = false;
  const onSignal = (name: string) => (): void => {
    if (interrupted) return; // parity: later signals are swallowed
    interrupted = true;
    if (basic instanceof BasicUi) basic.interrupt(); // a pending question ends first, as in Packer
    basic.error(`Cancelling build after receiving ${name}`); // parity: command/signal.go
    ctl.abort();
  };
  const onInt = onSignal('interrupt');
  const onTerm = onSignal('terminated');
  signals.on('SIGINT', onInt);
  signals.on('SIGTERM', onTerm);
  try {
    return await build(f.args[0], flags, cliVars(f), f.lists['var-file'] ?? [], io, basic, machine, ctl.signal);
  } finally {
    signals.removeListener('SIGINT', onInt);
    signals.removeListener('SIGTERM', onTerm);
    if (basic instanceof BasicUi) basic.close();
    if (ownLog) closeLog();
  }
}

async function build(
  templatePath: string,
  flags: BuildFlags,
  vars: Array<[string, string]>,
  varFiles: string[],
  io: CliIo,
  ui: Ui,
  machine: boolean,
  signal: AbortSignal,
): Promise<number> {
  const { template, fileVars } = await loadTemplateAndVarFiles(templatePath, varFiles, io);
  let core;
  try {
    core = await initializeCore({ template, fileVars, vars, initTime: io.now(), env: io.env });
  } catch (e) {
    if (!(e instanceof CoreInitError)) throw e;
    ui.error(formatDiagnostic(e.diagnostic));
    return 1;
  }
  const { builds, diagnostics } = await core.createBuilds({
    only: flags.only,
    except: flags.except,
    debug: flags.debug,
    force: flags.force,
    onError: flags.onError,
  });
  let ret = writeDiagnostics(ui, diagnostics);
  if (flags.debug) ui.say('Debug mode enabled. Builds will not be parallelized.'); // parity

  const colorSupported = !io.env.PACKER_NO_COLOR && !machine;
  const uis = builds.map((b, index) => {
    const bui = buildUi(ui, { index, color: flags.color && !machine, colorSupported, timestamp: flags.timestamp });
    if (flags.color && !machine) {
      bui.say(`${b.name}: output will be in this color.`); // parity
      if (index === builds.length - 1) ui.say('');
    }
    return bui;
  });

  const showSteps = !machine && !parityMode(io.env);
  const results = await runAll(builds, uis, flags, signal, showSteps);

  ui.say(`\n==> Wait completed after ${formatDuration(results.elapsedNs)}`); // parity
  if (signal.aborted) {
    ui.say('Cleanly cancelled builds after being interrupted.'); // parity
    return 1;
  }
  const errored = [...results.errors.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (errored.length) {
    ui.machine('error-count', String(errored.length));
    ui.error("\n==> Some builds didn't complete successfully and had errors:"); // parity
    for (const [name, err] of errored) {
      targetUi(ui, name).machine('error', err.message);
      ui.error(`--> ${name}: ${err.message}`);
    }
    ret = 1;
  }
  printArtifacts(ui, results.artifacts);
  return ret;
}

interface RunResults {
  errors: Map<string, Error>;
  artifacts: Map<string, Artifact[]>;
  elapsedNs: bigint;
}

/** Runs the builds with at most `-parallel-builds` at once (one at a time with -debug). */
async function runAll(builds: CoreBuild[], uis: Ui[], flags: BuildFlags, signal: AbortSignal, showSteps: boolean): Promise<RunResults> {
  const elapsed = stopwatch();
  const errors = new Map<string, Error>();
  const artifacts = new Map<string, Artifact[]>();
  const limit = flags.parallel < 1 ? Infinity : flags.parallel;
  const running = new Set<Promise<void>>();
  for (const [i, b] of builds.entries()) {
    if (signal.aborted) {
      debugLog('Interrupted, not going to start any more builds.');
      break;
    }
    if (running.size >= limit && !(await waitForSlot(running, limit, signal))) {
      const err = new Error('context canceled');
      uis[i].error(`Build '${b.name}' failed to acquire semaphore: ${err.message}`); // parity
      errors.set(b.name, err);
      break;
    }
    const run = runOne(b, uis[i], signal, showSteps).then((outcome) => {
      if (outcome.error) errors.set(b.name, outcome.error);
      else if (outcome.artifacts.length) artifacts.set(b.name, outcome.artifacts);
    });
    const tracked: Promise<void> = run.finally(() => running.delete(tracked));
    running.add(tracked);
    if (flags.debug || flags.parallel === 1) await tracked;
  }
  debugLog('Waiting on builds to complete...');
  await Promise.all(running);
  return { errors, artifacts, elapsedNs: elapsed() };
}

async function waitForSlot(running: Set<Promise<void>>, limit: number, signal: AbortSignal): Promise<boolean> {
  while (running.size >= limit) {
    if (signal.aborted) return false;
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([...running, aborted]);
  }
  return true;
}

async function runOne(b: CoreBuild, ui: Ui, signal: AbortSignal, showSteps: boolean): Promise<BuildOutcome> {
  debugLog(`Starting build run: ${b.name}`);
  const elapsed = stopwatch();
  const outcome = await runCoreBuild(b, ui, signal);
  const took = formatDuration(elapsed());
  if (showSteps && outcome.timings.rows.length) {
    const tui = targetUi(ui, b.name);
    const [head, ...rows] = formatStepTable(outcome.timings);
    tui.say(head);
    tui.message(rows.join('\n'));
  }
  if (outcome.error) {
    debugLog(`Build '${b.name}' error: ${outcome.error.stack ?? outcome.error.message}`);
    ui.error(`Build '${b.name}' errored after ${took}: ${outcome.error.message}`); // parity
  } else {
    ui.say(`Build '${b.name}' finished after ${took}.`); // parity
  }
  return outcome;
}

function printArtifacts(ui: Ui, all: Map<string, Artifact[]>): void {
  if (all.size === 0) {
    ui.say('\n==> Builds finished but no artifacts were created.'); // parity
    return;
  }
  ui.say('\n==> Builds finished. The artifacts of successful builds are:'); // parity
  for (const [name, artifacts] of [...all.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const mui = targetUi(ui, name);
    mui.machine('artifact-count', String(artifacts.length));
    for (const [i, a] of artifacts.entries()) {
      const idx = String(i);
      mui.machine('artifact', idx, 'builder-id', a.builderId);
      mui.machine('artifact', idx, 'id', a.id);
      mui.machine('artifact', idx, 'string', a.toString());
      mui.machine('artifact', idx, 'files-count', String(a.files.length));
      for (const [fi, file] of a.files.entries()) mui.machine('artifact', idx, 'file', String(fi), file);
      mui.machine('artifact', idx, 'end');
      ui.say(`--> ${name}: ${a.toString()}`);
    }
  }
}
