/**
 * The null builder (Packer's builder/null, spec §8.2): connects with the configured communicator
 * (nothing to connect with `communicator: none`) and runs the provisioners; creates nothing.
 * Steps: StepConnect, StepProvision.
 */
import type { Artifact, BuildContext, Builder, PackerConfig, PrepareResult, RawConfig } from '../../core/types.js';
import { runSteps, stepProvision, type ProvisionState, type StepList } from '../../core/runner/index.js';
import { stepConnect } from '../../communicator/step-connect.js';
import { sshOptions } from '../../communicator/connect-options.js';
import { InternalError } from '../../util/errors.js';
import { decodeNullConfig, type NullConfig } from './config.js';

/** Packer's NullArtifact. */
export class NullArtifact implements Artifact {
  readonly builderId = 'fnoeding.null';
  readonly id = 'Null';
  readonly files: string[] = [];
  toString(): string {
    return 'Did not export anything. This is the null builder'; // parity
  }
  state(name: string): unknown {
    return name === 'generated_data' ? { ID: 'Null' } : undefined;
  }
  async destroy(): Promise<void> {}
}

/** The null builder's step state. */
export type NullState = ProvisionState;

/** The null builder's recipe: a pure function of the config (and the build's hook). */
export function nullSteps(cfg: NullConfig, ctx: BuildContext, pc: PackerConfig): StepList<NullState> {
  const ssh = cfg.communicator === 'ssh' ? sshOptions(cfg) : undefined;
  return [
    stepConnect<NullState>({
      type: cfg.communicator,
      ssh,
      timeoutMs: cfg.sshTimeout,
      handshakeAttempts: cfg.sshHandshakeAttempts,
      pauseBeforeConnectingMs: cfg.pauseBeforeConnecting,
      connectionInfo: () => ({
        sshPrivateKeyFile: cfg.sshPrivateKeyFile,
        sshPublicKey: cfg.sshPublicKey,
        sshPrivateKey: cfg.sshPrivateKey,
      }),
      ...(process.env.KILN_TEST_SSH_RETRY_MS ? { retryDelayMs: Number(process.env.KILN_TEST_SSH_RETRY_MS) } : {}),
    }),
    stepProvision<NullState>(ctx.hook, pc.runUuid),
  ];
}

export class NullBuilder implements Builder {
  private cfg?: NullConfig;
  private pc?: PackerConfig;

  async prepare(raws: RawConfig[], pc: PackerConfig): Promise<PrepareResult> {
    this.cfg = decodeNullConfig(raws, pc);
    this.pc = pc;
    return {};
  }

  async run(ctx: BuildContext): Promise<Artifact | undefined> {
    const { cfg, pc } = this;
    if (!cfg || !pc) throw new InternalError('null builder: run called before prepare');
    const state: NullState = { instanceId: 'Null' };
    await runSteps(nullSteps(cfg, ctx, pc), state, { ...ctx, onError: pc.onError, debug: pc.debug });
    if (state.error) throw state.error;
    return new NullArtifact();
  }
}
