/**
 * `vault_aws_engine` (spec §A.1): AWS keys from a Vault AWS secrets engine, read over Vault's HTTP
 * API at VAULT_ADDR (default https://127.0.0.1:8200) with VAULT_TOKEN (and VAULT_NAMESPACE,
 * VAULT_CACERT, VAULT_CAPATH and VAULT_SKIP_VERIFY as Vault's own client honours them: the CA file,
 * else every certificate file of the CA folder, replaces the system's roots; skip-verify trusts any
 * certificate). `waitForVaultKeys` is the wait for new keys to work on AWS (StepPreValidate).
 *
 * - no `role_arn`: GET /v1/<engine_name>/creds/<name> (Packer 1.6.6 did only this);
 * - with `role_arn`: PUT /v1/<engine_name>/sts/<name> with {role_arn, ttl} (today's plugin, §F).
 *
 * Packer read Vault in Prepare; kiln reads it when the build starts (prepare has no side effects,
 * so `kiln validate` does not contact Vault).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VaultAwsEngineConfig } from './config.js';
import { awsErrorCode, type StaticCredentials } from './aws.js';
import { sleep } from './waiters.js';

interface VaultAnswer {
  status: number;
  body: string;
}

async function vaultRequest(
  method: 'GET' | 'PUT',
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
  tls: VaultTls,
): Promise<VaultAnswer> {
  const mod = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(url.protocol === 'https:' && tls.skipVerify ? { rejectUnauthorized: false } : {}),
        ...(url.protocol === 'https:' && tls.ca ? { ca: tls.ca } : {}),
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('i/o timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

interface VaultTls {
  skipVerify: boolean;
  /** PEM certificates trusted instead of the system's roots (VAULT_CACERT / VAULT_CAPATH). */
  ca?: string[];
}

/** Node's certificate-chain errors that Go reports as an unknown authority. */
const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/**
 * The TLS settings of Vault's client from the environment: VAULT_SKIP_VERIFY (Go's boolean
 * spellings), VAULT_CACERT (one PEM file), else VAULT_CAPATH (every PEM file of a folder).
 */
export async function vaultTls(env: NodeJS.ProcessEnv = process.env): Promise<VaultTls> {
  const skipVerify = ['1', 'true', 't', 'TRUE', 'True', 'T'].includes(env.VAULT_SKIP_VERIFY ?? '');
  const file = env.VAULT_CACERT ?? '';
  const dir = env.VAULT_CAPATH ?? '';
  const why = (err: unknown) => (err instanceof Error ? err.message : String(err));
  if (file !== '') {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`Cannot read the Vault CA certificate VAULT_CACERT=${file}: ${why(err)}`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error(`Cannot use the Vault CA certificate VAULT_CACERT=${file}: no PEM certificate in it`);
    }
    return { skipVerify, ca: [pem] };
  }
  if (dir !== '') {
    const ca: string[] = [];
    try {
      for (const name of (await readdir(dir)).sort()) {
        const text = await readFile(join(dir, name), 'utf8').catch(() => '');
        if (text.includes('-----BEGIN CERTIFICATE-----')) ca.push(text);
      }
    } catch (err) {
      throw new Error(`Cannot read the Vault CA folder VAULT_CAPATH=${dir}: ${why(err)}`);
    }
    if (ca.length === 0) {
      throw new Error(`Cannot use the Vault CA folder VAULT_CAPATH=${dir}: no PEM certificate in it`);
    }
    return { skipVerify, ca };
  }
  return { skipVerify };
}

/** Go's url.Error text for a failed request: `Get "<url>": dial tcp <host>: connect: connection refused`. */
function transportError(method: string, url: URL, err: unknown): string {
  const verb = method === 'GET' ? 'Get' : 'Put';
  const code = (err as { code?: string }).code;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const why =
    code === 'ECONNREFUSED'
      ? `dial tcp ${url.hostname}:${port}: connect: connection refused`
      : code !== undefined && UNKNOWN_AUTHORITY.has(code)
        ? 'x509: certificate signed by unknown authority'
        : err instanceof Error
          ? err.message
          : String(err);
  return `${verb} "${url.href}": ${why}`;
}

