import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSteps, runBasic, stepProvision, StepTimings, need, type RunState, type Step, type ProvisionState } from './index.js';
import { RecordingUi } from '../../ui/testing/recording-ui.js';
import type { ProvisionHook } from '../types.js';

interface TState extends RunState {
  log: string[];
}

/** A step that logs its run and cleanup and returns `result` (or throws it). */
function step(name: string, result: 'continue' | 'halt' | Error = 'continue', onRun?: (s: TState) => void): Step<TState> {
  return {
    name,
    async run(s) {
      s.log.push(`run ${name}`);
      onRun?.(s);
      if (result instanceof Error) throw result;
      if (result === 'halt') s.error ??= new Error(`${name} failed`);
      return result;
    },
    async cleanup(s) {
      s.log.push(`cleanup ${name}`);
    },
  };
}

const never = new AbortController().signal;

test('runs every step, then the cleanups in reverse order', async () => {
  const s: TState = { log: [] };
  await runSteps([step('A'), undefined, false, step('B'), step('C')], s, { ui: new RecordingUi(), signal: never });
  assert.deepEqual(s.log, ['run A', 'run B', 'run C', 'cleanup C', 'cleanup B', 'cleanup A']);
  assert.equal(s.halted, undefined);
  assert.equal(s.error, undefined);
});

test('a halting step stops the run and its own cleanup still runs', async () => {
  const s: TState = { log: [] };
  await runSteps([step('A'), step('B', 'halt'), step('C')], s, { ui: new RecordingUi(), signal: never });
  assert.deepEqual(s.log, ['run A', 'run B', 'cleanup B', 'cleanup A']);
  assert.equal(s.halted, true);
  assert.equal(s.error?.message, 'B failed');
});

test('a throwing step halts the run and records the thrown error', async () => {
  const s: TState = { log: [] };
  await runSteps([step('A'), step('B', new Error('boom')), step('C')], s, { ui: new RecordingUi(), signal: never });
  assert.deepEqual(s.log, ['run A', 'run B', 'cleanup B', 'cleanup A']);
  assert.equal(s.error?.message, 'boom');
  assert.equal(s.halted, true);
});

test('an abort during a step stops before the next one and marks the state cancelled', async () => {
  const ctl = new AbortController();
  const s: TState = { log: [] };
  await runSteps([step('A'), step('B', 'continue', () => ctl.abort()), step('C')], s, { ui: new RecordingUi(), signal: ctl.signal });
  assert.deepEqual(s.log, ['run A', 'run B', 'cleanup B', 'cleanup A']);
  assert.equal(s.cancelled, true);
});

test('a throwing cleanup is reported and the other cleanups still run', async () => {
  const ui = new RecordingUi();
  const s: TState = { log: [] };
  const bad: Step<TState> = { name: 'StepBad', run: async () => 'continue', cleanup: async () => Promise.reject(new Error('oops')) };
  await runBasic([step('A'), bad], s, ui, never);
  assert.deepEqual(s.log, ['run A', 'cleanup A']);
  assert.deepEqual(ui.lines(), ['error: Cannot clean up step StepBad: oops']);
});

test('-on-error=abort prints the error once and skips every cleanup', async () => {
  const ui = new RecordingUi();
  const s: TState = { log: [] };
  await runSteps([step('StepConnect'), step('StepProvision', 'halt')], s, { ui, signal: never, onError: 'abort' });
  assert.deepEqual(s.log, ['run StepConnect', 'run StepProvision']);
  assert.deepEqual(ui.lines(), [
    'error: StepProvision failed',
    'error: Step "StepProvision" failed, aborting...',
    'error: aborted: skipping cleanup of step "StepConnect"',
  ]);
});

test('-on-error=abort says "Interrupted, aborting..." after an interrupt', async () => {
  const ctl = new AbortController();
  const ui = new RecordingUi();
  const s: TState = { log: [] };
  await runSteps([step('StepA'), step('StepB', 'continue', () => ctl.abort())], s, { ui, signal: ctl.signal, onError: 'abort' });
  assert.deepEqual(s.log, ['run StepA', 'run StepB']);
  assert.deepEqual(ui.lines(), ['error: Interrupted, aborting...', 'error: aborted: skipping cleanup of step "StepA"']);
});

test('-on-error=abort runs cleanups normally after a successful run', async () => {
  const s: TState = { log: [] };
  await runSteps([step('A'), step('B')], s, { ui: new RecordingUi(), signal: never, onError: 'abort' });
  assert.deepEqual(s.log, ['run A', 'run B', 'cleanup B', 'cleanup A']);
});

test('-on-error=run-cleanup-provisioner still runs the StepProvision cleanup', async () => {
  const ui = new RecordingUi();
  const s: TState = { log: [] };
  await runSteps([step('StepConnect'), step('StepProvision', 'halt')], s, { ui, signal: never, onError: 'run-cleanup-provisioner' });
  assert.deepEqual(s.log, ['run StepConnect', 'run StepProvision', 'cleanup StepProvision']);
  assert.deepEqual(ui.lines(), [
    'error: StepProvision failed',
    'error: Step "StepConnect" failed, aborting...',
  ]);
});

test('-on-error=ask: retry reruns the step, bad input asks again, then clean up', async () => {
  const ui = new RecordingUi(['r', 'x', 'C']);
  const s: TState = { log: [] };
  await runSteps([step('A'), step('StepB', 'halt')], s, { ui, signal: never, onError: 'ask' });
  assert.deepEqual(s.log, ['run A', 'run StepB', 'run StepB', 'cleanup StepB', 'cleanup A']);
  const q = 'ask: [c] Clean up and exit, [a] abort without cleanup, or [r] retry step (build may fail even if retry succeeds)?';
  assert.deepEqual(ui.lines(), [
    'error: StepB failed',
    'say: Step "StepB" failed',
    q,
    'error: StepB failed',
    'say: Step "StepB" failed',
    q,
    'say: Incorrect input: "x"',
    q,
  ]);
});

