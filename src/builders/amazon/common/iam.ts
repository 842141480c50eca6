/**
 * IAM for the amazon builders (spec §B.6): the client (AWS SDK v3, loaded only when a build needs
 * IAM), the endpoints of the global services, the temporary instance profile's names and
 * documents, and the waiters of aws-sdk-go v1.36 (InstanceProfileExists 1 s × 40, RoleExists
 * 1 s × 20) with their error text.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { AccessConfig, PolicyDocument } from './config.js';
import type { CredentialsInput } from './aws.js';
import { awsErrorCode, clientOptions, ec2Endpoint, loadSdk } from './aws.js';
import { logRetries } from './retry.js';
import { sleep } from './waiters.js';

export type IamSdk = typeof import('@aws-sdk/client-iam');

export interface Iam {
  sdk: IamSdk;
  client: IAMClient;
}

/**
 * The endpoint of IAM or STS, else undefined (the SDK's default).
 *
 * - IAM: AWS_ENDPOINT_URL_IAM, else the EC2 chain (custom_endpoint_ec2, AWS_ENDPOINT_URL_EC2,
 *   AWS_ENDPOINT_URL): Packer 1.6.6 set custom_endpoint_ec2 on the whole session its IAM client
 *   came from, so IAM calls went there too.
 * - STS (assume_role): AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL: 1.6.6 assumed the role through
 *   a session of its own, without custom_endpoint_ec2.
 */
export function serviceEndpoint(
  service: 'IAM' | 'STS',
  access: AccessConfig,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const own = env[`AWS_ENDPOINT_URL_${service}`] || '';
  if (own === '')
    return service === 'IAM'
      ? ec2Endpoint(access, env)
      : ec2Endpoint({ ...access, custom_endpoint_ec2: '' }, { AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL });
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(own) ? own : `https://${own}`;
}

/** Creates the IAM client (the SDK is loaded here, not before). */
export async function createIam(
  access: AccessConfig,
  region: string,
  credentials: CredentialsInput | undefined,
): Promise<Iam> {
  const sdk = loadSdk<IamSdk>('@aws-sdk/client-iam');
  // IAM is global; the SDK maps every commercial region to iam.amazonaws.com.
  const opts = await clientOptions(
    access,
    region || 'us-east-1',
    serviceEndpoint('IAM', access),
    credentials,
  );
  const client = new sdk.IAMClient(opts as never);
  logRetries(client, 'IAM');
  noQuotaRetry(client);
  return { sdk, client };
}

interface MiddlewareClient {
  middlewareStack: {
    addRelativeTo(
      mw: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { relation: 'after'; toMiddleware: string; name: string },
    ): void;
  };
}

/**
 * IAM answers a quota (a profile's one role, LimitExceeded) with an error the SDK classifies as
 * throttling (LimitExceededException) and retries for up to a minute. No retry cures a quota, and
 * after a lost AddRoleToInstanceProfile answer it is the expected answer: the call fails at once
 * and the step looks at the profile instead.
 */
function noQuotaRetry(client: unknown): void {
  (client as MiddlewareClient).middlewareStack.addRelativeTo(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err instanceof Error && err.name === 'LimitExceededException') err.name = 'LimitExceeded';
        throw err;
      }
    },
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'kilnIamNoQuotaRetry' },
  );
}

/** The trust policy of the temporary role: EC2 may assume it. */
export const EC2_TRUST_POLICY =
  '{"Version": "2012-10-17","Statement": [{"Effect": "Allow","Principal": {"Service": "ec2.amazonaws.com"},"Action": "sts:AssumeRole"}]}';

function strings(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => String(x));
  return [String(v)];
}

/**
 * The inline policy as Packer serialised its PolicyDocument struct: `Version`, then `Statement`
 * with `Effect`, `Action`, `Resource` per statement (a single string becomes a one-element list,
 * as Packer's weak decoding did).
 */
export function policyJson(doc: PolicyDocument): string {
  const raw = doc as unknown as { Version?: unknown; Statement?: unknown };
  const statements = Array.isArray(raw.Statement) ? raw.Statement : raw.Statement ? [raw.Statement] : [];
  return JSON.stringify({
    Version: raw.Version === undefined ? '' : String(raw.Version),
    Statement: (statements as Record<string, unknown>[]).map((s) => ({
      Effect: s.Effect === undefined ? '' : String(s.Effect),
      Action: strings(s.Action),
      Resource: strings(s.Resource),
    })),
  });
}

/**
 * aws-sdk-go v1's IAM "exists" waiters: the first check at once, then every `delayMs`; success on
 * an answer, retry on NoSuchEntity, any other error fails at once. Exhaustion reads
 * `ResourceNotReady: exceeded wait attempts`.
 */
export async function waitExists(
  check: () => Promise<unknown>,
  attempts: number,
  delayMs: number,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await check();
      return;
    } catch (err) {
      if (awsErrorCode(err) !== 'NoSuchEntity' && awsErrorCode(err) !== 'NoSuchEntityException') throw err;
      if (i >= attempts) throw new Error('ResourceNotReady: exceeded wait attempts'); // parity:
    }
    await sleep(delayMs, signal);
  }
}
