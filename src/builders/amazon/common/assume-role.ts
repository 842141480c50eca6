/**
 * `assume_role` (spec §A.1, §C.1 step 3): the base credentials wrapped in an STS AssumeRole
 * provider. The role is assumed once when the build starts (a failure stops the build with
 * aws-sdk-go-base's "cannot be assumed" text) and again shortly before the credentials expire; all
 * clients of the build (EC2 in every region, IAM) share the one provider.
 */
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { awsErrorText, clientOptions, loadSdk, type StaticCredentials } from './aws.js';
import type { AccessConfig, AssumeRoleConfig } from './config.js';
import { serviceEndpoint } from './iam.js';

type StsSdk = typeof import('@aws-sdk/client-sts');

/** Credentials are renewed this long before they expire. */
const EXPIRY_WINDOW_MS = 5 * 60_000;

/** The AssumeRole request of the `assume_role` block (aws-sdk-go's defaults where a field is unset). */
export function assumeRoleInput(r: AssumeRoleConfig, now: Date = new Date()): AssumeRoleCommandInput {
  return {
    RoleArn: r.role_arn,
    // aws-sdk-go's stscreds: the session is named after the time when no name is given.
    RoleSessionName: r.session_name !== '' ? r.session_name : String(now.getTime() * 1_000_000),
    // stscreds' default duration: 15 minutes.
    DurationSeconds: r.duration_seconds > 0 ? r.duration_seconds : 900,
    ...(r.external_id !== '' ? { ExternalId: r.external_id } : {}),
    ...(r.policy !== '' ? { Policy: r.policy } : {}),
    ...(r.policy_arns.length > 0 ? { PolicyArns: r.policy_arns.map((arn) => ({ arn })) } : {}),
    ...(Object.keys(r.tags).length > 0
      ? { Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })) }
      : {}),
    ...(r.transitive_tag_keys.length > 0 ? { TransitiveTagKeys: r.transitive_tag_keys } : {}),
  };
}

/** aws-sdk-go-base's CannotAssumeRoleError text (without its final newline). */
export function cannotAssumeRoleText(roleArn: string, err: unknown): string {
  // parity:
  return `IAM Role (${roleArn}) cannot be assumed.

There are a number of possible causes of this - the most common are:
  * The credentials used in order to assume the role are invalid
  * The credentials do not have appropriate permission to assume the role
  * The role ARN is not valid

Error: ${awsErrorText(err)}`;
}

/**
 * Assumes the role now (throws the "cannot be assumed" error) and returns a provider that hands out
 * the assumed credentials, renewing them before they expire.
 */
export async function assumeRoleProvider(
  access: AccessConfig & { assume_role: AssumeRoleConfig },
  region: string,
  base: StaticCredentials | undefined,
): Promise<() => Promise<StaticCredentials>> {
  const sdk = loadSdk<StsSdk>('@aws-sdk/client-sts');
  // Without fixed keys the STS client finds the base credentials itself (profile, SDK chain).
  const opts = await clientOptions(access, region || 'us-east-1', serviceEndpoint('STS', access), base);
  const client = new sdk.STSClient(opts as never);
  const role = access.assume_role;
  const fetch = async (): Promise<StaticCredentials> => {
    let out;
    try {
      out = await client.send(new sdk.AssumeRoleCommand(assumeRoleInput(role)));
    } catch (err) {
      throw new Error(cannotAssumeRoleText(role.role_arn, err));
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) {
      throw new Error(cannotAssumeRoleText(role.role_arn, new Error('AssumeRole returned no credentials')));
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  };
  let current = await fetch();
  let pending: Promise<StaticCredentials> | undefined;
  return () => {
    const exp = current.expiration?.getTime();
    if (exp === undefined || exp - Date.now() > EXPIRY_WINDOW_MS) return Promise.resolve(current);
    pending ??= fetch()
      .then((c) => (current = c))
      .finally(() => (pending = undefined));
    return pending;
  };
}
