/**
 * The step contract of kiln's builders (Packer's multistep.Step) with a typed state object instead
 * of a string-keyed bag. A builder is a literal list of steps; `runSteps` (runner.ts) runs them.
 */
import type { Ui } from '../../ui/ui.js';
import { InternalError } from '../../util/errors.js';

/** What `Step.run` tells the runner: go on with the next step, or stop and clean up. */
export type StepResult = 'continue' | 'halt';

/** The flags every step state carries (Packer's `error`, `halted`, `cancelled` state keys). */
export interface RunState {
  /** The error that failed the build. The builder returns it; set it before returning 'halt'. */
  error?: Error;
  /** Set by the runner when a step returned 'halt' (or threw). */
  halted?: boolean;
  /** Set by the runner as soon as the run's signal is aborted. */
  cancelled?: boolean;
  /** Set by the `-on-error=ask` decorator when the user chose "abort". */
  aborted?: boolean;
}

/** What a running step may use besides its state. */
export interface StepContext {
  ui: Ui;
  /** Aborted on Ctrl-C/SIGTERM (or a provisioner timeout); steps stop their work when it fires. */
  signal: AbortSignal;
}

/**
 * One step of a build. `run` continues or halts; a thrown error halts the run and is recorded in
 * `state.error`. `cleanup` runs (in reverse order) for every step whose `run` started, also after a
 * halt, a throw or an interrupt; it gets no signal (it must finish after Ctrl-C) and must not
 * throw — it reports problems through the UI.
 */
export interface Step<S extends RunState = RunState> {
  /** Packer's step name as printed in messages, e.g. `StepConnect`, `StepProvision`. */
  readonly name: string;
  run(state: S, ctx: StepContext): Promise<StepResult>;
  cleanup?(state: S, ui: Ui): Promise<void>;
}

/**
 * Reads a value an earlier step must have produced; when it is missing, throws an InternalError
 * naming the producer, which is a bug report rather than `undefined is not a function`.
 */
export function need<S extends object, K extends keyof S>(state: S, key: K, producer: string): NonNullable<S[K]> {
  const v = state[key];
  if (v === undefined || v === null) {
    throw new InternalError(`Step state has no '${String(key)}': ${producer} should have set it`);
  }
  return v as NonNullable<S[K]>;
}

/** Turns anything thrown into an Error (a thrown string or object keeps its text). */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : String(e));
}
