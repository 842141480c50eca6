import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { type InterpolateContext, InterpolateError, render } from './index.js';

// A fake Consul KV + Vault HTTP API on 127.0.0.1, in a child process: render() blocks this
// process while its request runs, so the server cannot live in the test's own event loop.
const serverScript = `
const http = require('node:http');
const b64 = (s) => Buffer.from(s).toString('base64');
http.createServer((req, res) => {
  const send = (code, body) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
  const u = req.url;
  if (u.startsWith('/v1/kv/')) {
    if (req.headers['x-consul-token'] !== 'ctok') return send(403, 'ACL not found');
    if (u === '/v1/kv/app/present') return send(200, [{ Key: 'app/present', Value: b64('hello') }]);
    if (u === '/v1/kv/app/empty') return send(200, [{ Key: 'app/empty', Value: null }]);
    return send(404, null);
  }
  if (req.headers['x-vault-token'] !== 'vtok') return send(403, { errors: ['permission denied'] });
  if (u === '/v1/secret/data/app') return send(200, { data: { data: { password: 'pw2' }, metadata: {} } });
  if (u === '/v1/kv1/app') return send(200, { data: { password: 'pw1' } });
  if (u === '/v1/kv1/empty') return send(200, { data: {}, warnings: ['w1', 'w2'] });
  return send(404, { errors: [] });
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });
`;

let server: ChildProcess;
let port = 0;

before(async () => {
  server = spawn(process.execPath, ['-e', serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(server.stdout!, 'data')) as [Buffer];
  port = Number(chunk.toString().trim());
});
after(() => {
  server.kill();
});

const initTime = new Date(0);
const ctx = (env: Record<string, string>): InterpolateContext => ({ initTime, variablesSection: true, env });
const prefix = (node: string, fn: string): string =>
  `template: root:1:2: executing "root" at <${node}>: error calling ${fn}: `;

function err(tpl: string, c: InterpolateContext): string {
  try {
    render(tpl, c);
  } catch (e) {
    assert.ok(e instanceof InterpolateError);
    return e.message;
  }
  return assert.fail('expected an error');
}

describe('consul_key against a Consul-shaped HTTP API', () => {
  const env = (): Record<string, string> => ({
    CONSUL_HTTP_ADDR: `127.0.0.1:${port}`,
    CONSUL_HTTP_TOKEN: 'ctok',
  });
  it('reads a key', () => assert.equal(render('{{consul_key `app/present`}}', ctx(env())), 'hello'));
  it('reports a missing key and an empty value', () => {
    assert.equal(
      err('{{consul_key `app/nope`}}', ctx(env())),
      prefix('consul_key `app/nope`', 'consul_key') + 'key does not exist at the given path: app/nope',
    );
    assert.equal(
      err('{{consul_key `app/empty`}}', ctx(env())),
      prefix('consul_key `app/empty`', 'consul_key') + 'value is empty at path app/empty',
    );
  });
  it('names the address when Consul is unreachable', () => {
    const msg = err('{{consul_key `a`}}', ctx({ CONSUL_HTTP_ADDR: '127.0.0.1:1' }));
    assert.equal(
      msg,
      prefix('consul_key `a`', 'consul_key') +
        'error reading consul key: Get "http://127.0.0.1:1/v1/kv/a": dial tcp 127.0.0.1:1: connect: connection refused',
    );
  });
  it('passes the token', () => {
    assert.match(
      err('{{consul_key `app/present`}}', ctx({ CONSUL_HTTP_ADDR: `http://127.0.0.1:${port}` })),
      /Unexpected response code: 403/,
    );
  });
});

describe('vault against a Vault-shaped HTTP API', () => {
  const env = (): Record<string, string> => ({ VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_TOKEN: 'vtok' });
  it('reads KV v2 then KV v1', () => {
    assert.equal(render('{{vault `secret/data/app` `password`}}', ctx(env())), 'pw2');
    assert.equal(render('{{vault `kv1/app` `password`}}', ctx(env())), 'pw1');
  });
  it("reports Packer's errors", () => {
    const p = (path: string, key: string): string => prefix(`vault \`${path}\` \`${key}\``, 'vault');
    assert.equal(
      err('{{vault `secret/data/app` `nope`}}', ctx(env())),
      p('secret/data/app', 'nope') + 'Vault path does not contain the requested key',
    );
    assert.equal(
      err('{{vault `nothing` `k`}}', ctx(env())),
      p('nothing', 'k') + 'Vault Secret does not exist at the given path',
    );
    assert.equal(
      err('{{vault `kv1/empty` `k`}}', ctx(env())),
      p('kv1/empty', 'k') + 'Vault data was empty at the given path. Warnings: w1; w2',
    );
  });
  it('names the address when Vault is unreachable', () => {
    const msg = err('{{vault `a` `b`}}', ctx({ VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 't' }));
    assert.equal(
      msg,
      prefix('vault `a` `b`', 'vault') +
        'Error reading vault secret: Get "http://127.0.0.1:1/v1/a": dial tcp 127.0.0.1:1: connect: connection refused',
    );
  });
});