/** Vault's ResponseError text (its Go client's). */
function responseError(method: string, url: URL, status: number, body: string): string {
  let errors: string[] = [];
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    if (Array.isArray(parsed.errors)) errors = parsed.errors.map((e) => String(e));
  } catch {
    if (body.trim() !== '') errors = [body.trim()];
  }
  const list = errors.map((e) => `* ${e}`).join('\n');
  return `Error making API request.\n\nURL: ${method} ${url.href}\nCode: ${status}. Errors:\n\n${list}`;
}

/** Reads the engine's credentials; throws with Packer's messages. */
export async function readVaultCredentials(
  engine: VaultAwsEngineConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StaticCredentials> {
  const addr = env.VAULT_ADDR || 'https://127.0.0.1:8200';
  let base: URL;
  try {
    base = new URL(addr);
  } catch (err) {
    throw new Error(`Error getting Vault client: ${err instanceof Error ? err.message : String(err)}`); // parity:
  }
  const mount = engine.engine_name || 'aws';
  const useSts = engine.role_arn !== '';
  const path = `/v1/${mount}/${useSts ? 'sts' : 'creds'}/${engine.name}`;
  const url = new URL(base.pathname.replace(/\/+$/, '') + path, base);
  const headers: Record<string, string> = {};
  if (env.VAULT_TOKEN) headers['X-Vault-Token'] = env.VAULT_TOKEN;
  if (env.VAULT_NAMESPACE) headers['X-Vault-Namespace'] = env.VAULT_NAMESPACE;
  const tls = await vaultTls(env);
  const method = useSts ? 'PUT' : 'GET';
  const body = useSts
    ? JSON.stringify({ role_arn: engine.role_arn, ...(engine.ttl !== '' ? { ttl: engine.ttl } : {}) })
    : undefined;
  let answer: VaultAnswer;
  try {
    answer = await vaultRequest(method, url, headers, body, tls);
  } catch (err) {
    throw new Error(`Error reading vault secret: ${transportError(method, url, err)}`); // parity:
  }
  // Vault's client turns a 404 of a read into "no secret" (a write's 404 stays an error).
  if (answer.status === 404 && !useSts) {
    throw new Error('Vault Secret does not exist at the given path.'); // parity:
  }
  if (answer.status >= 400) {
    throw new Error(`Error reading vault secret: ${responseError(method, url, answer.status, answer.body)}`); // parity:
  }
  let data: Record<string, unknown> | undefined;
  try {
    data = (JSON.parse(answer.body) as { data?: Record<string, unknown> }).data;
  } catch {
    data = undefined;
  }
  if (!data) throw new Error('Vault Secret does not exist at the given path.'); // parity:
  const accessKeyId = data.access_key;
  const secretAccessKey = data.secret_key;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string' || accessKeyId === '') {
    throw new Error(
      `Cannot use the Vault secret at ${mount}/${useSts ? 'sts' : 'creds'}/${engine.name}: it has no access_key and secret_key`,
    );
  }
  const token = data.security_token;
  return {
    accessKeyId,
    secretAccessKey,
    ...(typeof token === 'string' && token !== '' ? { sessionToken: token } : {}),
  };
}

/** How many times StepPreValidate tries DescribeRegions with new Vault keys (Packer 1.6.6: 11). */
export const VAULT_WAIT_TRIES = 11;

/**
 * Waits for Vault-made keys to work on AWS (StepPreValidate): `describe` (DescribeRegions) is tried
 * up to 11 times while AWS answers AuthFailure, 200 ms apart doubling to 30 s (Packer's retry
 * backoff). Any other error, or the 11th AuthFailure, ends the wait with Packer's message. Returns
 * the answer (region validation reuses it). `pause` and `initialMs` are for tests.
 */
export async function waitForVaultKeys<T>(
  describe: () => Promise<T>,
  signal?: AbortSignal,
  opts: { initialMs?: number; pause?: (ms: number, signal?: AbortSignal) => Promise<void> } = {},
): Promise<T> {
  const pause = opts.pause ?? sleep;
  let delay = opts.initialMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await describe();
    } catch (err) {
      if (awsErrorCode(err) !== 'AuthFailure' || attempt >= VAULT_WAIT_TRIES || signal?.aborted) {
        if (signal?.aborted) throw err;
        throw new Error(
          'Was unable to Authenticate to AWS using Vault-Generated Credentials within the retry timeout.',
        ); // parity:
      }
    }
    await pause(delay, signal);
    delay = Math.min(delay * 2, 30_000);
  }
}
