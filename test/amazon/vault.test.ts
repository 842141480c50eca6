/**
 * `vault_aws_engine` beyond reading the keys (credentials.test.ts reads them):
 *
 * - the wait for new Vault keys to work on AWS (StepPreValidate): DescribeRegions tried 11 times
 *   while AWS answers AuthFailure, 200 ms doubling (to 30 s), then Packer's message
 *   `Was unable to Authenticate to AWS using Vault-Generated Credentials within the retry timeout.`
 *   — the schedule as a unit test of logic (an injected pause), the give-up and the success after a
 *   few AuthFailures as real `kiln build`s through the fault proxy in front of moto (the proxy
 *   answers AuthFailure; KILN_TEST_VAULT_RETRY_MS shortens the first pause to 1 ms);
 * - an https Vault: VAULT_CACERT, VAULT_CAPATH and VAULT_SKIP_VERIFY, against a stand-in that
 *   answers the AWS engine's documented response shape (no Vault server can be installed here)
 *   over TLS with a certificate from a CA made by openssl in this test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  readVaultCredentials,
  VAULT_WAIT_TRIES,
  waitForVaultKeys,
} from '../../src/builders/amazon/common/vault.js';
import { startMoto, type Moto } from '../env/moto.js';
import { startEc2Proxy, type Ec2Proxy } from '../env/ec2-proxy.js';
import { freePort } from '../env/ssh-env.js';
import { onlyEnv, runKiln } from '../env/kiln-cli.js';

const run = promisify(execFile);
const GIVE_UP =
  'Was unable to Authenticate to AWS using Vault-Generated Credentials within the retry timeout.';
const KEYS = {
  access_key: 'AKIAVAULTMADE0000001',
  secret_key: 'vault-made-secret',
  security_token: 'vault-token',
};
const AUTH_FAILURE = {
  status: 401,
  code: 'AuthFailure',
  message: 'AWS was not able to validate the provided access credentials',
};

/** An SDK-shaped error with an AWS code (what awsErrorCode reads). */
function awsError(code: string, status: number): Error {
  return Object.assign(new Error(code), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

describe('waitForVaultKeys (unit tests of logic)', () => {
  it('tries DescribeRegions 11 times on AuthFailure, pausing 200 ms doubling to 30 s, then gives up with Packer message', async () => {
    let calls = 0;
    const pauses: number[] = [];
    await assert.rejects(
      waitForVaultKeys(
        async () => {
          calls++;
          throw awsError('AuthFailure', 401);
        },
        undefined,
        { pause: async (ms) => void pauses.push(ms) },
      ),
      { message: GIVE_UP },
    );
    assert.equal(calls, VAULT_WAIT_TRIES);
    assert.equal(VAULT_WAIT_TRIES, 11);
    assert.deepEqual(pauses, [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });

  it('returns the answer once the keys work, after as many pauses as AuthFailures', async () => {
    let calls = 0;
    const pauses: number[] = [];
    const out = await waitForVaultKeys(
      async () => {
        if (++calls <= 3) throw awsError('AuthFailure', 401);
        return { Regions: [{ RegionName: 'us-east-1' }] };
      },
      undefined,
      { pause: async (ms) => void pauses.push(ms) },
    );
    assert.deepEqual(out, { Regions: [{ RegionName: 'us-east-1' }] });
    assert.deepEqual(pauses, [200, 400, 800]);
  });

  it('any other error ends the wait at once with the same message', async () => {
    let calls = 0;
    await assert.rejects(
      waitForVaultKeys(
        async () => {
          calls++;
          throw awsError('UnauthorizedOperation', 403);
        },
        undefined,
        { pause: async () => undefined },
      ),
      { message: GIVE_UP },
    );
    assert.equal(calls, 1);
  });
});

/** A CA and a server certificate for 127.0.0.1 signed by it, made by openssl. */
async function makeCa(dir: string): Promise<{ ca: string; key: string; cert: string; other: string }> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=kiln test CA',
  ]);
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  await run('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1']);
  const ext = join(dir, 'san.ext');
  await writeFile(ext, 'subjectAltName=IP:127.0.0.1\n');
  const cert = join(dir, 'server.pem');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  // Another CA, which did not sign the server's certificate.
  const other = join(dir, 'other-ca.pem');
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    join(dir, 'other.key'),
    '-out',
    other,
    '-days',
    '2',
    '-subj',
    '/CN=not the CA',
  ]);
  return { ca, key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8'), other };
}

