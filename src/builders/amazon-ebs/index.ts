/**
 * The amazon-ebs builder (spec §A–C): prepare decodes and validates with no network and no SDK;
 * run loads ./run.js (and with it the AWS SDK and ssh2) only when a build starts.
 */
import type {
  Artifact,
  BuildContext,
  Builder,
  PackerConfig,
  PrepareResult,
  RawConfig,
} from '../../core/types.js';
import { InternalError } from '../../util/errors.js';
import { prepareEbs, type EbsPrepared } from './config.js';

/** Generated data keys this builder adds (B.12). */
export const GENERATED_KEYS = [
  'SourceAMIName',
  'BuildRegion',
  'SourceAMI',
  'SourceAMICreationDate',
  'SourceAMIOwner',
  'SourceAMIOwnerName',
];

export class AmazonEbsBuilder implements Builder {
  private prepared?: EbsPrepared;
  private pc?: PackerConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig): Promise<PrepareResult> {
    this.prepared = prepareEbs(raws, pc);
    this.pc = pc;
    return { generatedDataKeys: GENERATED_KEYS, warnings: this.prepared.warnings };
  }

  async run(ctx: BuildContext): Promise<Artifact | undefined> {
    if (!this.prepared || !this.pc) throw new InternalError('amazon-ebs: run before prepare');
    const { runEbs } = await import('./run.js');
    return runEbs(this.prepared, this.pc, ctx);
  }
}

export function create(): Builder {
  return new AmazonEbsBuilder();
}
