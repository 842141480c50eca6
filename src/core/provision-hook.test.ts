import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProvisionHook } from './provision-hook.js';
import type { CoreProvisioner } from './core.js';
import type { Communicator, ProvisionContext } from './types.js';
import { RecordingUi } from '../ui/testing/recording-ui.js';

function prov(run: (ctx: ProvisionContext) => Promise<void>, over: Partial<CoreProvisioner> = {}): CoreProvisioner {
  return {
    type: 'fake',
    provisioner: { prepare: async () => undefined, provision: run },
    pauseBeforeMs: 0,
    timeoutMs: 0,
    maxRetries: 0,
    raws: [],
    ...over,
  };
}

const comm = {} as Communicator;
const never = new AbortController().signal;

test('without a communicator the hook fails with Packer\'s message (only when there are provisioners)', async () => {
  await createProvisionHook([], undefined, false).run(new RecordingUi(), undefined, {}, never);
  await assert.rejects(
    createProvisionHook([prov(async () => undefined)], undefined, false).run(new RecordingUi(), undefined, {}, never),
    { message: 'No communicator found for provisioners! This is usually because the\n`communicator` config was set to "none". If you have any provisioners\nthen a communicator is required. Please fix this to continue.' },
  );
});

test('provisioners run in order and the first failure stops the rest', async () => {
  const seen: string[] = [];
  const hook = createProvisionHook(
    [prov(async () => void seen.push('one')), prov(async () => Promise.reject(new Error('two failed'))), prov(async () => void seen.push('three'))],
    undefined,
    false,
  );
  await assert.rejects(hook.run(new RecordingUi(), comm, {}, never), /two failed/);
  assert.deepEqual(seen, ['one']);
});

test('max_retries reports the first error and stops at the first success', async () => {
  let n = 0;
  const ui = new RecordingUi();
  const hook = createProvisionHook(
    [prov(async () => (++n < 3 ? Promise.reject(new Error(`fail ${n}`)) : undefined), { maxRetries: 5 })],
    undefined,
    false,
  );
  await hook.run(ui, comm, {}, never);
  assert.equal(n, 3);
  assert.deepEqual(ui.lines(), [
    'say: Provisioner failed with "fail 1", retrying with 5 trie(s) left',
    'say: Provisioner failed with "fail 1", retrying with 4 trie(s) left',
  ]);
});

test('timeout is ignored when pause_before is set (Packer quirk)', async () => {
  const ui = new RecordingUi();
  const hook = createProvisionHook([prov(async () => undefined, { pauseBeforeMs: 1500, timeoutMs: 5 })], undefined, false);
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 20);
  await assert.rejects(hook.run(ui, comm, {}, ctl.signal), /^Error: context canceled$/);
  assert.deepEqual(ui.lines(), ['say: Pausing 1.5s before the next provisioner...']);
});

test('the cleanup provisioner runs with a signal that is never aborted', async () => {
  let aborted: boolean | undefined;
  const hook = createProvisionHook([], prov(async (ctx) => void (aborted = ctx.signal.aborted)), false);
  await hook.runCleanup(new RecordingUi(), comm, {});
  assert.equal(aborted, false);
});
