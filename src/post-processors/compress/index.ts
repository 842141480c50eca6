/**
 * The `compress` post-processor (Packer's post-processor/compress, spec §8.11): archives (tar,
 * zip) and/or compresses (gzip) the input files into `output`, inferring the format from its
 * last two extensions (+ `format`); no extension → tar + gzip. kiln has no lz4, bgzf or xz
 * (a configuration error says so). Returns the archive; keep=false, force=false.
 */
import { availableParallelism } from 'node:os';
import { createWriteStream, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import type { Ui } from '../../ui/ui.js';
import type { Artifact, GeneratedData, PackerConfig, PostProcessor, PostProcessResult, RawConfig } from '../../core/types.js';
import { decodeConfig, f, interpolationContext, type DecodedConfig } from '../../config/decode.js';
import { renderFixedPoint, validateTemplate } from '../../interpolate/index.js';
import { ConfigError, InternalError } from '../../util/errors.js';
import { writeTar, writeZip, type ByteSink } from './archive.js';
import { goPathError } from '../../util/go-os-error.js';

export const compressFields = {
  output: f.string('output', 'Archive path, rendered with BuildName and BuilderType.', {
    default: 'packer_{{.BuildName}}_{{.BuilderType}}',
  }),
  format: f.string('format', 'Extension(s) deciding the format when output has none, e.g. "tar.gz".'),
  compressionLevel: f.int('compression_level', 'gzip level 1–9 (default 6).'),
};

export type CompressConfig = DecodedConfig<typeof compressFields>;

/** Archive kind and compression algorithm, as Packer's detectFromFilename infers them. */
export interface CompressFormat {
  archive: '' | 'tar' | 'zip';
  algorithm: '' | 'pgzip' | 'lz4' | 'bgzf' | 'xz';
}

const ALGORITHMS: Record<string, CompressFormat['algorithm']> = { gz: 'pgzip', lz4: 'lz4', bgzf: 'bgzf', xz: 'xz' };

/** Packer's detectFromFilename on the (unrendered) output path plus `.format`. */
export function detectFormat(output: string, format: string): CompressFormat {
  const name = format === '' ? output : `${output}.${format}`;
  const exts = [...name.matchAll(/\.([a-z0-9]+)/g)].map((m) => m[1]);
  if (exts.length === 0) return { archive: 'tar', algorithm: 'pgzip' };
  const last = exts[exts.length - 1];
  const before = exts.length > 1 ? exts[exts.length - 2] : '';
  const out: CompressFormat = { archive: before === 'tar' ? 'tar' : '', algorithm: '' };
  if (last === 'zip' || last === 'tar') return { ...out, archive: last };
  if (ALGORITHMS[last]) return { ...out, algorithm: ALGORITHMS[last] };
  return { archive: 'tar', algorithm: 'pgzip' };
}

/** The compress post-processor's artifact: the archive file. */
export class CompressArtifact implements Artifact {
  readonly builderId = 'packer.post-processor.compress';
  readonly id = '';
  constructor(readonly path: string) {}
  get files(): string[] {
    return [this.path];
  }
  toString(): string {
    return `compressed artifacts in: ${this.path}`; // parity
  }
  state(): unknown {
    return undefined;
  }
  async destroy(): Promise<void> {
    await fsp.rm(this.path, { force: true });
  }
}

export class CompressPostProcessor implements PostProcessor {
  private cfg?: CompressConfig;
  private pc?: PackerConfig;
  private fmt: CompressFormat = { archive: 'tar', algorithm: 'pgzip' };

  async configure(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    const cfg = decodeConfig(compressFields, raws, { pc, placeholder, exclude: ['output'] });
    if (cfg.compressionLevel > 9) cfg.compressionLevel = 9;
    if (cfg.compressionLevel === -1 || cfg.compressionLevel === 0) cfg.compressionLevel = 6;
    const problems: string[] = [];
    try {
      validateTemplate(cfg.output);
    } catch (e) {
      problems.push(`Error parsing target template: ${(e as Error).message}`); // parity
    }
    this.fmt = detectFormat(cfg.output, cfg.format);
    if (['lz4', 'bgzf', 'xz'].includes(this.fmt.algorithm)) {
      problems.push(`Cannot compress with ${this.fmt.algorithm}: kiln supports tar, zip and gzip (.gz) only`);
    }
    if (problems.length) throw new ConfigError(problems);
    this.cfg = cfg;
    this.pc = pc;
  }

  async postProcess(ui: Ui, artifact: Artifact): Promise<PostProcessResult> {
    const { cfg, pc, fmt } = this;
    if (!cfg || !pc) throw new InternalError('compress: postProcess called before configure');
    const generated = (artifact.state('generated_data') as GeneratedData | undefined) ?? {};
    const data = { ...generated, BuildName: pc.buildName, BuilderType: pc.builderType };
    let target: string;
    try {
      target = renderFixedPoint(cfg.output, { ...interpolationContext(pc, data), data });
    } catch (e) {
      throw new Error(`Failed interpolating output path: ${(e as Error).message}`); // parity
    }
    try {
      await fsp.mkdir(dirname(target), { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new Error(`Unable to create dir for archive ${target}: ${goPathError('mkdir', dirname(target), e)}`); // parity
    }
    const files = artifact.files;
    if (fmt.archive === '' && files.length !== 1) {
      // parity: Go's %v of a []string
      throw new Error(`Can only have 1 input file when not using tar/zip. Found ${files.length} files: [${files.join(' ')}]`);
    }
    const file = createWriteStream(target);
    await new Promise<void>((resolve, reject) => file.once('open', () => resolve()).once('error', (e) => reject(new Error(`Unable to create archive ${target}: ${goPathError('open', target, e)}`))));
    let gzip: Gzip | undefined;
    if (fmt.algorithm === 'pgzip') {
      ui.say(`Using pgzip compression with ${availableParallelism()} cores for ${target}`); // parity
      gzip = createGzip({ level: cfg.compressionLevel });
      gzip.pipe(file);
    }
    const sink = streamSink(gzip ?? file);
    const compression = fmt.algorithm || 'no compression';
    try {
      if (fmt.archive === 'tar') {
        ui.say(`Tarring ${target} with ${compression}`); // parity
        await writeTar(files, sink).catch((e: Error) => Promise.reject(new Error(`Error creating tar: ${e.message}`)));
      } else if (fmt.archive === 'zip') {
        ui.say(`Zipping ${target}`); // parity
        await writeZip(files, sink, cfg.compressionLevel).catch((e: Error) => Promise.reject(new Error(`Error creating zip: ${e.message}`)));
      } else {
        ui.say(`Archiving ${files[0]} with ${compression}`); // parity
        const content = await fsp.readFile(files[0]).catch((e: Error) => Promise.reject(new Error(`Failed to open source file ${files[0]}: ${e.message}`)));
        await sink.write(content);
      }
    } finally {
      await finish(gzip, file);
    }
    ui.say(`Archive ${target} completed`); // parity
    return { artifact: new CompressArtifact(target), keep: false, forceOverride: false };
  }
}

function streamSink(stream: NodeJS.WritableStream): ByteSink {
  return {
    write: (chunk) =>
      new Promise((resolve, reject) => {
        stream.write(chunk, (err) => (err ? reject(err) : resolve()));
      }),
  };
}

async function finish(gzip: Gzip | undefined, file: NodeJS.WritableStream): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => {
    file.once('close', () => resolve());
    file.once('error', reject);
  });
  if (gzip) gzip.end();
  else file.end();
  await closed;
}

export function create(): PostProcessor {
  return new CompressPostProcessor();
}
