/**
 * The `shell-local` post-processor (Packer's post-processor/shell-local): runs local scripts with
 * the input artifact's generated data and passes the artifact through (keep=true, force=true).
 * Shares its options and runner with the shell-local provisioner (the family's common code).
 */
import type { Ui } from '../../ui/ui.js';
import type {
  Artifact,
  GeneratedData,
  PackerConfig,
  PostProcessor,
  PostProcessResult,
  RawConfig,
} from '../../core/types.js';
import { InternalError } from '../../util/errors.js';
import { prepareShellLocal, type ShellLocalConfig } from '../../provisioners/shell-local/config.js';
import { runShellLocal } from '../../provisioners/shell-local/run.js';

/** The artifact's `generated_data` state as strings (absent → empty). */
export function artifactGeneratedData(artifact: Artifact): GeneratedData {
  const raw = artifact.state('generated_data');
  const out: GeneratedData = {};
  if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[k] = typeof v === 'string' ? v : String(v);
  }
  return out;
}

export class ShellLocalPostProcessor implements PostProcessor {
  private cfg?: ShellLocalConfig;
  private pc?: PackerConfig;

  async configure(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    this.cfg = prepareShellLocal(raws, pc, placeholder, true);
    this.pc = pc;
  }

  async postProcess(ui: Ui, artifact: Artifact, signal: AbortSignal): Promise<PostProcessResult> {
    if (!this.cfg || !this.pc) throw new InternalError('shell-local: postProcess called before configure');
    await runShellLocal(this.cfg, this.pc, ui, artifactGeneratedData(artifact), signal);
    return { artifact, keep: true, forceOverride: true };
  }
}

export function create(): PostProcessor {
  return new ShellLocalPostProcessor();
}
