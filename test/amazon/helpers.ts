/**
 * Shared pieces of the amazon-ebs tests: a recording UI, a provision hook that runs real commands
 * over the real communicator, a PackerConfig, the builder run, and an EC2 client on the test moto
 * for asserting the end state.
 */
import { randomUUID } from 'node:crypto';
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
import { motoEc2, type Moto, type MotoInstance } from '../env/moto.js';

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
  return {
    buildName: 'amazon-ebs',
    builderType: 'amazon-ebs',
    coreVersion: '1.6.6',
    debug: false,
    force: false,
    onError: 'cleanup',
    templatePath: '',
    userVariables: {},
    sensitive: [],
    initTime: new Date(),
    runUuid: randomUUID(),
    ...over,
  };
}

/** A reference-like template config (§ lab build/config.json) pointed at the test environment. */
export function referenceConfig(moto: Moto, inst: MotoInstance, over: RawConfig = {}): RawConfig {
  return {
    ami_name: `kiln-test-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
    instance_type: 't4g.medium',
    region: 'us-east-1',
    source_ami_filter: {
      filters: {
        'virtualization-type': 'hvm',
        name: 'al2023-ami-2023.*-kernel-6.1-arm64',
        'root-device-type': 'ebs',
      },
      owners: 'amazon',
      most_recent: true,
    },
    ssh_username: inst.user,
    ssh_bastion_host: inst.bastion.host,
    ssh_bastion_port: String(inst.bastion.port),
    ssh_bastion_username: inst.bastion.user,
    ssh_bastion_agent_auth: true,
    ssh_timeout: '1m',
    ssh_clear_authorized_keys: 'true',
    iam_instance_profile: '',
    tags: { Name: 'kiln-test', Environment: 'dev' },
    vpc_filter: { filters: { 'tag:Environment': 'dev', isDefault: 'false' } },
    subnet_filter: { filters: { 'tag:Name': 'vpc-dev-private-us-east-*' }, most_free: true },
    security_group_ids: [moto.seed.security_group_id],
    launch_block_device_mappings: [
      {
        device_name: '/dev/xvda',
        encrypted: true,
        kms_key_id: moto.seed.kms_key_id,
        delete_on_termination: true,
        volume_type: 'gp3',
      },
    ],
    custom_endpoint_ec2: moto.endpoint,
    ssh_host: '127.0.0.1',
    ssh_port: String(inst.port),
    ...over,
  };
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

export function testEnv(inst: MotoInstance): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.SSH_AUTH_SOCK = inst.agentSock;
  process.env.KILN_TEST_SSH_RETRY_MS = '500';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_MAX_ATTEMPTS;
  delete process.env.AWS_POLL_DELAY_SECONDS;
  delete process.env.AWS_TIMEOUT_SECONDS;
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