describe('vault_aws_engine with an https Vault and AuthFailure from AWS', () => {
  let dir: string;
  let pki: Awaited<ReturnType<typeof makeCa>>;
  let vault: Server;
  let vaultAddr: string;
  const seen: string[] = [];
  let moto: Moto;
  let proxy: Ec2Proxy;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-vault-'));
    pki = await makeCa(dir);
    const port = await freePort();
    vault = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${String(req.headers['x-vault-token'] ?? '')}`);
      const ok = req.url === '/v1/aws/creds/kiln-builder' && req.headers['x-vault-token'] === 's.kiln';
      const body = JSON.stringify(
        ok
          ? { lease_id: 'aws/creds/kiln-builder/1', lease_duration: 3600, data: KEYS }
          : { errors: ['permission denied'] },
      );
      res.writeHead(ok ? 200 : 403, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
    await new Promise<void>((r) => vault.listen(port, '127.0.0.1', () => r()));
    vaultAddr = `https://127.0.0.1:${port}`;
    moto = await startMoto();
    proxy = await startEc2Proxy(moto.endpoint);
  });

  after(async () => {
    await new Promise<void>((r) => (vault ? vault.close(() => r()) : r()));
    await proxy?.stop();
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const engine = { name: 'kiln-builder', engine_name: '', role_arn: '', ttl: '' };

  it('VAULT_CACERT: the CA file is trusted', async () => {
    seen.length = 0;
    const creds = await readVaultCredentials(engine, {
      VAULT_ADDR: vaultAddr,
      VAULT_TOKEN: 's.kiln',
      VAULT_CACERT: pki.ca,
    });
    assert.deepEqual(creds, {
      accessKeyId: KEYS.access_key,
      secretAccessKey: KEYS.secret_key,
      sessionToken: KEYS.security_token,
    });
    assert.deepEqual(seen, ['GET /v1/aws/creds/kiln-builder s.kiln']);
  });

  it('VAULT_CAPATH: every certificate file of the folder is trusted', async () => {
    const folder = join(dir, 'capath');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'a-other.pem'), await readFile(pki.other, 'utf8'));
    await writeFile(join(folder, 'b-ca.pem'), await readFile(pki.ca, 'utf8'));
    await writeFile(join(folder, 'README'), 'not a certificate\n');
    const creds = await readVaultCredentials(engine, {
      VAULT_ADDR: vaultAddr,
      VAULT_TOKEN: 's.kiln',
      VAULT_CAPATH: folder,
    });
    assert.equal(creds.accessKeyId, KEYS.access_key);
    // VAULT_CACERT wins over VAULT_CAPATH, as in Vault's client: the wrong CA file fails.
    await assert.rejects(
      readVaultCredentials(engine, {
        VAULT_ADDR: vaultAddr,
        VAULT_TOKEN: 's.kiln',
        VAULT_CAPATH: folder,
        VAULT_CACERT: pki.other,
      }),
      { message: /x509: certificate signed by unknown authority$/ },
    );
  });

  it('no CA: Packer error for an unknown authority; VAULT_SKIP_VERIFY=true: trusted anyway', async () => {
    await assert.rejects(readVaultCredentials(engine, { VAULT_ADDR: vaultAddr, VAULT_TOKEN: 's.kiln' }), {
      message: `Error reading vault secret: Get "${vaultAddr}/v1/aws/creds/kiln-builder": x509: certificate signed by unknown authority`,
    });
    await assert.rejects(
      readVaultCredentials(engine, { VAULT_ADDR: vaultAddr, VAULT_TOKEN: 's.kiln', VAULT_CACERT: pki.other }),
      { message: /^Error reading vault secret: Get ".+": x509: certificate signed by unknown authority$/ },
    );
    const creds = await readVaultCredentials(engine, {
      VAULT_ADDR: vaultAddr,
      VAULT_TOKEN: 's.kiln',
      VAULT_SKIP_VERIFY: 'true',
    });
    assert.equal(creds.accessKeyId, KEYS.access_key);
  });

  it('a CA file that cannot be read or holds no certificate: a clear error naming the variable', async () => {
    const missing = join(dir, 'missing.pem');
    await assert.rejects(readVaultCredentials(engine, { VAULT_ADDR: vaultAddr, VAULT_CACERT: missing }), {
      message: new RegExp(`^Cannot read the Vault CA certificate VAULT_CACERT=${missing}: ENOENT`),
    });
    const empty = join(dir, 'empty.pem');
    await writeFile(empty, 'nothing here\n');
    await assert.rejects(readVaultCredentials(engine, { VAULT_ADDR: vaultAddr, VAULT_CACERT: empty }), {
      message: `Cannot use the Vault CA certificate VAULT_CACERT=${empty}: no PEM certificate in it`,
    });
  });

  /** A build whose source AMI does not exist: it ends right after the pre-validation. */
  async function vaultBuild(authFailures: number) {
    const file = join(dir, `vault-${authFailures}.json`);
    await writeFile(
      file,
      JSON.stringify({
        builders: [
          {
            type: 'amazon-ebs',
            region: 'us-east-1',
            vault_aws_engine: { name: 'kiln-builder' },
            custom_endpoint_ec2: proxy.endpoint,
            source_ami: 'ami-0000000000000000f',
            instance_type: 't3.micro',
            ssh_username: 'u',
            ami_name: `kiln-vault-${authFailures}`,
          },
        ],
      }),
    );
    proxy.clearLog();
    let refused = 0;
    proxy.setPolicy(({ action }) =>
      action === 'DescribeRegions' && refused++ < authFailures ? AUTH_FAILURE : 'pass',
    );
    // Only Vault's variables: no AWS keys in the environment, so the Vault keys are the only ones.
    const r = await runKiln(['build', '-color=false', file], {
      env: onlyEnv({
        PATH: process.env.PATH ?? '',
        HOME: dir,
        VAULT_ADDR: vaultAddr,
        VAULT_TOKEN: 's.kiln',
        VAULT_CACERT: pki.ca,
        AWS_EC2_METADATA_DISABLED: 'true',
        KILN_TEST_VAULT_RETRY_MS: '1',
      }),
      timeoutMs: 120_000,
    });
    proxy.setPolicy(() => 'pass');
    const regions = proxy.log().filter((e) => e.action === 'DescribeRegions');
    return { ...r, regions };
  }

  it('kiln build: AuthFailure 11 times gives up with Packer message, exit 1', async () => {
    const r = await vaultBuild(1000);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /==> amazon-ebs: You're using Vault-generated AWS credentials\. It may take a few moments for them to become available on AWS\. Waiting\.\.\.\n/,
    );
    assert.match(
      r.out,
      new RegExp(`Build 'amazon-ebs' errored after [^:]+: ${GIVE_UP.replace(/\./g, '\\.')}\n`),
    );
    assert.equal(r.regions.length, 11, 'DescribeRegions tried 11 times');
    assert.ok(r.regions.every((e) => e.outcome === 'error:AuthFailure'));
  });

  it('kiln build: 3 AuthFailures, then the keys work: the build goes on', async () => {
    const r = await vaultBuild(3);
    assert.equal(r.code, 1, r.out);
    assert.doesNotMatch(r.out, /Was unable to Authenticate/);
    assert.equal(r.regions.length, 4, 'three refused, one answered (region validation reuses it)');
    // The next step ran with the Vault keys: moto does not know the made-up source AMI.
    assert.match(r.out, /InvalidAMIID\.NotFound|No AMI was found/);
  });
});