test('-on-error=ask: abort skips the cleanups like -on-error=abort', async () => {
  const ui = new RecordingUi(['a']);
  const s: TState = { log: [] };
  await runSteps([step('StepA'), step('StepB', 'halt')], s, { ui, signal: never, onError: 'ask' });
  assert.deepEqual(s.log, ['run StepA', 'run StepB']);
  assert.equal(s.aborted, true);
  assert.deepEqual(ui.lines().slice(-2), ['error: Step "StepB" failed, aborting...', 'error: aborted: skipping cleanup of step "StepA"']);
});

test('-on-error=ask without a terminal cleans up', async () => {
  const ui = new RecordingUi();
  const s: TState = { log: [] };
  await runSteps([step('A'), step('B', 'halt')], s, { ui, signal: never, onError: 'ask' });
  assert.deepEqual(s.log, ['run A', 'run B', 'cleanup B', 'cleanup A']);
});

test('-debug pauses after each run and before each cleanup, named after the step', async () => {
  const ui = new RecordingUi(['', '', '', '']);
  const s: TState = { log: [] };
  await runSteps([step('StepConnect'), step('StepProvision')], s, { ui, signal: never, debug: true });
  assert.deepEqual(ui.lines(), [
    "ask: Pausing after run of step 'StepConnect'. Press enter to continue.",
    "ask: Pausing after run of step 'StepProvision'. Press enter to continue.",
    "ask: Pausing before cleanup of step 'StepProvision'. Press enter to continue.",
    "ask: Pausing before cleanup of step 'StepConnect'. Press enter to continue.",
  ]);
  assert.deepEqual(s.log, ['run StepConnect', 'run StepProvision', 'cleanup StepProvision', 'cleanup StepConnect']);
});

test('-debug does not pause after a step that halted', async () => {
  const ui = new RecordingUi();
  const s: TState = { log: [] };
  await runSteps([step('StepA'), step('StepB', 'halt')], s, { ui, signal: never, debug: true });
  assert.deepEqual(ui.lines(), [
    "ask: Pausing after run of step 'StepA'. Press enter to continue.",
    "ask: Pausing before cleanup of step 'StepA'. Press enter to continue.",
  ]);
});

test('step timings record run and cleanup durations per step', async () => {
  const timings = new StepTimings();
  const slow: Step<TState> = {
    name: 'StepSlow',
    run: () => new Promise((r) => setTimeout(() => r('continue'), 20)),
  };
  await runSteps([step('A'), slow], { log: [] }, { ui: new RecordingUi(), signal: never, stepTimings: timings });
  assert.deepEqual(
    timings.rows.map((r) => r.name),
    ['A', 'StepSlow'],
  );
  assert.ok(timings.rows[1].runNs >= 15_000_000n, `StepSlow took ${timings.rows[1].runNs} ns`);
  assert.ok(timings.rows[0].cleanupNs > 0n);
});

test('need names the producer step when a value is missing', () => {
  const s: ProvisionState = {};
  assert.throws(() => need(s, 'communicator', 'StepConnect'), /no 'communicator': StepConnect should have set it/);
});

function fakeHook(fail?: Error, cleanupFail?: Error): ProvisionHook & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async run(_ui, _comm, data) {
      calls.push(`run ID=${data.ID}`);
      if (fail) throw fail;
    },
    async runCleanup() {
      calls.push('cleanup');
      if (cleanupFail) throw cleanupFail;
    },
  };
}

test('StepProvision fills generated data and runs the hook', async () => {
  const hook = fakeHook();
  const s: ProvisionState = { instanceId: 'Null' };
  await runSteps([stepProvision(hook, 'uuid-1')], s, { ui: new RecordingUi(), signal: never });
  assert.deepEqual(hook.calls, ['run ID=Null']);
  assert.equal(s.generatedData?.PackerRunUUID, 'uuid-1');
  assert.equal(s.generatedData?.PackerHTTPAddr, 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER');
  assert.equal(s.generatedData?.Host, undefined);
});

test('StepProvision runs the cleanup provisioner when the build has an error', async () => {
  const hook = fakeHook(new Error('script failed'));
  const ui = new RecordingUi();
  const s: ProvisionState = {};
  await runSteps([stepProvision(hook, 'u')], s, { ui, signal: never });
  assert.deepEqual(hook.calls, ['run ID=ERR_ID_NOT_IMPLEMENTED_BY_BUILDER', 'cleanup']);
  assert.deepEqual(ui.lines(), ['say: Provisioning step had errors: Running the cleanup provisioner, if present...']);
  assert.equal(s.error?.message, 'script failed');
});

test('a failing cleanup provisioner replaces the error with both messages', async () => {
  const hook = fakeHook(new Error('first'), new Error('second'));
  const s: ProvisionState = {};
  await runSteps([stepProvision(hook, 'u')], s, { ui: new RecordingUi(), signal: never });
  assert.equal(s.error?.message, 'Cleanup failed: second. Original Provisioning error: first');
});

test('an interrupted provisioner leaves no error (Packer reports the build as finished)', async () => {
  const ctl = new AbortController();
  const hook: ProvisionHook = {
    run: async () => {
      ctl.abort();
      throw new Error('context canceled');
    },
    runCleanup: async () => undefined,
  };
  const s: ProvisionState = {};
  await runSteps([stepProvision(hook, 'u')], s, { ui: new RecordingUi(), signal: ctl.signal });
  assert.equal(s.error, undefined);
  assert.equal(s.cancelled, true);
});
