/**
 * The contracts between kiln's core and its components (builders, provisioners, post-processors,
 * communicators). Mirrors Packer 1.6.6's packer.Builder / Provisioner / PostProcessor / Artifact /
 * Communicator interfaces, with typed results instead of tuples and AbortSignal for cancellation.
 */
import type { Readable, Writable } from 'node:stream';
import type { Ui } from '../ui/ui.js';
import type { StepTimings } from './runner/timings.js';

/** One raw configuration layer as it came from the template (plus override layers). */
export type RawConfig = Record<string, unknown>;

/** Values the core hands every component (Packer's `packer_*` keys). */
export interface PackerConfig {
  buildName: string;
  builderType: string;
  coreVersion: string;
  debug: boolean;
  force: boolean;
  onError: OnError;
  templatePath: string;
  userVariables: Record<string, string>;
  /** Sensitive values registered for masking. */
  sensitive: string[];
  /** The run's fixed instant for {{timestamp}}/{{isotime}}. */
  initTime: Date;
  /** PACKER_RUN_UUID of this run. */
  runUuid: string;
}

export type OnError = 'cleanup' | 'abort' | 'ask' | 'run-cleanup-provisioner';

/** Generated data (Packer's "generated data"/placeholder map): ID, Host, Port, User, SSHPrivateKey … */
export type GeneratedData = Record<string, string>;

export interface Artifact {
  /** e.g. "mitchellh.amazonebs", "packer.post-processor.manifest" */
  readonly builderId: string;
  readonly id: string;
  readonly files: string[];
  /** Packer's Artifact.String(), printed after `--> name: ` */
  toString(): string;
  /** Builder-specific state, e.g. "atlas.artifact.metadata", "generated_data". */
  state(name: string): unknown;
  destroy(): Promise<void>;
}

export interface PrepareResult {
  /** Keys this builder adds to generated data (SourceAMI, BuildRegion …). */
  generatedDataKeys?: string[];
  warnings?: string[];
}

/** Runs the provisioners of a build with the communicator the builder connected. */
export interface ProvisionHook {
  run(ui: Ui, comm: Communicator | undefined, data: GeneratedData, signal: AbortSignal): Promise<void>;
  /** Runs the error-cleanup provisioner, if the template has one. */
  runCleanup(ui: Ui, comm: Communicator | undefined, data: GeneratedData): Promise<void>;
}

export interface BuildContext {
  ui: Ui;
  signal: AbortSignal;
  hook: ProvisionHook;
  /** Where the step runner records step durations (kiln's per-build step table); pass ctx to runSteps. */
  stepTimings?: StepTimings;
}

export interface Builder {
  /** Decodes and validates every layer with no side effects; throws a ConfigError listing every problem. */
  prepare(raws: RawConfig[], pc: PackerConfig): Promise<PrepareResult>;
  /** Runs the build. Returns undefined when there is nothing to report (e.g. cancelled). */
  run(ctx: BuildContext): Promise<Artifact | undefined>;
}

export interface ProvisionContext {
  ui: Ui;
  comm: Communicator;
  data: GeneratedData;
  signal: AbortSignal;
}

export interface ProvisionerPrepareResult {
  warnings?: string[];
}

export interface Provisioner {
  /** raws = [template config, override (if any)]; placeholder = the prepare-time generated data. */
  /** May return warnings (kiln addition), shown like a builder's prepare warnings. */
  prepare(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void | ProvisionerPrepareResult>;
  provision(ctx: ProvisionContext): Promise<void>;
}

export interface PostProcessResult {
  artifact: Artifact | undefined;
  keep: boolean;
  forceOverride: boolean;
}

export interface PostProcessor {
  configure(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): Promise<void>;
  postProcess(ui: Ui, artifact: Artifact, signal: AbortSignal): Promise<PostProcessResult>;
}

/** A command to run on the remote machine. */
export interface RemoteCommand {
  command: string;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/** Exit status reported when the connection dropped before the command exited (Packer's sentinel). */
export const DISCONNECT_EXIT_STATUS = 2300218;

export interface FileInfo {
  mode?: number;
  size?: number;
  mtime?: Date;
}

/** Packer's packer.Communicator, promise-based. */
export interface Communicator {
  /** Starts a command and resolves with its exit status once it ends. */
  start(cmd: RemoteCommand, signal?: AbortSignal): Promise<number>;
  upload(remotePath: string, data: Readable | Buffer, info?: FileInfo): Promise<void>;
  uploadDir(remoteDir: string, localDir: string, exclude?: string[]): Promise<void>;
  download(remotePath: string, out: Writable): Promise<void>;
  downloadDir(remoteDir: string, localDir: string, exclude?: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface BuilderFactory {
  create(): Builder;
}
export interface ProvisionerFactory {
  create(): Provisioner;
}
export interface PostProcessorFactory {
  create(): PostProcessor;
}
