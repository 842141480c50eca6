/**
 * ssh_clear_authorized_keys (Packer SDK `commonsteps/step_cleanup_temp_keys.go`, spec §7.8): before
 * the image is taken, delete the temporary key's line from the user's and root's authorized_keys.
 * Failures are only logged.
 */
import type { ProvisionState, Step } from '../core/runner/index.js';
import { debugLog } from '../util/log.js';

/** The two commands Packer runs, byte for byte. */
export function cleanupTempKeysCommands(keyPairName: string): string[] {
  return [
    `sed -i.bak '/ ${keyPairName}$/d' ~/.ssh/authorized_keys; rm ~/.ssh/authorized_keys.bak`, // parity:
    `sudo sed -i.bak '/ ${keyPairName}$/d' /root/.ssh/authorized_keys; sudo rm /root/.ssh/authorized_keys.bak`, // parity:
  ];
}

export interface CleanupTempKeysConfig {
  /** ssh_clear_authorized_keys */
  clearAuthorizedKeys: boolean;
  /** communicator type */
  type: string;
  /** temporary_key_pair_name (empty: the builder generated no key) */
  keyPairName: string;
}

export function stepCleanupTempKeys<S extends ProvisionState>(cfg: CleanupTempKeysConfig): Step<S> {
  return {
    name: 'StepCleanupTempKeys',
    async run(state, { ui, signal }) {
      if (!cfg.clearAuthorizedKeys || (cfg.type || 'ssh') !== 'ssh' || !cfg.keyPairName) return 'continue';
      const comm = state.communicator;
      if (!comm) return 'continue';
      ui.say('Trying to remove ephemeral keys from authorized_keys files'); // parity:
      for (const command of cleanupTempKeysCommands(cfg.keyPairName)) {
        try {
          const status = await comm.start({ command }, signal);
          if (status !== 0) debugLog(`Error cleaning up authorized_keys (exit ${status}): ${command}`);
        } catch (e) {
          debugLog(`Error cleaning up authorized_keys: ${(e as Error).message}`);
        }
      }
      return 'continue';
    },
  };
}
