/**
 * The amazon end-to-end tests' one fixture: moto, the "instance" (sshd + bastion + ssh-agent, see
 * moto.ts), a temporary directory, an EC2 client on moto, kiln runners that carry the fake AWS keys
 * and the agent, and the reference-like builder pointed at all of it — started before the suite's
 * tests and stopped, all of it, after them.
 *
 *   const env = amazonEnv({ dir: 'kiln-ebs-cli-' });
 *   it('builds', async () => {
 *     const file = await env.writeTemplate('ok.json', { builders: [env.builder()] });
 *     const { code, out } = await env.kiln(['build', '-color=false', file]);
 *   });
 *
 * Tests never dial the 10.x/54.x addresses moto invents: the builder sets ssh_host/ssh_port.
 */
import { after, before } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  AWS_TEST_ENV,
  runKiln,
  runKilnOnTerminal,
  startKiln,
  type KilnOptions,
  type KilnResult,
  type OnPause,
  type RunningKiln,
  type TerminalOptions,
  type TerminalResult,
} from './kiln-cli.js';
import { motoEc2, startMoto, startMotoInstance, type Moto, type MotoInstance } from './moto.js';

export interface AmazonEnvOptions {
  /** Prefix of the temporary directory's name (default `kiln-amazon-`). */
  dir?: string;
  /**
   * Also set this process's environment for builds run in-process (runEbs): see `useProcessEnv`.
   * Default false (tests that only run the CLI leave the environment alone).
   */
  processEnv?: boolean;
  /**
   * Runs in the same `before` hook, once the environment is up (the test's own clients, proxies,
   * files). Use this, not a second top-level `before`: on Node 20 a top-level `before` runs as soon
   * as it is registered, so it would not wait for the environment.
   */
  setUp?: () => void | Promise<void>;
  /** Runs in the same `after` hook, before the environment stops. */
  tearDown?: () => void | Promise<void>;
  /** Extra environment for the moto server (see test/env/moto/server.py). */
  motoEnv?: Record<string, string>;
}

/** Settings for any AWS SDK client (EC2, IAM, STS) on the test moto, with its fake static keys. */
export interface MotoClientConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface AmazonEnv {
  readonly moto: Moto;
  readonly inst: MotoInstance;
  /** A temporary directory of the suite's own, removed at the end. */
  readonly dir: string;
  /** EC2 on moto, in moto's seeded region, for set-up and end-state checks. */
  readonly ec2: EC2Client;
  clientConfig(region?: string): MotoClientConfig;
  /** What kiln needs in its environment here: the fake AWS keys and the agent holding the bastion key. */
  kilnEnv(): Record<string, string>;
  /** `runKiln` with `kilnEnv()` under `opts.env`. */
  kiln(args: string[], opts?: KilnOptions): Promise<KilnResult>;
  /** `startKiln` with `kilnEnv()` under `opts.env`. */
  startKiln(args: string[], opts?: KilnOptions): RunningKiln;
  /** `runKilnOnTerminal` with `kilnEnv()` under `opts.env`. */
  kilnOnTerminal(args: string[], opts: TerminalOptions, onPause: OnPause): Promise<TerminalResult>;
  /** How kiln reaches this environment: EC2 endpoint, ssh_host/ssh_port, the bastion with agent auth. */
  access(): Record<string, unknown>;
  /** `referenceConfig` for this environment (a builder's raw config, for in-process builds). */
  config(over?: Record<string, unknown>): Record<string, unknown>;
  /** The same as a template's builder (`type: amazon-ebs`). */
  builder(over?: Record<string, unknown>): Record<string, unknown>;
  /** Writes `template` as JSON to `name` in `dir`; returns the file's path. */
  writeTemplate(name: string, template: unknown): Promise<string>;
}

export interface StartedAmazonEnv extends AmazonEnv {
  stop(): Promise<void>;
}

/** How kiln reaches moto and the instance (through the bastion, agent auth). */
export function motoAccess(moto: Moto, inst: MotoInstance): Record<string, unknown> {
  return {
    custom_endpoint_ec2: moto.endpoint,
    ssh_username: inst.user,
    ssh_host: '127.0.0.1',
    ssh_port: String(inst.port),
    ssh_bastion_host: inst.bastion.host,
    ssh_bastion_port: String(inst.bastion.port),
    ssh_bastion_username: inst.bastion.user,
    ssh_bastion_agent_auth: true,
  };
}

/**
 * The lab reference template's builder (§ lab build/config.json: AMI filter, VPC and subnet filters,
 * KMS-encrypted gp3 root volume, ssh_clear_authorized_keys) with `access` (how it is reached: ssh_*
 * and endpoint settings), the security group and KMS key given; `over` replaces keys.
 */
