/**
 * The one shape every provisioner has: `prepare` decodes the template's config (and may return
 * warnings), `provision` runs with that config. `defineProvisioner` makes the registry's
 * `create()` from those two functions, so each provisioner's index.ts only names them.
 */
import type {
  GeneratedData,
  PackerConfig,
  ProvisionContext,
  Provisioner,
  ProvisionerPrepareResult,
  RawConfig,
} from '../core/types.js';
import { InternalError } from '../util/errors.js';

export interface ProvisionerParts<C> {
  /** The provisioner's type name, for the internal error of a provision before prepare. */
  name: string;
  prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): C | Promise<C>;
  /** kiln's prepare-time warnings (shown like a builder's), from the prepared config. */
  warnings?(cfg: C): Promise<string[]>;
  provision(cfg: C, pc: PackerConfig, ctx: ProvisionContext): Promise<void>;
}

/** A `create()` for the component registry. */
export function defineProvisioner<C>(parts: ProvisionerParts<C>): () => Provisioner {
  return () => {
    let prepared: { cfg: C; pc: PackerConfig } | undefined;
    return {
      async prepare(raws, pc, placeholder): Promise<void | ProvisionerPrepareResult> {
        const cfg = await parts.prepare(raws, pc, placeholder);
        prepared = { cfg, pc };
        return parts.warnings ? { warnings: await parts.warnings(cfg) } : undefined;
      },
      async provision(ctx): Promise<void> {
        if (!prepared) throw new InternalError(`${parts.name}: provision called before prepare`);
        await parts.provision(prepared.cfg, prepared.pc, ctx);
      },
    };
  };
}
