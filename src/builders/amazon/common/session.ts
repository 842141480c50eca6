/**
 * The credentials every client of an amazon build uses (spec §C.1): Vault's keys when
 * `vault_aws_engine` is set, else the static keys of 1.6.6's first three providers (config,
 * environment, credentials file); then, with `assume_role`, those (or the SDK's default chain)
 * wrapped in an AssumeRole provider. `undefined` leaves the choice to the SDK (profile, SSO,
 * credential_process, container and instance metadata).
 */
import { staticCredentials, type CredentialsInput, type StaticCredentials } from './aws.js';
import type { AccessConfig } from './config.js';

export async function resolveCredentials(
  access: AccessConfig,
  region: string,
): Promise<CredentialsInput | undefined> {
  let base: StaticCredentials | undefined;
  if (access.vault_aws_engine) {
    const { readVaultCredentials } = await import('./vault.js');
    base = await readVaultCredentials(access.vault_aws_engine);
  } else {
    base = staticCredentials(access);
  }
  const role = access.assume_role;
  if (!role) return base;
  const { assumeRoleProvider } = await import('./assume-role.js');
  return assumeRoleProvider({ ...access, assume_role: role }, region, base);
}
