/**
 * The `breakpoint` provisioner (Packer's provisioner/breakpoint, spec §8.6): pauses the build until
 * Enter is pressed, unless `disable` is set. Without a terminal it fails.
 */
import { decodeConfig, f, type DecodedConfig } from '../../config/decode.js';
import { defineProvisioner } from '../define.js';

export const breakpointFields = {
  note: f.string('note', 'Text shown when pausing.'),
  disable: f.bool('disable', 'Skip the breakpoint.'),
};

export type BreakpointConfig = DecodedConfig<typeof breakpointFields>;

export const create = defineProvisioner({
  name: 'breakpoint',
  prepare: (raws, pc, placeholder): BreakpointConfig =>
    decodeConfig(breakpointFields, raws, { pc, placeholder }),
  async provision(cfg, _pc, { ui, signal }) {
    if (cfg.disable) {
      // parity: provisioner/breakpoint
      ui.say(
        cfg.note
          ? `Breakpoint provisioner with note "${cfg.note}" disabled; continuing...`
          : 'Breakpoint provisioner disabled; continuing...',
      );
      return;
    }
    // parity: provisioner/breakpoint
    ui.say(
      cfg.note
        ? `Pausing at breakpoint provisioner with note "${cfg.note}".`
        : 'Pausing at breakpoint provisioner.',
    );
    try {
      await ui.ask('Press enter to continue.', signal);
    } catch (e) {
      throw new Error(`Error asking for input: ${(e as Error).message}`); // parity
    }
  },
});
