/**
 * `-debug` pauses (Packer's multistep DebugRunner + commonsteps.MultistepDebugFn): after every step
 * a pause step is inserted whose run asks "Pausing after run of step '<Name>'…" and whose cleanup
 * asks "Pausing before cleanup of step '<Name>'…". A failed ask (no TTY) does not pause; an
 * interrupt ends the pause.
 */
import type { Ui } from '../../ui/ui.js';
import { debugLog } from '../../util/log.js';
import type { RunState, Step } from './step.js';

/** Where a debug pause happens. */
export type PauseLocation = 'after run of' | 'before cleanup of';

/** Returns the steps with a pause step after each one. */
export function withDebugPauses<S extends RunState>(steps: Step<S>[]): Step<S>[] {
  const out: Step<S>[] = [];
  for (const step of steps) {
    out.push(step, pauseStep<S>(step.name));
  }
  return out;
}

function pauseStep<S extends RunState>(stepName: string): Step<S> {
  return {
    name: `debug pause after ${stepName}`,
    async run(state, ctx) {
      await debugPause(ctx.ui, 'after run of', stepName, state);
      return 'continue';
    },
    async cleanup(state, ui) {
      await debugPause(ui, 'before cleanup of', stepName, state);
    },
  };
}

/**
 * Asks the user to press enter; returns early when the run is cancelled (checked every 100 ms, like
 * Packer) and ignores ask failures (no TTY, machine-readable UI).
 */
export async function debugPause(ui: Ui, where: PauseLocation, stepName: string, state: RunState): Promise<void> {
  const message = `Pausing ${where} step '${stepName}'. Press enter to continue.`; // parity
  const stop = new AbortController();
  const answered = ui.ask(message, stop.signal).then(
    () => undefined,
    (e: unknown) => debugLog(`Error asking for input: ${(e as Error).message}`),
  );
  let timer: NodeJS.Timeout | undefined;
  const cancelled = new Promise<void>((resolve) => {
    const poll = (): void => {
      if (state.cancelled) resolve();
      else timer = setTimeout(poll, 100);
    };
    poll();
  });
  try {
    await Promise.race([answered, cancelled]);
  } finally {
    if (timer) clearTimeout(timer);
    stop.abort();
  }
}
