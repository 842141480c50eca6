/**
 * `vault_aws_engine` (spec §A.1): AWS keys from a Vault AWS secrets engine, read over Vault's HTTP
 * API at VAULT_ADDR (default https://127.0.0.1:8200) with VAULT_TOKEN (and VAULT_NAMESPACE,
 * VAULT_SKIP_VERIFY as Vault's own client honours them).
 *
 * - no `role_arn`: GET /v1/<engine_name>/creds/<name> (Packer 1.6.6 did only this);
 * - with `role_arn`: PUT /v1/<engine_name>/sts/<name> with {role_arn, ttl} (today's plugin, §F).
 *
 * Packer read Vault in Prepare; kiln reads it when the build starts (prepare has no side effects,
 * so `kiln validate` does not contact Vault).
 */
import type { VaultAwsEngineConfig } from './config.js';
import type { StaticCredentials } from './aws.js';

interface VaultAnswer {
  status: number;
  body: string;
}

async function vaultRequest(
  method: 'GET' | 'PUT',
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
  skipVerify: boolean,
): Promise<VaultAnswer> {
  const mod = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(url.protocol === 'https:' && skipVerify ? { rejectUnauthorized: false } : {}),
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

/** Go's url.Error text for a failed request: `Get "<url>": dial tcp <host>: connect: connection refused`. */
function transportError(method: string, url: URL, err: unknown): string {
  const verb = method === 'GET' ? 'Get' : 'Put';
  const code = (err as { code?: string }).code;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const why =
    code === 'ECONNREFUSED'
      ? `dial tcp ${url.hostname}:${port}: connect: connection refused`
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
  const skipVerify = ['1', 'true', 't', 'TRUE', 'True', 'T'].includes(env.VAULT_SKIP_VERIFY ?? '');
  const method = useSts ? 'PUT' : 'GET';
  const body = useSts
    ? JSON.stringify({ role_arn: engine.role_arn, ...(engine.ttl !== '' ? { ttl: engine.ttl } : {}) })
    : undefined;
  let answer: VaultAnswer;
  try {
    answer = await vaultRequest(method, url, headers, body, skipVerify);
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
