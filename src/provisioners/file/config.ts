/** The `file` provisioner's options and validation (Packer's provisioner/file/provisioner.go, spec §8.4). */
import { statSync } from 'node:fs';
import type { GeneratedData, PackerConfig, RawConfig } from '../../core/types.js';
import { decodeConfig, f, type DecodedConfig } from '../../config/decode.js';
import { ConfigError } from '../../util/errors.js';
import { goPathError } from '../../util/go-os-error.js';

export const fileFields = {
  source: f.string('source', 'A local (upload) or remote (download) path.'),
  sources: f.strings('sources', 'Several sources; `source` is added after them.'),
  destination: f.string('destination', 'Where the sources go; a trailing / means "into this directory".'),
  direction: f.string('direction', '`upload` (default) or `download`.', { default: 'upload' }),
  generated: f.bool('generated', 'The source is created during the build: skip the existence check.'),
};

export type FileConfig = DecodedConfig<typeof fileFields>;

/** Decodes and validates; throws ConfigError listing every problem. No side effects. */
export function prepareFile(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): FileConfig {
  const cfg = decodeConfig(fileFields, raws, { pc, placeholder });
  if (cfg.source !== '') cfg.sources = [...cfg.sources, cfg.source];
  const problems: string[] = [];
  if (cfg.direction !== 'download' && cfg.direction !== 'upload') {
    problems.push('Direction must be one of: download, upload.'); // parity:
  }
  if (cfg.sources.length < 1) problems.push('Source must be specified.'); // parity:
  if (cfg.direction === 'upload' && !cfg.generated) {
    for (const src of cfg.sources) {
      try {
        statSync(src);
      } catch (e) {
        problems.push(`Bad source '${src}': ${goStatError(src, e)}`); // parity:
      }
    }
  }
  if (cfg.destination === '') problems.push('Destination must be specified.'); // parity:
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/** Go's os.Stat error text: `stat <path>: no such file or directory`. */
export function goStatError(path: string, e: unknown): string {
  return goPathError('stat', path, e);
}
