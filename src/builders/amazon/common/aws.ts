/**
 * The EC2 client of an amazon build: AWS SDK v3, imported lazily (only when a build runs), with
 * Packer 1.6.6's credential precedence (static → environment → shared credentials file → the SDK's
 * default chain), an explicit retry budget and adaptive retry mode, and the endpoint override
 * chain custom_endpoint_ec2 → AWS_ENDPOINT_URL_EC2 → AWS_ENDPOINT_URL.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { codeCacheStats, requireWithCodeCache } from '../../../util/code-cache.js';
import { debugLog, logEnabled } from '../../../util/log.js';
import type { AccessConfig } from './config.js';
import { logRetries, sdkRetryOptions } from './retry.js';

export type Ec2Sdk = typeof import('@aws-sdk/client-ec2');

export interface Ec2 {
  sdk: Ec2Sdk;
  client: EC2Client;
  region: string;
}

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Resolved credentials for every client of a build: fixed keys, or a provider (assume_role). */
export type CredentialsInput = StaticCredentials | (() => Promise<StaticCredentials>);

/** The endpoint for EC2 calls, or undefined for the SDK's regional default. */
export function ec2Endpoint(access: AccessConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const e = access.custom_endpoint_ec2 || env.AWS_ENDPOINT_URL_EC2 || env.AWS_ENDPOINT_URL || '';
  if (e === '') return undefined;
  // Packer accepted a bare host name; the v3 SDK needs a URL.
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `https://${e}`;
}

/** The build region: `region`, else the environment (AWS_REGION, AWS_DEFAULT_REGION). */
export function resolveRegion(access: AccessConfig, env: NodeJS.ProcessEnv = process.env): string {
  return access.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || '';
}

/** Static keys of 1.6.6's first three providers (config, environment, credentials file). */
export function staticCredentials(
  access: AccessConfig,
  env: NodeJS.ProcessEnv = process.env,
): StaticCredentials | undefined {
  if (access.access_key && access.secret_key) {
    return {
      accessKeyId: access.access_key,
      secretAccessKey: access.secret_key,
      sessionToken: access.token || undefined,
    };
  }
  const id = env.AWS_ACCESS_KEY_ID || env.AWS_ACCESS_KEY;
  const secret = env.AWS_SECRET_ACCESS_KEY || env.AWS_SECRET_KEY;
  if (id && secret)
    return { accessKeyId: id, secretAccessKey: secret, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  const file =
    expandHome(access.shared_credentials_file) ||
    env.AWS_SHARED_CREDENTIALS_FILE ||
    join(homedir(), '.aws', 'credentials');
  const profile = access.profile || env.AWS_PROFILE || 'default';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const section = iniSection(text, profile);
  if (section.aws_access_key_id && section.aws_secret_access_key) {
    return {
      accessKeyId: section.aws_access_key_id,
      secretAccessKey: section.aws_secret_access_key,
      sessionToken: section.aws_session_token || undefined,
    };
  }
  return undefined;
}

function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return p;
}

function iniSection(text: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (head) {
      current = head[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (current === name && eq > 0) out[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return out;
}

/**
 * Loads one AWS SDK client package with require() (an import() of its CommonJS bundle would also
 * lex the whole multi-megabyte file for its export names, about 0.2 s more at every build start).
 */
export function loadSdk<T>(pkg: string): T {
  // kiln supports Node 20; the SDK's "upgrade to node 22" notice would only interrupt build output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Its 2 MB bundle compiles from V8's code cache after the first build (util/code-cache.ts).
  const require = createRequire(import.meta.url);
  const started = performance.now();
  const before = { ...codeCacheStats };
  const sdk = requireWithCodeCache(() => require(pkg) as T);
  if (logEnabled()) {
    const ms = Math.round(performance.now() - started);
    const hits = codeCacheStats.hits - before.hits;
    const compiled = codeCacheStats.misses + codeCacheStats.rejected - before.misses - before.rejected;
    debugLog(
      `[INFO] ${pkg} loaded in ${ms} ms (V8 code cache: ${hits} files from the cache, ${compiled} compiled)`,
    );
  }
  return sdk;
}

/**
 * The settings every kiln AWS client shares (EC2, IAM, STS): region, endpoint, Packer's retry
 * budget in adaptive mode (retry.ts), the credentials (given, else the profile, else the SDK's
 * chain) and, with insecure_skip_tls_verify, an agent that skips certificate checks.
 */
export async function clientOptions(
  access: AccessConfig,
  region: string,
  endpoint: string | undefined,
  credentials: CredentialsInput | undefined,
): Promise<Record<string, unknown>> {
  const handler: Record<string, unknown> = {};
  if (access.insecure_skip_tls_verify) {
    const { Agent } = await import('node:https');
    handler.httpsAgent = new Agent({ rejectUnauthorized: false });
  }
  if (endpoint?.toLowerCase().startsWith('http:')) {
    // A plain-HTTP endpoint is a local emulator (moto, LocalStack): a fresh connection per request
    // costs a loopback TCP handshake, while a kept-alive one stalls ~40 ms on each answer from a
    // server that writes headers and body separately without TCP_NODELAY (Nagle against the
    // client's delayed ACK; Python's http.server does). HTTPS endpoints keep their pooled sockets.
    const { Agent } = await import('node:http');
    handler.httpAgent = new Agent({ keepAlive: false });
  }
  const requestHandler = Object.keys(handler).length ? handler : undefined;
  return {
    region,
    endpoint,
    ...sdkRetryOptions(access.max_retries),
    ...(credentials ? { credentials } : access.profile ? { profile: access.profile } : {}),
    ...(requestHandler ? { requestHandler } : {}),
  };
}

/**
 * Creates the EC2 client for a region (the SDK is loaded here, not before). `credentials`, when
 * given, replaces the static-key lookup (Vault keys, an assume_role provider: session.ts).
 */
export async function createEc2(
  access: AccessConfig,
  region: string,
  credentials?: CredentialsInput,
): Promise<Ec2> {
  const sdk = loadSdk<Ec2Sdk>('@aws-sdk/client-ec2');
  const opts = await clientOptions(
    access,
    region,
    ec2Endpoint(access),
    credentials ?? staticCredentials(access),
  );
  const client = new sdk.EC2Client(opts as never);
  logRetries(client);
  return { sdk, client, region };
}

/** aws-sdk-go's error text: `<Code>: <Message>\n\tstatus code: <n>, request id: <id>`. */
export function awsErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const meta = (err as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata;
  if (!meta || meta.httpStatusCode === undefined) return err.message;
  const code = (err as { Code?: string }).Code ?? err.name;
  return `${code}: ${err.message}\n\tstatus code: ${meta.httpStatusCode}, request id: ${meta.requestId ?? ''}`;
}

/** The AWS error code of an SDK error ('' for other errors). */
export function awsErrorCode(err: unknown): string {
  if (!(err instanceof Error)) return '';
  const e = err as { Code?: string; $metadata?: unknown };
  if (e.$metadata === undefined) return '';
  return e.Code ?? err.name;
}
