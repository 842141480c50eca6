/**
 * The step runner (Packer's multistep BasicRunner plus commonsteps.NewRunner): runs steps in order,
 * registers a step's cleanup as soon as its run has started, stops on halt, throw or interrupt, and
 * runs the registered cleanups in reverse order. `-on-error` and `-debug` are step decorators
 * (on-error.ts, debug.ts) applied by `runSteps`.
 */
import type { Ui } from '../../ui/ui.js';
import type { OnError } from '../types.js';
import { debugLog } from '../../util/log.js';
import { stopwatch } from '../../util/durafmt.js';
import { toError, type RunState, type Step } from './step.js';
import { withOnError } from './on-error.js';
import { withDebugPauses } from './debug.js';
import type { StepTimings } from './timings.js';

/** Options of `runSteps`: the build's UI and signal plus the `-on-error`/`-debug` settings. */
export interface RunStepsOptions {
  ui: Ui;
  signal: AbortSignal;
  /** `-on-error` (default `cleanup`). */
  onError?: OnError;
  /** `-debug`: pause after each step and before each cleanup. */
  debug?: boolean;
  /** Where to record how long each step took (BuildContext.stepTimings). */
  stepTimings?: StepTimings;
}

/** A step list as builders write it: conditional entries may be `undefined` or `false`. */
export type StepList<S extends RunState> = ReadonlyArray<Step<S> | undefined | false | null>;

/**
 * Runs a builder's steps with the `-on-error` and `-debug` decorators of Packer's common runner.
 * Resolves when every cleanup has run; the outcome is in `state` (`error`, `halted`, `cancelled`).
 */
export async function runSteps<S extends RunState>(steps: StepList<S>, state: S, opts: RunStepsOptions): Promise<void> {
  let list = steps.filter((s): s is Step<S> => Boolean(s));
  if (opts.stepTimings) list = list.map((s) => timed(s, opts.stepTimings as StepTimings));
  list = withOnError(list, opts.onError ?? 'cleanup');
  if (opts.debug) list = withDebugPauses(list);
  await runBasic(list, state, opts.ui, opts.signal);
}

/**
 * Packer's BasicRunner: no decorators. A step that throws halts the run with the error recorded in
 * `state.error` (unless a step already recorded one); a cleanup that throws is reported with
 * `ui.error` and the remaining cleanups still run.
 */
export async function runBasic<S extends RunState>(
  steps: ReadonlyArray<Step<S>>,
  state: S,
  ui: Ui,
  signal: AbortSignal,
): Promise<void> {
  const onAbort = (): void => {
    state.cancelled = true;
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const started: Step<S>[] = [];
  try {
    for (const step of steps) {
      if (signal.aborted) {
        state.cancelled = true;
        break;
      }
      started.push(step);
      debugLog(`[INFO] Running step ${step.name}`);
      let result: 'continue' | 'halt';
      try {
        result = await step.run(state, { ui, signal });
      } catch (e) {
        const err = toError(e);
        debugLog(`[ERROR] Step ${step.name} failed: ${err.stack ?? err.message}`);
        state.error ??= err;
        result = 'halt';
      }
      if (state.cancelled) break;
      if (result === 'halt') {
        debugLog('[INFO] Halt requested by current step');
        state.halted = true;
        break;
      }
    }
  } finally {
    for (const step of started.reverse()) {
      if (!step.cleanup) continue;
      debugLog(`[INFO] Cleaning up step ${step.name}`);
      try {
        await step.cleanup(state, ui);
      } catch (e) {
        const err = toError(e);
        debugLog(`[ERROR] Cleanup of step ${step.name} failed: ${err.stack ?? err.message}`);
        ui.error(`Cannot clean up step ${step.name}: ${err.message}`);
      }
    }
    signal.removeEventListener('abort', onAbort);
  }
}

/** Wraps a step so that its run and cleanup durations are recorded under its name. */
function timed<S extends RunState>(step: Step<S>, timings: StepTimings): Step<S> {
  const inner = step;
  return {
    name: inner.name,
    async run(state, ctx) {
      const elapsed = stopwatch();
      try {
        return await inner.run(state, ctx);
      } finally {
        timings.record(inner.name, 'run', elapsed());
      }
    },
    cleanup: inner.cleanup
      ? async (state, ui) => {
          const elapsed = stopwatch();
          try {
            await inner.cleanup?.(state, ui);
          } finally {
            timings.record(inner.name, 'cleanup', elapsed());
          }
        }
      : undefined,
  };
}
