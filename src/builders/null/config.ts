/**
 * The null builder's configuration (Packer's builder/null/config.go): the common `packer_*`
 * values plus the communicator options, with the null builder's own checks on top of the
 * communicator's (a host, a user, exactly one authentication method).
 */
import { decodeConfig, Problems, type DecodedConfig } from '../../config/decode.js';
import type { PackerConfig, RawConfig } from '../../core/types.js';
import {
  commHost,
  commPassword,
  commUser,
  communicatorFields,
  validateCommunicator,
} from '../../communicator/config.js';

/** The null builder's field table: the communicator options only. */
export const nullFields = { ...communicatorFields };

/** The decoded null builder config. */
export type NullConfig = DecodedConfig<typeof nullFields>;

/**
 * Decodes and validates the null builder's config layers. No side effects beyond reading key
 * files; throws a ConfigError listing every problem (communicator problems first).
 */
export function decodeNullConfig(raws: RawConfig[], pc: PackerConfig): NullConfig {
  const cfg = decodeConfig(nullFields, raws, { pc });
  const problems = new Problems();
  validateCommunicator(cfg, problems);
  if (cfg.communicator !== 'none') {
    if (commHost(cfg) === '') {
      problems.add('a Host must be specified, please reference your communicator documentation'); // parity:
    }
    if (commUser(cfg) === '') {
      problems.add('a Username must be specified, please reference your communicator documentation'); // parity:
    }
    if (!cfg.sshAgentAuth && commPassword(cfg) === '' && cfg.sshPrivateKeyFile === '') {
      problems.add('one authentication method must be specified, please reference your communicator documentation'); // parity:
    }
    const agent = cfg.sshAgentAuth;
    const password = cfg.sshPassword !== '';
    const keyFile = cfg.sshPrivateKeyFile !== '';
    if ((agent && (password || keyFile)) || (password && keyFile)) {
      problems.add('only one of ssh_agent_auth, ssh_password, and ssh_private_key_file must be specified'); // parity:
    }
  }
  problems.throwIfAny();
  return cfg;
}
