/** The `shell-local` provisioner (Packer's provisioner/shell-local): runs scripts on the machine running kiln. */
import type { GeneratedData, PackerConfig, ProvisionContext, Provisioner, RawConfig } from '../../core/types.js';
import { InternalError } from '../../util/errors.js';
import { prepareShellLocal, type ShellLocalConfig } from './config.js';
import { runShellLocal } from './run.js';

/** The shell-local provisioner. */
export class ShellLocalProvisioner implements Provisioner {
  private cfg?: ShellLocalConfig;
  private pc?: PackerConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    this.cfg = prepareShellLocal(raws, pc, placeholder, false);
    this.pc = pc;
  }

  async provision(ctx: ProvisionContext): Promise<void> {
    if (!this.cfg || !this.pc) throw new InternalError('shell-local: provision called before prepare');
    await runShellLocal(this.cfg, this.pc, ctx.ui, ctx.data, ctx.signal);
  }
}

export function create(): Provisioner {
  return new ShellLocalProvisioner();
}
