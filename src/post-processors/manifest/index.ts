/**
 * The `manifest` post-processor (Packer's post-processor/manifest, spec §8.9): appends an entry for
 * the build to a JSON file (`packer-manifest.json`), coordinating concurrent writers with a
 * `<output>.lock` file, and starting fresh under `-force` when the file is from another run.
 * Returns the input artifact (keep=true, force=true).
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Ui } from '../../ui/ui.js';
import type { Artifact, GeneratedData, PackerConfig, PostProcessor, PostProcessResult, RawConfig } from '../../core/types.js';
import { decodeConfig, f, interpolationContext, type DecodedConfig } from '../../config/decode.js';
import { renderFixedPoint, validateTemplate } from '../../interpolate/index.js';
import { decodeGoJson, GoJsonError } from '../../template/go-json.js';
import { InternalError, UserError } from '../../util/errors.js';
import { debugLog } from '../../util/log.js';
import { goPathError } from '../../util/go-os-error.js';
import { goMarshalIndent } from '../../util/go-json.js';

export const manifestFields = {
  output: f.string('output', 'Path of the manifest file.', { default: 'packer-manifest.json' }),
  stripPath: f.bool('strip_path', 'Record file names without their directories.'),
  stripTime: f.bool('strip_time', 'Leave out build_time.'),
  customData: f.stringMap('custom_data', 'Extra strings recorded with the build (rendered with build data).'),
};

export type ManifestConfig = DecodedConfig<typeof manifestFields>;

/** One entry of `builds` (Go's manifest.Artifact, in its field order). */
export interface ManifestBuild {
  name: string;
  builder_type: string;
  /** Omitted when 0 (omitempty). */
  build_time?: number;
  files: Array<{ name: string; size: number }> | null;
  artifact_id: string;
  packer_run_uuid: string;
  custom_data: Record<string, string> | null;
}

/** The manifest file (Go's manifest.ManifestFile). */
export interface ManifestFile {
  builds: ManifestBuild[] | null;
  last_run_uuid: string;
}

export class ManifestPostProcessor implements PostProcessor {
  private cfg?: ManifestConfig;
  private pc?: PackerConfig;
  private hasCustomData = false;

