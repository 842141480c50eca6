/**
 * The provisioner hook of a build (Packer's ProvisionHook + the wrappers of packer/provisioner.go
 * and provisioner_timeout.go): `pause_before`, `timeout` (only without `pause_before`),
 * `max_retries`, and the `-debug` pause before each provisioner, with Packer's messages.
 */
import type { Ui } from '../ui/ui.js';
import type { Communicator, GeneratedData, ProvisionHook } from './types.js';
import type { CoreProvisioner } from './core.js';
import { formatGoDuration } from '../util/go-duration.js';
import { goQuote } from '../template/go-quote.js';
import { debugLog } from '../util/log.js';

/** What a wrapped provisioner runs with (ProvisionContext minus the communicator check). */
interface RunArgs {
  ui: Ui;
  comm: Communicator;
  data: GeneratedData;
  signal: AbortSignal;
}

type Provision = (args: RunArgs) => Promise<void>;

/** Go's `context canceled` error, returned by the wrappers when the run is interrupted. */
export function contextCanceled(): Error {
  return new Error('context canceled'); // parity: context.Canceled
}

// parity: packer/provisioner.go ProvisionHook.Run
const NO_COMMUNICATOR =
  'No communicator found for provisioners! This is usually because the\n' +
  '`communicator` config was set to "none". If you have any provisioners\n' +
  'then a communicator is required. Please fix this to continue.';

/** Creates the hook a builder's StepProvision runs: the build's provisioners, then (on error) the cleanup one. */
export function createProvisionHook(provisioners: CoreProvisioner[], cleanup: CoreProvisioner | undefined, debug: boolean): ProvisionHook {
  const wrapped = provisioners.map((p) => wrapProvisioner(p, debug));
  return {
    async run(ui, comm, data, signal) {
      if (wrapped.length === 0) return;
      if (!comm) throw new Error(NO_COMMUNICATOR);
      for (const provision of wrapped) await provision({ ui, comm, data, signal });
    },
    async runCleanup(ui, comm, data) {
      if (!cleanup) return;
      if (!comm) throw new Error(NO_COMMUNICATOR);
      await cleanup.provisioner.provision({ ui, comm, data, signal: new AbortController().signal });
    },
  };
}

/** Applies Packer's wrappers to one provisioner: retried(paused | timed(p)), then the debug pause. */
export function wrapProvisioner(p: CoreProvisioner, debug: boolean): Provision {
  let provision: Provision = (a) => p.provisioner.provision(a);
  if (p.pauseBeforeMs !== 0) provision = paused(provision, p.pauseBeforeMs);
  else if (p.timeoutMs !== 0) provision = timed(provision, p.timeoutMs);
  if (p.maxRetries !== 0) provision = retried(provision, p.maxRetries);
  if (debug) provision = debugged(provision);
  return provision;
}

function paused(inner: Provision, ms: number): Provision {
  return async (a) => {
    a.ui.say(`Pausing ${formatGoDuration(ms)} before the next provisioner...`); // parity
    await sleep(ms, a.signal);
    return inner(a);
  };
}

function timed(inner: Provision, ms: number): Provision {
  return async (a) => {
    const ctl = new AbortController();
    const onOuter = (): void => ctl.abort(a.signal.reason);
    if (a.signal.aborted) onOuter();
    else a.signal.addEventListener('abort', onOuter, { once: true });
    a.ui.say(`Setting a ${formatGoDuration(ms)} timeout for the next provisioner...`); // parity
    const timer = setTimeout(() => {
      a.ui.error('Cancelling provisioner after a timeout...'); // parity
      ctl.abort(new Error('context deadline exceeded'));
    }, ms);
    try {
      return await inner({ ...a, signal: ctl.signal });
    } finally {
      clearTimeout(timer);
      a.signal.removeEventListener('abort', onOuter);
    }
  };
}

function retried(inner: Provision, maxRetries: number): Provision {
  return async (a) => {
    if (a.signal.aborted) throw contextCanceled();
    let first: Error;
    try {
      return await inner(a);
    } catch (e) {
      first = e instanceof Error ? e : new Error(String(e));
    }
    for (let left = maxRetries; left > 0; left--) {
      if (a.signal.aborted) throw contextCanceled();
      // parity: the message always quotes the first error (Packer's shadowed err)
      a.ui.say(`Provisioner failed with ${goQuote(first.message)}, retrying with ${left} trie(s) left`);
      try {
        return await inner(a);
      } catch (e) {
        debugLog(`Provisioner retry failed: ${(e as Error).message}`);
      }
    }
    a.ui.say('retry limit reached.'); // parity
    throw first;
  };
}

function debugged(inner: Provision): Provision {
  return async (a) => {
    const stop = new AbortController();
    const onOuter = (): void => stop.abort();
    a.signal.addEventListener('abort', onOuter, { once: true });
    try {
      await Promise.race([
        a.ui.ask('Pausing before the next provisioner . Press enter to continue.', stop.signal).catch((e: unknown) => {
          debugLog(`Error asking for input: ${(e as Error).message}`);
        }),
        new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true })),
      ]);
    } finally {
      a.signal.removeEventListener('abort', onOuter);
      stop.abort();
    }
    if (a.signal.aborted) throw contextCanceled();
    return inner(a);
  };
}

/** Sleeps `ms`; rejects with `context canceled` when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(contextCanceled());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(contextCanceled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
