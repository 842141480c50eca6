/** The `file` provisioner (Packer's provisioner/file): uploads or downloads files and directories. */
import type {
  GeneratedData,
  PackerConfig,
  ProvisionContext,
  Provisioner,
  RawConfig,
} from '../../core/types.js';
import { InternalError } from '../../util/errors.js';
import { prepareFile, type FileConfig } from './config.js';
import { runFile } from './run.js';

export class FileProvisioner implements Provisioner {
  private cfg?: FileConfig;
  private pc?: PackerConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    this.cfg = prepareFile(raws, pc, placeholder);
    this.pc = pc;
  }

  async provision(ctx: ProvisionContext): Promise<void> {
    if (!this.cfg || !this.pc) throw new InternalError('file: provision called before prepare');
    await runFile(this.cfg, this.pc, ctx);
  }
}

export function create(): Provisioner {
  return new FileProvisioner();
}
