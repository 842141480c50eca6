/**
 * The `compress` post-processor (Packer's post-processor/compress, spec §8.11): archives (tar,
 * zip) and/or compresses (gzip, bgzf, lz4, xz: ./codecs.ts) the input files into `output`,
 * inferring the format from its last two extensions (+ `format`); no extension → tar + gzip.
 * Returns the archive; keep=false, force=false.
 */
import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Transform } from 'node:stream';
import type { Ui } from '../../ui/ui.js';
import type {
  Artifact,
  GeneratedData,
  PackerConfig,
  PostProcessor,
  PostProcessResult,
  RawConfig,
} from '../../core/types.js';
import { decodeConfig, f, interpolationContext, type DecodedConfig } from '../../config/decode.js';
import { renderFixedPoint, validateTemplate } from '../../interpolate/index.js';
import { ConfigError, InternalError } from '../../util/errors.js';
import { writeTar, writeZip, type ByteSink } from './archive.js';
import { goPathError } from '../../util/go-os-error.js';
import { openCompressor, usingLine } from './codecs.js';

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

const ALGORITHMS: Record<string, CompressFormat['algorithm']> = {
  gz: 'pgzip',
  lz4: 'lz4',
  bgzf: 'bgzf',
  xz: 'xz',
};

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
      throw new Error(`Error interpolating output value: ${(e as Error).message}`); // parity
    }
    try {
      await fsp.mkdir(dirname(target), { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new Error(
        `Unable to create dir for archive ${target}: ${goPathError('mkdir', dirname(target), e)}`,
      ); // parity
    }
    const files = artifact.files;
    if (fmt.archive === '' && files.length !== 1) {
      // parity: Go's %v of a []string
      throw new Error(
        `Can only have 1 input file when not using tar/zip. Found ${files.length} files: [${files.join(' ')}]`,
      );
    }
    const file = createWriteStream(target);
    await new Promise<void>((resolve, reject) =>
      file
        .once('open', () => resolve())
        .once('error', (e) =>
          reject(new Error(`Unable to create archive ${target}: ${goPathError('open', target, e)}`)),
        ),
    );
    // Settles when the file is closed, rejecting with the first error of the file or compressor.
    const closed = new Promise<void>((resolve, reject) => {
      file.once('close', () => resolve());
      file.on('error', reject);
    });
    closed.catch(() => undefined);
    let compressor: Transform | undefined;
    if (fmt.algorithm !== '') {
      ui.say(usingLine(fmt.algorithm, target));
      try {
        compressor = openCompressor(fmt.algorithm, cfg.compressionLevel);
      } catch (e) {
        file.destroy();
        throw e;
      }
      compressor.pipe(file);
      compressor.on('error', (e) => file.destroy(e));
    }
    const sink = streamSink(compressor ?? file);
    const compression = fmt.algorithm || 'no compression';
    let failure: unknown;
    try {
      if (fmt.archive === 'tar') {
        ui.say(`Tarring ${target} with ${compression}`); // parity
        await writeTar(files, sink).catch((e: Error) =>
          Promise.reject(new Error(`Error creating tar: ${e.message}`)),
        );
      } else if (fmt.archive === 'zip') {
        ui.say(`Zipping ${target}`); // parity
        await writeZip(files, sink, cfg.compressionLevel).catch((e: Error) =>
          Promise.reject(new Error(`Error creating zip: ${e.message}`)),
        );
      } else {
        ui.say(`Archiving ${files[0]} with ${compression}`); // parity
        await copyFile(files[0], sink);
      }
    } catch (e) {
      failure = e;
    }
    try {
      await finish(compressor, file, closed, failure !== undefined);
    } catch (e) {
      failure ??= new Error(`Failed to compress ${fmt.archive ? target : files[0]}: ${(e as Error).message}`); // parity
    }
    if (failure !== undefined) throw failure;
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

/** Streams one input file into the sink (Packer's io.Copy), with Packer's error texts. */
async function copyFile(path: string, sink: ByteSink): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (e) {
    throw new Error(`Failed to open source file ${path} for reading: ${goPathError('open', path, e)}`); // parity
  }
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 }))
      await sink.write(chunk as Buffer);
  } catch (e) {
    throw new Error(`Failed to compress ${path}: ${(e as Error).message}`); // parity
  } finally {
    await handle.close();
  }
}

/** Ends the compressor (flushing it into the file) and waits for the file to close. */
async function finish(
  compressor: Transform | undefined,
  file: WriteStream,
  closed: Promise<void>,
  failed: boolean,
): Promise<void> {
  if (failed) {
    compressor?.destroy();
    file.destroy();
    await closed.catch(() => undefined);
    return;
  }
  if (compressor) compressor.end();
  else file.end();
  await closed;
}

export function create(): PostProcessor {
  return new CompressPostProcessor();
}
