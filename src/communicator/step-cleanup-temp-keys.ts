/**
 * ssh_clear_authorized_keys (Packer SDK `commonsteps/step_cleanup_temp_keys.go`, spec §7.8): before
 * the image is taken, delete the temporary key's line from the user's and root's authorized_keys.
 * Failures are only logged.
 *
 * `sed -i` replaces the file (read, write a copy, rename): two builds editing the same file at once
 * (several builders of one run reaching one machine, as in a local test environment) would each
 * write back the other's key. Builds of one run that reach the same user@host:port therefore run
 * these commands one after the other; the commands themselves stay Packer's.
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

/** The end of the queue of cleanups per user@host:port in this process. */
const queues = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier call with the same key has settled. */
async function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = before.then(() => mine);
  queues.set(key, tail);
  await before;
  try {
    return await fn();
  } finally {
    release();
    if (queues.get(key) === tail) queues.delete(key);
  }
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
      const c = state.connection;
      const target = c ? `${c.user}@${c.host}:${c.port}` : '';
      await oneAtATime(target, async () => {
        for (const command of cleanupTempKeysCommands(cfg.keyPairName)) {
          try {
            const status = await comm.start({ command }, signal);
            if (status !== 0) debugLog(`Error cleaning up authorized_keys (exit ${status}): ${command}`);
          } catch (e) {
            debugLog(`Error cleaning up authorized_keys: ${(e as Error).message}`);
          }
        }
      });
      return 'continue';
    },
  };
}
