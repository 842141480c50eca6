/**
 * `-on-error` as step decorators (Packer's commonsteps/multistep_runner.go): `abort` and
 * `run-cleanup-provisioner` skip cleanups after a failure or interrupt, `ask` offers clean up /
 * abort / retry when a step halts. `cleanup` (the default) leaves steps untouched.
 */
import type { Ui } from '../../ui/ui.js';
import type { OnError } from '../types.js';
import { goQuote } from '../../template/go-quote.js';
import { debugLog } from '../../util/log.js';
import type { RunState, Step, StepResult } from './step.js';

/** The name of the provisioning step, whose cleanup `run-cleanup-provisioner` always runs. */
export const STEP_PROVISION_NAME = 'StepProvision';

/** Per-run memory of the abort decorators (Packer's `abort_step_logged` state key). */
interface AbortLog {
  logged: boolean;
}

/** Applies the `-on-error` mode to every step. */
export function withOnError<S extends RunState>(steps: Step<S>[], mode: OnError): Step<S>[] {
  const log: AbortLog = { logged: false };
  switch (mode) {
    case 'abort':
      return steps.map((s) => abortStep(s, false, log));
    case 'run-cleanup-provisioner':
      return steps.map((s) => abortStep(s, true, log));
    case 'ask':
      return steps.map((s) => askStep(s, log));
    default:
      return steps;
  }
}

/**
 * Decides whether a cleanup may run after an abort (Packer's handleAbortsAndInterupts): the first
 * skipped cleanup prints the error and why it aborts, later ones say they skip.
 */
function shouldCleanUp(state: RunState, ui: Ui, stepName: string, log: AbortLog): boolean {
  const already = log.logged;
  if (state.error && !already) ui.error(state.error.message);
  if (state.cancelled) {
    if (!already) {
      ui.error('Interrupted, aborting...'); // parity: commonsteps/multistep_runner.go
      log.logged = true;
    } else {
      ui.error(`aborted: skipping cleanup of step ${goQuote(stepName)}`); // parity
    }
    return false;
  }
  if (state.halted) {
    if (!already) {
      ui.error(`Step ${goQuote(stepName)} failed, aborting...`); // parity
      log.logged = true;
    } else {
      ui.error(`aborted: skipping cleanup of step ${goQuote(stepName)}`); // parity
    }
    return false;
  }
  return true;
}

function abortStep<S extends RunState>(step: Step<S>, cleanupProv: boolean, log: AbortLog): Step<S> {
  const inner = step;
  return {
    name: inner.name,
    run: (state, ctx) => inner.run(state, ctx),
    async cleanup(state, cleanupUi) {
      if (!(cleanupProv && inner.name === STEP_PROVISION_NAME)) {
        if (!shouldCleanUp(state, cleanupUi, inner.name, log)) return;
      }
      await inner.cleanup?.(state, cleanupUi);
    },
  };
}

type AskAnswer = 'cleanup' | 'abort' | 'retry';

const ASK_QUERY = '[c] Clean up and exit, [a] abort without cleanup, or [r] retry step (build may fail even if retry succeeds)?'; // parity

function askStep<S extends RunState>(step: Step<S>, log: AbortLog): Step<S> {
  const inner = step;
  return {
    name: inner.name,
    async run(state, ctx) {
      for (;;) {
        let result: StepResult;
        try {
          result = await inner.run(state, ctx);
        } catch (e) {
          // A thrown error halts like a recorded one, so the user may still retry.
          state.error ??= e instanceof Error ? e : new Error(String(e));
          result = 'halt';
        }
        if (result !== 'halt') return result;
        if (state.error) ctx.ui.error(state.error.message);
        const answer = await ask(ctx.ui, inner.name, ctx.signal);
        if (answer === 'cleanup') return 'halt';
        if (answer === 'abort') {
          state.aborted = true;
          return 'halt';
        }
        // Retry: like Packer, the recorded error stays, so the build may fail even if the retry succeeds.
      }
    },
    async cleanup(state, cleanupUi) {
      if (state.aborted && !shouldCleanUp(state, cleanupUi, inner.name, log)) return;
      await inner.cleanup?.(state, cleanupUi);
    },
  };
}

async function ask(ui: Ui, stepName: string, signal: AbortSignal): Promise<AskAnswer> {
  ui.say(`Step ${goQuote(stepName)} failed`); // parity
  for (;;) {
    if (signal.aborted) return 'cleanup';
    let line = '';
    try {
      line = await ui.ask(ASK_QUERY, signal);
    } catch (e) {
      if (signal.aborted) return 'cleanup';
      debugLog(`Error asking for input: ${(e as Error).message}`);
    }
    const first = (line.toLowerCase() + 'c')[0];
    if (first === 'c') return 'cleanup';
    if (first === 'a') return 'abort';
    if (first === 'r') return 'retry';
    ui.say(`Incorrect input: ${goQuote(line)}`); // parity
  }
}