  async configure(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void> {
    const cfg = decodeConfig(manifestFields, raws, { pc, placeholder, deprecated: ['filename'] });
    try {
      validateTemplate(cfg.output);
    } catch (e) {
      throw new UserError(`Error parsing target template: ${(e as Error).message}`); // parity
    }
    this.hasCustomData = raws.some((r) => Object.keys(r).some((k) => k.toLowerCase() === 'custom_data' && r[k] !== null));
    this.cfg = cfg;
    this.pc = pc;
  }

  async postProcess(_ui: Ui, source: Artifact): Promise<PostProcessResult> {
    const { cfg, pc } = this;
    if (!cfg || !pc) throw new InternalError('manifest: postProcess called before configure');
    const data = (source.state('generated_data') as GeneratedData | undefined) ?? {};
    const ctx = { ...interpolationContext(pc, data), data };
    const custom: Record<string, string> = {};
    for (const key of Object.keys(cfg.customData).sort()) custom[key] = renderFixedPoint(cfg.customData[key], ctx);
    const entry: ManifestBuild = {
      name: pc.buildName,
      builder_type: pc.builderType,
      build_time: cfg.stripTime ? undefined : Math.floor(Date.now() / 1000),
      files: source.files.length ? source.files.map((file) => ({ name: cfg.stripPath ? basename(file) : file, size: fileSize(file) })) : null,
      artifact_id: source.id,
      packer_run_uuid: pc.runUuid,
      custom_data: this.hasCustomData ? custom : null,
    };
    appendToManifest(cfg.output, entry, pc.runUuid, pc.force);
    return { artifact: source, keep: true, forceOverride: true };
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Adds `entry` to the manifest at `path` under its lock: read (missing = empty), start fresh when
 * `force` and the file's last_run_uuid is another run's, append, write 0664. The read-modify-write
 * is synchronous, so builds of one kiln process never interleave.
 */
export function appendToManifest(path: string, entry: ManifestBuild, runUuid: string, force: boolean): void {
  const lock = `${path}.lock`;
  let locked = false;
  for (let i = 0; i < 3 && !locked; i++) {
    if (i > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, i * 200);
    try {
      closeSync(openSync(lock, 'wx', 0o664));
      locked = true;
    } catch (e) {
      debugLog(`Error locking manifest file for reading and writing. Will sleep and retry. ${(e as Error).message}`);
    }
  }
  try {
    let manifest = readManifest(path);
    if (force && manifest.last_run_uuid !== runUuid) manifest = { builds: null, last_run_uuid: '' };
    manifest.builds = [...(manifest.builds ?? []), entry];
    manifest.last_run_uuid = runUuid;
    try {
      writeFileSync(path, goMarshalIndent(manifest), { mode: 0o664 });
    } catch (e) {
      throw new Error(`Unable to write ${path}: ${goPathError('open', path, e)}`); // parity
    }
  } finally {
    rmSync(lock, { force: true });
  }
}

function readManifest(path: string): ManifestFile {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { builds: null, last_run_uuid: '' };
    throw new Error(`Unable to open ${path} for reading: ${goPathError('open', path, e)}`); // parity
  }
  if (text.length === 0) return { builds: null, last_run_uuid: '' };
  let value: unknown;
  try {
    value = decodeGoJson(text).value;
  } catch (e) {
    const msg = e instanceof GoJsonError ? e.goMessage : (e as Error).message;
    throw new Error(`Unable to parse content from ${path}: ${msg}`); // parity
  }
  return normalizeManifest(value, path);
}

/** Go's json.Unmarshal into ManifestFile: known fields kept (case-insensitively), others dropped. */
function normalizeManifest(value: unknown, path: string): ManifestFile {
  const out: ManifestFile = { builds: null, last_run_uuid: '' };
  if (!isObject(value)) {
    if (value === null) return out;
    throw new Error(`Unable to parse content from ${path}: json: cannot unmarshal ${jsonKind(value)} into Go value of type manifest.ManifestFile`);
  }
  const builds = field(value, 'builds');
  if (Array.isArray(builds)) out.builds = builds.map((b) => normalizeBuild(b));
  const last = field(value, 'last_run_uuid');
  if (typeof last === 'string') out.last_run_uuid = last;
  return out;
}

function normalizeBuild(b: unknown): ManifestBuild {
  const o = isObject(b) ? b : {};
  const str = (k: string): string => (typeof field(o, k) === 'string' ? (field(o, k) as string) : '');
  const files = field(o, 'files');
  const custom = field(o, 'custom_data');
  const time = field(o, 'build_time');
  return {
    name: str('name'),
    builder_type: str('builder_type'),
    build_time: typeof time === 'number' && time !== 0 ? time : undefined,
    files: Array.isArray(files)
      ? files.map((x) => {
          const fo = isObject(x) ? x : {};
          const n = field(fo, 'name');
          const s = field(fo, 'size');
          return { name: typeof n === 'string' ? n : '', size: typeof s === 'number' ? s : 0 };
        })
      : null,
    artifact_id: str('artifact_id'),
    packer_run_uuid: str('packer_run_uuid'),
    custom_data: isObject(custom)
      ? Object.fromEntries(
          Object.keys(custom)
            .sort()
            .map((k) => [k, typeof custom[k] === 'string' ? (custom[k] as string) : '']),
        )
      : null,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go matches JSON keys to struct fields exactly first, then case-insensitively. */
function field(o: Record<string, unknown>, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(o, key)) return o[key];
  const k = Object.keys(o).find((x) => x.toLowerCase() === key);
  return k === undefined ? undefined : o[k];
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'object';
}

export function create(): PostProcessor {
  return new ManifestPostProcessor();
}
