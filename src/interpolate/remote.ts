/**
 * Synchronous HTTP GET for the variables-section functions `consul_key` and `vault`: the engine is
 * synchronous, so the request runs in a short-lived child Node process (spawnSync) with a timeout.
 */
import { spawnSync } from 'node:child_process';

export interface HttpResult {
  status?: number;
  body?: string;
  /** Transport failure, already phrased like Go's net/http error (`Get "url": dial tcp …`). */
  error?: string;
}

const childScript = `
const [url, headers, insecure, timeout] = process.argv.slice(1);
const mod = url.startsWith('https:') ? require('node:https') : require('node:http');
const out = (o) => { process.stdout.write(JSON.stringify(o)); process.exit(0); };
let req;
try {
  req = mod.get(url, { agent: false, headers: JSON.parse(headers), rejectUnauthorized: insecure !== 'true', timeout: Number(timeout) }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => out({ status: res.statusCode, body }));
  });
} catch (e) { out({ code: e.code || '', message: e.message }); }
req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
req.on('error', (e) => out({ code: e.code || '', message: e.message }));
`;

/** GET `url`; never throws. */
export function httpGetSync(
  url: string,
  headers: Record<string, string>,
  opts: { insecure?: boolean; timeoutMs?: number } = {},
): HttpResult {
  const timeout = opts.timeoutMs ?? 5000;
  const r = spawnSync(
    process.execPath,
    ['-e', childScript, url, JSON.stringify(headers), String(opts.insecure ?? false), String(timeout)],
    {
      encoding: 'utf8',
      timeout: timeout + 3000,
    },
  );
  let hostPort = url;
  try {
    const u = new URL(url);
    hostPort = `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    // keep the raw address
  }
  if (r.error || r.status !== 0) return { error: `Get "${url}": request to ${hostPort} did not complete` };
  let o: { status?: number; body?: string; code?: string; message?: string };
  try {
    o = JSON.parse(r.stdout) as typeof o;
  } catch {
    return { error: `Get "${url}": request to ${hostPort} did not complete` };
  }
  if (o.status !== undefined) return { status: o.status, body: o.body ?? '' };
  switch (o.code) {
    case 'ECONNREFUSED':
      return { error: `Get "${url}": dial tcp ${hostPort}: connect: connection refused` };
    case 'ETIMEDOUT':
      return { error: `Get "${url}": dial tcp ${hostPort}: i/o timeout` };
    case 'ENOTFOUND':
      return { error: `Get "${url}": dial tcp: lookup ${hostPort.replace(/:\d+$/, '')}: no such host` };
  }
  return { error: `Get "${url}": ${o.message ?? 'request failed'}` };
}
