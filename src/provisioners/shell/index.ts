/** The `shell` provisioner (Packer's provisioner/shell): uploads scripts and runs them over the communicator. */
import type {
  GeneratedData,
  PackerConfig,
  ProvisionContext,
  Provisioner,
  RawConfig,
} from '../../core/types.js';
import { InternalError } from '../../util/errors.js';
import { prepareShell, type ShellConfig } from './config.js';
import { runShell } from './run.js';

export class ShellProvisioner implements Provisioner {
  private cfg?: ShellConfig;
  private pc?: PackerConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    this.cfg = prepareShell(raws, pc, placeholder);
    this.pc = pc;
  }

  async provision(ctx: ProvisionContext): Promise<void> {
    if (!this.cfg || !this.pc) throw new InternalError('shell: provision called before prepare');
    await runShell(this.cfg, this.pc, ctx);
  }
}

export function create(): Provisioner {
  return new ShellProvisioner();
}
