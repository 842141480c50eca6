/**
 * The `file` builder (Packer's builder/file, spec §8.3): writes `content` to `target` (mode 0600) or
 * copies `source` there, then runs the provisioners with a mock communicator. Handy for tests.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type { Artifact, BuildContext, Builder, Communicator, PackerConfig, PrepareResult, RawConfig, RemoteCommand } from '../../core/types.js';
import { decodeConfig, f, Problems, type DecodedConfig } from '../../config/decode.js';
import { InternalError } from '../../util/errors.js';

export const fileFields = {
  source: f.string('source', 'A file to copy to target.'),
  target: f.string('target', 'The file to create (required).'),
  content: f.string('content', 'Text written to target.'),
};

export type FileConfig = DecodedConfig<typeof fileFields>;

/** Packer's file builder artifact. */
export class FileArtifact implements Artifact {
  readonly builderId = 'packer.file';
  readonly id = 'File';
  constructor(private readonly filename: string) {}
  get files(): string[] {
    return [this.filename];
  }
  toString(): string {
    return `Stored file: ${this.filename}`; // parity
  }
  state(): unknown {
    return undefined;
  }
  async destroy(): Promise<void> {
    await fsp.rm(this.filename, { force: true });
  }
}

/** Packer's MockCommunicator: every command "succeeds", transfers do nothing. */
export class MockCommunicator implements Communicator {
  async start(_cmd: RemoteCommand): Promise<number> {
    return 0;
  }
  async upload(): Promise<void> {}
  async uploadDir(): Promise<void> {}
  async download(): Promise<void> {}
  async downloadDir(): Promise<void> {}
  async close(): Promise<void> {}
}

export class FileBuilder implements Builder {
  private cfg?: FileConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig): Promise<PrepareResult> {
    const cfg = decodeConfig(fileFields, raws, { pc });
    const problems = new Problems();
    if (cfg.target === '') problems.add('target required'); // parity
    if (cfg.content === '' && cfg.source === '') {
      problems.warn('Both source file and contents are blank; target will have no content'); // parity
    }
    if (cfg.content !== '' && cfg.source !== '') problems.add('Cannot specify source file AND content'); // parity
    problems.throwIfAny();
    this.cfg = cfg;
    return { warnings: problems.warnings };
  }

  async run({ ui, hook, signal }: BuildContext): Promise<Artifact | undefined> {
    const cfg = this.cfg;
    if (!cfg) throw new InternalError('file builder: run called before prepare');
    const dir = dirname(cfg.target);
    if (dir !== '.') await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
    if (cfg.source !== '') {
      ui.say(`Copying ${cfg.source} to ${cfg.target}`); // parity
      await fsp.copyFile(cfg.source, cfg.target);
      const { size } = await fsp.stat(cfg.target);
      ui.say(`Copied ${size} bytes`); // parity
    } else {
      await fsp.writeFile(cfg.target, cfg.content, { mode: 0o600 });
    }
    await hook.run(ui, new MockCommunicator(), {}, signal);
    return new FileArtifact(cfg.target);
  }
}

export function create(): Builder {
  return new FileBuilder();
}