export function labBuilderConfig(
  access: Record<string, unknown>,
  ids: { security_group_id: string; kms_key_id: string },
  over: Record<string, unknown> = {},
): Record<string, unknown> {
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
    ...access,
    ssh_timeout: '1m',
    ssh_clear_authorized_keys: 'true',
    iam_instance_profile: '',
    tags: { Name: 'kiln-test', Environment: 'dev' },
    vpc_filter: { filters: { 'tag:Environment': 'dev', isDefault: 'false' } },
    subnet_filter: { filters: { 'tag:Name': 'vpc-dev-private-us-east-*' }, most_free: true },
    security_group_ids: [ids.security_group_id],
    launch_block_device_mappings: [
      {
        device_name: '/dev/xvda',
        encrypted: true,
        kms_key_id: ids.kms_key_id,
        delete_on_termination: true,
        volume_type: 'gp3',
      },
    ],
    ...over,
  };
}

/**
 * A reference-like builder config (`labBuilderConfig`) pointed at the test environment; `over`
 * replaces keys.
 */
export function referenceConfig(
  moto: Moto,
  inst: MotoInstance,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return labBuilderConfig(motoAccess(moto, inst), moto.seed, over);
}

/**
 * Sets this process's environment for builds run in-process: the fake static keys, no instance
 * metadata or profile, the agent holding the bastion key, short SSH retries, no AWS_* tuning left
 * over from the caller's shell.
 */
export function useProcessEnv(inst: MotoInstance): void {
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

/** Starts the environment now (for scripts and benchmarks); `stop()` ends every part of it. */
export async function startAmazonEnv(opts: AmazonEnvOptions = {}): Promise<StartedAmazonEnv> {
  let moto: Moto | undefined;
  let inst: MotoInstance | undefined;
  let dir: string | undefined;
  const stop = async () => {
    // Every part, even when one of them fails to stop.
    const results = await Promise.allSettled([
      (async () => {
        await inst?.stop();
        await moto?.stop();
      })(),
      dir ? rm(dir, { recursive: true, force: true }) : undefined,
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    moto = await startMoto({ env: opts.motoEnv });
    inst = await startMotoInstance(moto);
    dir = await mkdtemp(join(tmpdir(), opts.dir ?? 'kiln-amazon-'));
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  if (opts.processEnv) useProcessEnv(inst);
  return { ...envOn(moto, inst, dir), stop };
}

/**
 * The environment of the current suite (file or describe): started in a `before` hook, stopped in an
 * `after` hook. Its fields may be read from the tests and later hooks, not before.
 */
export function amazonEnv(opts: AmazonEnvOptions = {}): AmazonEnv {
  let started: StartedAmazonEnv | undefined;
  before(async () => {
    started = await startAmazonEnv(opts);
    await opts.setUp?.();
  });
  after(async () => {
    try {
      await opts.tearDown?.();
    } finally {
      await started?.stop();
    }
  });
  const get = (): StartedAmazonEnv => {
    if (!started) throw new Error('Cannot use the amazon test environment: its before() hook has not run');
    return started;
  };
  return {
    get moto() {
      return get().moto;
    },
    get inst() {
      return get().inst;
    },
    get dir() {
      return get().dir;
    },
    get ec2() {
      return get().ec2;
    },
    clientConfig: (region) => get().clientConfig(region),
    kilnEnv: () => get().kilnEnv(),
    kiln: (args, o) => get().kiln(args, o),
    startKiln: (args, o) => get().startKiln(args, o),
    kilnOnTerminal: (args, o, onPause) => get().kilnOnTerminal(args, o, onPause),
    access: () => get().access(),
    config: (over) => get().config(over),
    builder: (over) => get().builder(over),
    writeTemplate: (name, template) => get().writeTemplate(name, template),
  };
}

function envOn(moto: Moto, inst: MotoInstance, dir: string): AmazonEnv {
  const kilnEnv = () => ({ ...AWS_TEST_ENV, SSH_AUTH_SOCK: inst.agentSock });
  const withEnv = <T extends KilnOptions>(o: T = {} as T): T => ({ ...o, env: { ...kilnEnv(), ...o.env } });
  return {
    moto,
    inst,
    dir,
    ec2: motoEc2(moto),
    clientConfig: (region = moto.seed.region) => ({
      region,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    }),
    kilnEnv,
    kiln: (args, o) => runKiln(args, withEnv(o)),
    startKiln: (args, o) => startKiln(args, withEnv(o)),
    kilnOnTerminal: (args, o, onPause) => runKilnOnTerminal(args, withEnv(o), onPause),
    access: () => motoAccess(moto, inst),
    config: (over) => referenceConfig(moto, inst, over),
    builder: (over) => ({ type: 'amazon-ebs', ...referenceConfig(moto, inst, over) }),
    async writeTemplate(name, template) {
      const file = join(dir, name);
      await writeFile(file, JSON.stringify(template));
      return file;
    },
  };
}
