/**
 * Shared pieces of the amazon-ebs tests: a recording UI, a provision hook that runs real commands
 * over the real communicator, a PackerConfig, the builder run, and an EC2 client on the test moto
 * for asserting the end state.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import type {
  Artifact,
  Communicator,
  GeneratedData,
  PackerConfig,
  ProvisionHook,
  RawConfig,
} from '../../src/core/types.js';
import type { Ui } from '../../src/ui/ui.js';
import { prepareEbs } from '../../src/builders/amazon-ebs/config.js';
import { runEbs } from '../../src/builders/amazon-ebs/run.js';
import * as interpolate from '../../src/interpolate/index.js';
import type { TemplateEngine } from '../../src/config/decode.js';
import { motoEc2, type Moto } from '../env/moto.js';
import { packerConfigWith } from '../../src/core/packer-config.js';
import { ConfigError } from '../../src/util/errors.js';

export class RecordingUi implements Ui {
  readonly lines: string[] = [];
  say(msg: string): void {
    for (const l of msg.split('\n')) this.lines.push(`==> ${l}`);
  }
  message(msg: string): void {
    for (const l of msg.split('\n')) this.lines.push(`    ${l}`);
  }
  error(msg: string): void {
    for (const l of msg.split('\n')) this.lines.push(`!!> ${l}`);
  }
  machine(): void {}
  ask(): Promise<string> {
    return Promise.reject(new Error('no terminal'));
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** Runs each command on the instance; a non-zero status fails like the shell provisioner does. */
export function commandHook(commands: string[], seen: GeneratedData[] = []): ProvisionHook {
  return {
    async run(ui: Ui, comm: Communicator | undefined, data: GeneratedData, signal: AbortSignal) {
      seen.push(data);
      if (!comm) throw new Error('no communicator');
      for (const command of commands) {
        ui.say(`Provisioning with shell script: ${command}`);
        const status = await comm.start({ command }, signal);
        if (status !== 0)
          throw new Error(`Script exited with non-zero exit status: ${status}.Allowed exit codes are: [0]`);
      }
    },
    async runCleanup() {},
  };
}

export function packerConfig(over: Partial<PackerConfig> = {}): PackerConfig {
  return packerConfigWith({ buildName: 'amazon-ebs', builderType: 'amazon-ebs', ...over });
}

/** What prepareEbs refuses `raw` for (its ConfigError's problems; none: []); other errors are thrown. */
export function prepareProblems(raw: RawConfig, pc: PackerConfig = packerConfig()): string[] {
  try {
    prepareEbs([raw], pc);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

export interface BuildOutcome {
  artifact?: Artifact;
  error?: Error;
  ui: RecordingUi;
  data: GeneratedData[];
}

export async function runBuild(
  raw: RawConfig,
  commands: string[],
  pc: PackerConfig = packerConfig(),
): Promise<BuildOutcome> {
  const prep = prepareEbs([raw], pc, engine());
  const ui = new RecordingUi();
  const data: GeneratedData[] = [];
  try {
    const artifact = await runEbs(prep, pc, {
      ui,
      signal: new AbortController().signal,
      hook: commandHook(commands, data),
    });
    return { artifact, ui, data };
  } catch (err) {
    return { error: err as Error, ui, data };
  }
}

export function ec2(moto: Moto): EC2Client {
  return motoEc2(moto);
}

export function tagMap(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/**
 * The real template engine when src/interpolate provides it; until then a stand-in that knows
 * only `{{ .Key }}` (enough for the build-info tags these tests use).
 */
export function engine(): TemplateEngine | undefined {
  const mod = interpolate as unknown as Partial<TemplateEngine>;
  if (typeof mod.render === 'function') return undefined;
  return {
    validateTemplate() {},
    render(text, ctx) {
      const data = (ctx.data ?? {}) as Record<string, unknown>;
      return text.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_m, k: string) =>
        k in data ? String(data[k]) : '<no value>',
      );
    },
  };
}
