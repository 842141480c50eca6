/** The `sleep` provisioner (Packer's provisioner/sleep, spec §8.7): waits `duration`; no output. */
import { decodeConfig, f, type DecodedConfig } from '../../config/decode.js';
import { defineProvisioner } from '../define.js';

export const sleepFields = {
  duration: f.duration('duration', 'How long to sleep (Go duration, e.g. "30s").'),
};

export type SleepConfig = DecodedConfig<typeof sleepFields>;

/** Sleeps; rejects with `context canceled` when the run is interrupted or the `timeout` fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('context canceled'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      // parity: over Packer's plugin RPC a timeout reaches the provisioner as a cancellation too
      reject(new Error('context canceled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const create = defineProvisioner({
  name: 'sleep',
  prepare: (raws, pc, placeholder): SleepConfig => decodeConfig(sleepFields, raws, { pc, placeholder }),
  provision: (cfg, _pc, { signal }) => sleep(cfg.duration, signal),
});
