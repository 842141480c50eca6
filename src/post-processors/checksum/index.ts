/**
 * The `checksum` post-processor (Packer's post-processor/checksum, spec §8.10): for each checksum
 * type, appends `<hex digest>\t<basename>\n` per input file to the output file (rendered per type
 * at run time). No UI output; keep=true, force=true.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Ui } from '../../ui/ui.js';
import type { Artifact, GeneratedData, PackerConfig, PostProcessor, PostProcessResult, RawConfig } from '../../core/types.js';
import { decodeConfig, f, interpolationContext, type DecodedConfig } from '../../config/decode.js';
import { renderFixedPoint, validateTemplate } from '../../interpolate/index.js';
import { ConfigError, InternalError } from '../../util/errors.js';
import { goPathError } from '../../util/go-os-error.js';

const HASHES: Record<string, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
};

export const checksumFields = {
  checksumTypes: f.strings('checksum_types', 'Digests to compute: md5 (default), sha1, sha224, sha256, sha384, sha512.'),
  output: f.string('output', 'Checksum file path, rendered with BuildName, BuilderType, ChecksumType.', {
    default: 'packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum',
  }),
};

export type ChecksumConfig = DecodedConfig<typeof checksumFields>;

/** The checksum post-processor's artifact: the input files plus the checksum files. */
export class ChecksumArtifact implements Artifact {
  readonly builderId = 'packer.post-processor.checksum';
  readonly id = '';
  constructor(readonly files: string[]) {}
  toString(): string {
    return `Created artifact from files: ${this.files.join(', ')}`; // parity
  }
  state(): unknown {
    return undefined;
  }
  async destroy(): Promise<void> {
    for (const file of this.files) await fsp.rm(file, { force: true });
  }
}

export class ChecksumPostProcessor implements PostProcessor {
  private cfg?: ChecksumConfig;
  private pc?: PackerConfig;

  async configure(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    const cfg = decodeConfig(checksumFields, raws, { pc, placeholder, exclude: ['output'] });
    if (cfg.checksumTypes.length === 0) cfg.checksumTypes = ['md5'];
    const problems: string[] = [];
    for (const t of cfg.checksumTypes) if (!HASHES[t]) problems.push(`Unrecognized checksum type: ${t}`); // parity
    try {
      validateTemplate(cfg.output);
    } catch (e) {
      problems.push(`Error parsing target template: ${(e as Error).message}`); // parity
    }
    if (problems.length) throw new ConfigError(problems);
    this.cfg = cfg;
    this.pc = pc;
  }

  async postProcess(_ui: Ui, artifact: Artifact): Promise<PostProcessResult> {
    const { cfg, pc } = this;
    if (!cfg || !pc) throw new InternalError('checksum: postProcess called before configure');
    const generated = (artifact.state('generated_data') as GeneratedData | undefined) ?? {};
    const files = [...artifact.files];
    const out = new ChecksumArtifact([...files]);
    for (const type of cfg.checksumTypes) {
      const data = { ...generated, BuildName: pc.buildName, BuilderType: pc.builderType, ChecksumType: type };
      const target = renderFixedPoint(cfg.output, { ...interpolationContext(pc, data), data });
      try {
        await fsp.mkdir(dirname(target), { recursive: true, mode: 0o755 });
      } catch (e) {
        throw new Error(`unable to create dir: ${goPathError('mkdir', dirname(target), e)}`); // parity
      }
      const existed = existsSync(target);
      let handle;
      try {
        handle = await fsp.open(target, 'a', 0o644);
      } catch (e) {
        throw new Error(`unable to create file ${target}: ${goPathError('open', target, e)}`); // parity
      }
      try {
        if (!existed && files.length) out.files.push(target);
        for (const file of files) {
          const digest = await hashFile(HASHES[type], file);
          await handle.write(`${digest}\t${basename(file)}\n`);
        }
      } finally {
        await handle.close();
      }
    }
    return { artifact: out, keep: true, forceOverride: true };
  }
}

async function hashFile(algorithm: string, file: string): Promise<string> {
  const hash = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') throw new Error(`unable to open file ${file}: ${goPathError('open', file, e)}`); // parity
    throw new Error(`unable to compute ${algorithm} hash for ${file}`); // parity
  }
  return hash.digest('hex');
}

export function create(): PostProcessor {
  return new ChecksumPostProcessor();
}
