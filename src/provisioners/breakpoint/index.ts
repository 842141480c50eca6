/**
 * The `breakpoint` provisioner (Packer's provisioner/breakpoint, spec §8.6): pauses the build until
 * Enter is pressed, unless `disable` is set. Without a terminal it fails.
 */
import type { GeneratedData, PackerConfig, ProvisionContext, Provisioner, RawConfig } from '../../core/types.js';
import { decodeConfig, f, type DecodedConfig } from '../../config/decode.js';
import { InternalError } from '../../util/errors.js';

export const breakpointFields = {
  note: f.string('note', 'Text shown when pausing.'),
  disable: f.bool('disable', 'Skip the breakpoint.'),
};

export type BreakpointConfig = DecodedConfig<typeof breakpointFields>;

export class BreakpointProvisioner implements Provisioner {
  private cfg?: BreakpointConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    this.cfg = decodeConfig(breakpointFields, raws, { pc, placeholder });
  }

  async provision({ ui, signal }: ProvisionContext): Promise<void> {
    const cfg = this.cfg;
    if (!cfg) throw new InternalError('breakpoint: provision called before prepare');
    if (cfg.disable) {
      // parity: provisioner/breakpoint
      ui.say(cfg.note ? `Breakpoint provisioner with note "${cfg.note}" disabled; continuing...` : 'Breakpoint provisioner disabled; continuing...');
      return;
    }
    // parity: provisioner/breakpoint
    ui.say(cfg.note ? `Pausing at breakpoint provisioner with note "${cfg.note}".` : 'Pausing at breakpoint provisioner.');
    try {
      await ui.ask('Press enter to continue.', signal);
    } catch (e) {
      throw new Error(`Error asking for input: ${(e as Error).message}`); // parity
    }
  }
}

export function create(): Provisioner {
  return new BreakpointProvisioner();
}
