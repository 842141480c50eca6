/**
 * The provisioning step every builder ends with (Packer's commonsteps.StepProvision): builds the
 * generated data, stores it for post-processors, runs the provisioner hook with the communicator
 * from state, and — in its cleanup, when the build has an error — runs the error-cleanup
 * provisioner.
 */
import type { Ui } from '../../ui/ui.js';
import type { Communicator, GeneratedData, ProvisionHook } from '../types.js';
import { debugLog } from '../../util/log.js';
import { toError, type RunState, type Step } from './step.js';
import { STEP_PROVISION_NAME } from './on-error.js';

/**
 * Connection facts of the communicator config (Packer's `communicator_config` state entry) that
 * provisioners see as generated data. Absent with `communicator: none`.
 */
export interface ConnectionInfo {
  /** `ssh`, `winrm`, … */
  type: string;
  host: string;
  port: number;
  user: string;
  password: string;
  sshPublicKey?: string;
  sshPrivateKey?: string;
  sshPrivateKeyFile?: string;
  sshAgentAuth?: boolean;
  winrmPassword?: string;
  /** The bastion the connection went through, for provisioners that connect on their own (ansible, use_proxy false). */
  bastion?: { host: string; port: number; user: string; privateKey?: string; agentAuth?: boolean };
}

/** The state StepProvision reads and writes; builder states extend it. */
export interface ProvisionState extends RunState {
  /** Set by the connect step (a dummy one with `communicator: none`). */
  communicator?: Communicator;
  /** Set by the connect step unless the communicator is `none`. */
  connection?: ConnectionInfo;
  /** The builder's instance id (`Null` for the null builder). */
  instanceId?: string;
  /** Builder-provided generated data; StepProvision replaces it with the complete map. */
  generatedData?: GeneratedData;
  /** The builder's HTTP server address, when it has one. */
  httpIp?: string;
  httpPort?: number;
}

/**
 * The generated data provisioners see at run time (Packer's PopulateProvisionHookData): builder
 * data, then ID, PackerRunUUID, PackerHTTP*, and the connection facts when there are any.
 */
export function provisionHookData(state: ProvisionState, runUuid: string): GeneratedData {
  const data: GeneratedData = { ...(state.generatedData ?? {}) };
  data.ID = state.instanceId ?? 'ERR_ID_NOT_IMPLEMENTED_BY_BUILDER';
  data.PackerRunUUID = runUuid;
  data.PackerHTTPIP = state.httpIp ?? 'ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER';
  data.PackerHTTPPort = state.httpPort !== undefined ? String(state.httpPort) : 'ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER';
  data.PackerHTTPAddr =
    state.httpIp !== undefined && state.httpPort !== undefined
      ? `${state.httpIp}:${state.httpPort}`
      : 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER';
  const c = state.connection;
  if (!c) return data;
  data.Host = c.host;
  data.Port = String(c.port);
  data.User = c.user;
  data.Password = c.password;
  data.ConnType = c.type;
  data.SSHPublicKey = c.sshPublicKey ?? '';
  data.SSHPrivateKey = c.sshPrivateKey ?? '';
  data.SSHPrivateKeyFile = c.sshPrivateKeyFile ?? '';
  data.SSHAgentAuth = String(c.sshAgentAuth ?? false);
  data.WinRMPassword = c.winrmPassword ?? '';
  if (c.bastion) {
    data.SSHBastionHost = c.bastion.host;
    data.SSHBastionPort = String(c.bastion.port);
    data.SSHBastionUser = c.bastion.user;
    data.SSHBastionPrivateKey = c.bastion.privateKey ?? '';
    data.SSHBastionAgentAuth = String(c.bastion.agentAuth ?? false);
  }
  return data;
}

/**
 * Creates the provisioning step. `runUuid` is the run's PACKER_RUN_UUID (PackerConfig.runUuid).
 * Provisioner failure → `state.error`, halt. Cleanup with an error set → `Provisioning step had
 * errors: …` and the error-cleanup provisioner; its failure replaces the error with
 * `Cleanup failed: <err>. Original Provisioning error: <orig>`.
 */
export function stepProvision<S extends ProvisionState>(hook: ProvisionHook, runUuid: string): Step<S> {
  return {
    name: STEP_PROVISION_NAME,
    async run(state, { ui, signal }) {
      const data = provisionHookData(state, runUuid);
      state.generatedData = data;
      debugLog('Running the provision hook');
      try {
        await hook.run(ui, state.communicator, data, signal);
      } catch (e) {
        if (signal.aborted) {
          // Packer stops waiting for the hook on cancellation, so an interrupted build has no error.
          debugLog(`Cancelling provisioning due to context cancellation: ${toError(e).message}`);
          return 'halt';
        }
        state.error = toError(e);
        return 'halt';
      }
      if (signal.aborted) {
        debugLog('Cancelling provisioning due to context cancellation');
        return 'halt';
      }
      return 'continue';
    },
    async cleanup(state, ui: Ui) {
      if (!state.error) return;
      const data = provisionHookData(state, runUuid);
      state.generatedData = data;
      ui.say('Provisioning step had errors: Running the cleanup provisioner, if present...'); // parity
      try {
        await hook.runCleanup(ui, state.communicator, data);
      } catch (e) {
        const orig = state.error;
        state.error = new Error(`Cleanup failed: ${toError(e).message}. Original Provisioning error: ${orig.message}`); // parity
      }
    },
  };
}
