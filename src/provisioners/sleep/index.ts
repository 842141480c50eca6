/** The `sleep` provisioner (Packer's provisioner/sleep, spec §8.7): waits `duration`; no output. */
import type { GeneratedData, PackerConfig, ProvisionContext, Provisioner, RawConfig } from '../../core/types.js';
import { decodeConfig, f, type DecodedConfig } from '../../config/decode.js';
import { InternalError } from '../../util/errors.js';

export const sleepFields = {
  duration: f.duration('duration', 'How long to sleep (Go duration, e.g. "30s").'),
};

export type SleepConfig = DecodedConfig<typeof sleepFields>;

export class SleepProvisioner implements Provisioner {
  private cfg?: SleepConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    this.cfg = decodeConfig(sleepFields, raws, { pc, placeholder });
  }

  /** Sleeps; rejects with `context canceled` when the run is interrupted or the `timeout` fires. */
  async provision({ signal }: ProvisionContext): Promise<void> {
    if (!this.cfg) throw new InternalError('sleep: provision called before prepare');
    const ms = this.cfg.duration;
    await new Promise<void>((resolve, reject) => {
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
}

export function create(): Provisioner {
  return new SleepProvisioner();
}
