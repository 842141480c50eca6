/**
 * The `ansible` (remote) provisioner: runs ansible-playbook on the kiln host against the machine
 * being built, through a local SSH proxy (src/adapter) or directly (use_proxy: false).
 */
import type { GeneratedData, PackerConfig, ProvisionContext, Provisioner, ProvisionerPrepareResult, RawConfig } from '../../core/types.js';
import { InternalError } from '../../util/errors.js';
import { prepareAnsible, type AnsibleConfig } from './config.js';

export type { AnsibleConfig } from './config.js';

export class AnsibleProvisioner implements Provisioner {
  private cfg?: AnsibleConfig;
  private pc?: PackerConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<ProvisionerPrepareResult> {
    this.cfg = await prepareAnsible(raws, pc, placeholder);
    this.pc = pc;
    if (this.cfg.goldenImageChecks === false) return {};
    const { checkPlaybook, goldenImageChecksDisabled } = await import('./golden-image.js');
    if (goldenImageChecksDisabled()) return {};
    const rolesPath = this.cfg.rolesPath ? [this.cfg.rolesPath] : [];
    return { warnings: await checkPlaybook(this.cfg.playbookFile, rolesPath) };
  }

  async provision(ctx: ProvisionContext): Promise<void> {
    if (!this.cfg || !this.pc) throw new InternalError('ansible: provision called before prepare');
    const { provisionAnsible } = await import('./provision.js');
    await provisionAnsible(this.cfg, this.pc, ctx);
  }
}

export function create(): Provisioner {
  return new AnsibleProvisioner();
}
