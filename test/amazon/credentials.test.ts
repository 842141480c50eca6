/**
 * Where an amazon-ebs build's credentials come from: `assume_role` against moto's real STS, and
 * `vault_aws_engine`, plus the option kiln refuses at validate time (winrm; session_manager validates since issue #4).
 *
 * Every request kiln makes goes through a small recording proxy in front of moto (EC2, IAM and
 * STS all answer on moto's one port): it notes the access key id each request was signed with
 * (the SigV4 Authorization header), the session token, and the parameters, and can answer a
 * request with an error of its own. That is how the tests prove which identity kiln used.
 *
 * Vault: no Vault server can be installed here, so the Vault tests are UNIT TESTS OF LOGIC against
 * a stand-in HTTP server answering the response shape Vault documents for its AWS secrets engine
 * (GET /v1/<mount>/creds/<role>, PUT /v1/<mount>/sts/<role>: `{"data": {"access_key",
 * "secret_key", "security_token"}}`, errors as `{"errors": [...]}`); the EC2 side (moto) is real.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ConfigError } from '../../src/util/errors.js';
import { prepareEbs } from '../../src/builders/amazon-ebs/config.js';
import { readVaultCredentials } from '../../src/builders/amazon/common/vault.js';
import { serviceEndpoint } from '../../src/builders/amazon/common/iam.js';
import { assumeRoleInput, assumeRoleProvider } from '../../src/builders/amazon/common/assume-role.js';
import { amazonEnv } from '../env/amazon-env.js';
import { freePort } from '../env/ssh-env.js';
import { packerConfig, runBuild } from './helpers.js';

interface Seen {
  action: string;
  /** The credential scope's service (ec2, iam, sts). */
  service: string;
  keyId: string;
  token: string;
  params: URLSearchParams;
}

type Answer = { status: number; body: string } | undefined;

interface Recorder {
  endpoint: string;
  seen: Seen[];
  /** Answers instead of moto when it returns something. */
  intercept: (s: Seen) => Answer;
  /** Access key ids moto handed out in AssumeRole answers. */
  issued: string[];
  close(): Promise<void>;
}

async function startRecorder(target: string): Promise<Recorder> {
  const upstream = new URL(target);
  const port = await freePort();
  const rec: Recorder = {
    endpoint: `http://127.0.0.1:${port}`,
    seen: [],
    intercept: () => undefined,
    issued: [],
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString('utf8'));
      const auth = String(req.headers.authorization ?? '');
      const scope = /Credential=([^/]+)\/\d+\/[^/]+\/([^/]+)\//.exec(auth);
      const s: Seen = {
        action: params.get('Action') ?? String(req.headers['x-amz-target'] ?? ''),
        service: scope?.[2] ?? '',
        keyId: scope?.[1] ?? '',
        token: String(req.headers['x-amz-security-token'] ?? ''),
        params,
      };
      rec.seen.push(s);
      const canned = rec.intercept(s);
      if (canned) {
        res.writeHead(canned.status, {
          'x-amzn-requestid': 'req-1',
          'content-type': 'text/xml',
          'content-length': Buffer.byteLength(canned.body),
        });
        res.end(canned.body);
        return;
      }
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const text = Buffer.concat(parts);
            if (s.action === 'AssumeRole') {
              const m = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(text.toString('utf8'));
              if (m) rec.issued.push(m[1]);
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(text);
          });
        },
      );
      out.on('error', () => res.socket?.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return rec;
}

function ec2ErrorDoc(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>kiln-test</RequestID></Response>`;
}

let rec: Recorder;
const env = amazonEnv({
  processEnv: true,
  dir: 'kiln-cred-',
  async setUp() {
    rec = await startRecorder(env.moto.endpoint);
    process.env.AWS_ENDPOINT_URL_IAM = rec.endpoint;
    process.env.AWS_ENDPOINT_URL_STS = rec.endpoint;
  },
  async tearDown() {
    delete process.env.AWS_ENDPOINT_URL_IAM;
    delete process.env.AWS_ENDPOINT_URL_STS;
    await rec?.close();
  },
});

/** A config that stops at StepPreValidate (its AMI name is taken) after the EC2 calls that prove the identity. */
function stopsAtPrevalidate(over: Record<string, unknown>) {
  return env.config({
    ami_name: env.moto.seed.source_ami_name,
    custom_endpoint_ec2: rec.endpoint,
    ...over,
  });
}

const TAKEN = /^Error: AMI Name: '.*' is used by an existing AMI: ami-/;

describe('assume_role against moto STS', () => {
  it('signs every EC2 and IAM call of a build with the assumed role', async () => {
    const iam = new IAMClient(env.clientConfig('us-east-1'));
    const role = await iam.send(
      new CreateRoleCommand({
        RoleName: 'kiln-build-role',
        AssumeRolePolicyDocument: '{"Version":"2012-10-17"}',
      }),
    );
    const arn = role.Role?.Arn ?? '';
    rec.seen.length = 0;
    rec.issued.length = 0;
    const { artifact, error, ui } = await runBuild(
      env.config({
        custom_endpoint_ec2: rec.endpoint,
        assume_role: {
          role_arn: arn,
          session_name: 'kiln-session',
          external_id: 'ext-123',
          duration_seconds: 1800,
          tags: { Team: 'build' },
          transitive_tag_keys: ['Team'],
          policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
        },
        temporary_iam_instance_profile_policy_document: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] }],
        },
      }),
      ['true'],
    );
    assert.equal(error, undefined, `${error?.message}\n${ui.text()}`);
    assert.ok(artifact);
    const assume = rec.seen.filter((s) => s.action === 'AssumeRole');
    assert.equal(assume.length, 1, 'the role is assumed once for the whole build');
    const p = assume[0].params;
    assert.equal(assume[0].keyId, 'testing', 'AssumeRole is signed with the base credentials');
    assert.equal(p.get('RoleArn'), arn);
    assert.equal(p.get('RoleSessionName'), 'kiln-session');
    assert.equal(p.get('ExternalId'), 'ext-123');
    assert.equal(p.get('DurationSeconds'), '1800');
    assert.equal(p.get('Tags.member.1.Key'), 'Team');
    assert.equal(p.get('Tags.member.1.Value'), 'build');
    assert.equal(p.get('TransitiveTagKeys.member.1'), 'Team');
    assert.equal(p.get('PolicyArns.member.1.arn'), 'arn:aws:iam::aws:policy/ReadOnlyAccess');
    assert.equal(rec.issued.length, 1);
    const assumedKey = rec.issued[0];
    const others = rec.seen.filter((s) => s.action !== 'AssumeRole');
    assert.ok(others.some((s) => s.service === 'ec2' && s.action === 'RunInstances'));
    assert.ok(others.some((s) => s.service === 'iam' && s.action === 'CreateRole'));
    assert.deepEqual(
      others
        .filter((s) => s.keyId !== assumedKey || s.token === '')
        .map((s) => `${s.service}:${s.action}:${s.keyId}`),
      [],
      'every EC2 and IAM call carries the assumed credentials',
    );
    // Whose key that is, according to moto's STS (moto does not check signatures).
    const sts = new STSClient({
      ...env.clientConfig('us-east-1'),
      credentials: { accessKeyId: assumedKey, secretAccessKey: 'x' },
    });
    const me = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, 'arn:aws:sts::123456789012:assumed-role/kiln-build-role/kiln-session');
  });

  it('stops before any EC2 call when the role cannot be assumed', async () => {
    rec.seen.length = 0;
    rec.intercept = (s) =>
      s.action === 'AssumeRole'
        ? {
            status: 403,
            body: '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed to assume it</Message></Error><RequestId>req-1</RequestId></ErrorResponse>',
          }
        : undefined;
    try {
      const { error } = await runBuild(
        stopsAtPrevalidate({ assume_role: { role_arn: 'arn:aws:iam::123456789012:role/nope' } }),
        ['true'],
      );
      assert.equal(
        error?.message,
        'IAM Role (arn:aws:iam::123456789012:role/nope) cannot be assumed.\n\n' +
          'There are a number of possible causes of this - the most common are:\n' +
          '  * The credentials used in order to assume the role are invalid\n' +
          '  * The credentials do not have appropriate permission to assume the role\n' +
          '  * The role ARN is not valid\n\n' +
          'Error: AccessDenied: not allowed to assume it\n\tstatus code: 403, request id: req-1',
      );
      assert.deepEqual(
        rec.seen.filter((s) => s.service === 'ec2'),
        [],
      );
    } finally {
      rec.intercept = () => undefined;
    }
  });
});

describe('assume_role credentials over time', () => {
  it('defaults as aws-sdk-go: a time-based session name, 900 s', () => {
    const input = assumeRoleInput(
      {
        role_arn: 'arn:aws:iam::123456789012:role/r',
        duration_seconds: 0,
        external_id: '',
        policy: '',
        policy_arns: [],
        session_name: '',
        tags: {},
        transitive_tag_keys: [],
      },
      new Date(1_700_000_000_123),
    );
    assert.deepEqual(input, {
      RoleArn: 'arn:aws:iam::123456789012:role/r',
      RoleSessionName: '1700000000123000000',
      DurationSeconds: 900,
    });
  });

  it('renews the credentials shortly before they expire, and only then', async () => {
    let expiresInMs = 60_000;
    let n = 0;
    rec.seen.length = 0;
    rec.intercept = (s) => {
      if (s.action !== 'AssumeRole') return undefined;
      n += 1;
      const exp = new Date(Date.now() + expiresInMs).toISOString();
      return {
        status: 200,
        body: `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAKILN${n}</AccessKeyId><SecretAccessKey>s${n}</SecretAccessKey><SessionToken>t${n}</SessionToken><Expiration>${exp}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r${n}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
      };
    };
    try {
      const role = {
        role_arn: 'arn:aws:iam::123456789012:role/r',
        duration_seconds: 900,
        external_id: '',
        policy: '',
        policy_arns: [],
        session_name: 'kiln',
        tags: {},
        transitive_tag_keys: [],
      };
      const base = { accessKeyId: 'testing', secretAccessKey: 'testing' };
      // The AccessConfig fields the provider reads (STS goes to AWS_ENDPOINT_URL_STS: the recorder).
      const cfg = {
        custom_endpoint_ec2: '',
        max_retries: 1,
        insecure_skip_tls_verify: false,
        profile: '',
        assume_role: role,
      };
      // Expires within the renewal window: every use renews.
      const soon = await assumeRoleProvider(cfg as never, 'us-east-1', base);
      assert.equal((await soon()).accessKeyId, 'ASIAKILN2');
      assert.equal((await soon()).accessKeyId, 'ASIAKILN3');
      // Expires in an hour: no renewal.
      expiresInMs = 3_600_000;
      const later = await assumeRoleProvider(cfg as never, 'us-east-1', base);
      assert.equal((await later()).accessKeyId, 'ASIAKILN4');
      assert.equal((await later()).accessKeyId, 'ASIAKILN4');
      assert.equal(rec.seen.filter((s) => s.action === 'AssumeRole').length, 4);
    } finally {
      rec.intercept = () => undefined;
    }
  });
});

/** A stand-in for Vault's HTTP API (see the file comment). */
async function startFakeVault(
  handler: (method: string, path: string, token: string, body: string) => { status: number; body: unknown },
): Promise<{ addr: string; close(): Promise<void> }> {
  const port = await freePort();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = handler(
        req.method ?? '',
        req.url ?? '',
        String(req.headers['x-vault-token'] ?? ''),
        Buffer.concat(chunks).toString('utf8'),
      );
      const text = JSON.stringify(a.body);
      res.writeHead(a.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { addr: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const VAULT_KEYS = {
  access_key: 'AKIAVAULTGENERATED1',
  secret_key: 'vault-secret',
  security_token: 'vault-token-1',
};

describe('vault_aws_engine (unit tests of logic: a stand-in Vault, real moto)', () => {
  it('reads the keys from /v1/aws/creds/<name>, waits out AuthFailure, and signs the EC2 calls with them', async () => {
    const requests: string[] = [];
    const vault = await startFakeVault((method, path, token) => {
      requests.push(`${method} ${path} ${token}`);
      return token === 's.kiln-token' && path === '/v1/aws/creds/kiln-builder'
        ? {
            status: 200,
            body: {
              lease_id: 'aws/creds/kiln-builder/x',
              renewable: true,
              lease_duration: 3600,
              data: VAULT_KEYS,
            },
          }
        : { status: 403, body: { errors: ['permission denied'] } };
    });
    process.env.VAULT_ADDR = vault.addr;
    process.env.VAULT_TOKEN = 's.kiln-token';
    rec.seen.length = 0;
    // New keys are not valid everywhere at once: the first DescribeRegions is refused.
    rec.intercept = (s) =>
      s.action === 'DescribeRegions' && !rec.seen.slice(0, -1).some((x) => x.action === 'DescribeRegions')
        ? {
            status: 401,
            body: ec2ErrorDoc('AuthFailure', 'AWS was not able to validate the provided access credentials'),
          }
        : undefined;
    try {
      const { error, ui } = await runBuild(
        stopsAtPrevalidate({ vault_aws_engine: { name: 'kiln-builder' } }),
        ['true'],
      );
      assert.match(error?.message ?? '', TAKEN);
      assert.deepEqual(requests, ['GET /v1/aws/creds/kiln-builder s.kiln-token']);
      assert.match(
        ui.text(),
        /==> You're using Vault-generated AWS credentials\. It may take a few moments for them to become available on AWS\. Waiting\.\.\.\n/,
      );
      const ec2 = rec.seen.filter((s) => s.service === 'ec2');
      // One refused, one answered; region validation reuses that answer.
      assert.deepEqual(
        ec2.map((s) => s.action),
        ['DescribeRegions', 'DescribeRegions', 'DescribeImages'],
      );
      for (const s of ec2) {
        assert.equal(s.keyId, VAULT_KEYS.access_key);
        assert.equal(s.token, VAULT_KEYS.security_token);
      }
    } finally {
      rec.intercept = () => undefined;
      delete process.env.VAULT_ADDR;
      delete process.env.VAULT_TOKEN;
      await vault.close();
    }
  });

  it('gives up with Packer message when DescribeRegions fails otherwise', async () => {
    const vault = await startFakeVault(() => ({ status: 200, body: { data: VAULT_KEYS } }));
    process.env.VAULT_ADDR = vault.addr;
    rec.intercept = (s) =>
      s.action === 'DescribeRegions'
        ? { status: 403, body: ec2ErrorDoc('UnauthorizedOperation', 'no') }
        : undefined;
    try {
      const { error } = await runBuild(stopsAtPrevalidate({ vault_aws_engine: { name: 'kiln-builder' } }), [
        'true',
      ]);
      assert.equal(
        error?.message,
        'Was unable to Authenticate to AWS using Vault-Generated Credentials within the retry timeout.',
      );
    } finally {
      rec.intercept = () => undefined;
      delete process.env.VAULT_ADDR;
      await vault.close();
    }
  });

  it('writes {role_arn, ttl} to /v1/<engine_name>/sts/<name> when role_arn is set', async () => {
    const requests: string[] = [];
    const vault = await startFakeVault((method, path, token, body) => {
      requests.push(`${method} ${path} ${token} ${body}`);
      return { status: 200, body: { data: { ...VAULT_KEYS, access_key: 'AKIAVAULTSTS' } } };
    });
    try {
      const creds = await readVaultCredentials(
        {
          name: 'deployer',
          role_arn: 'arn:aws:iam::123456789012:role/deploy',
          ttl: '30m',
          engine_name: 'aws-prod',
        },
        { VAULT_ADDR: vault.addr, VAULT_TOKEN: 't1' },
      );
      assert.deepEqual(creds, {
        accessKeyId: 'AKIAVAULTSTS',
        secretAccessKey: 'vault-secret',
        sessionToken: 'vault-token-1',
      });
      assert.deepEqual(requests, [
        'PUT /v1/aws-prod/sts/deployer t1 {"role_arn":"arn:aws:iam::123456789012:role/deploy","ttl":"30m"}',
      ]);
    } finally {
      await vault.close();
    }
  });

  it('reports Vault errors as Packer does', async () => {
    const vault = await startFakeVault((_m, path) =>
      path.includes('/missing')
        ? { status: 404, body: { errors: [] } }
        : { status: 403, body: { errors: ['permission denied'] } },
    );
    const engine = { name: 'kiln-builder', role_arn: '', ttl: '', engine_name: 'aws' };
    try {
      await assert.rejects(readVaultCredentials(engine, { VAULT_ADDR: vault.addr, VAULT_TOKEN: 'bad' }), {
        message:
          'Error reading vault secret: Error making API request.\n\n' +
          `URL: GET ${vault.addr}/v1/aws/creds/kiln-builder\nCode: 403. Errors:\n\n* permission denied`,
      });
      await assert.rejects(readVaultCredentials({ ...engine, name: 'missing' }, { VAULT_ADDR: vault.addr }), {
        message: 'Vault Secret does not exist at the given path.',
      });
    } finally {
      await vault.close();
    }
    const nobody = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(readVaultCredentials(engine, { VAULT_ADDR: nobody }), {
      message: `Error reading vault secret: Get "${nobody}/v1/aws/creds/kiln-builder": dial tcp ${nobody.slice(7)}: connect: connection refused`,
    });
  });

  it('refuses vault_aws_engine together with access_key', () => {
    assert.throws(
      () =>
        prepareEbs(
          [{ ...stopsAtPrevalidate({}), vault_aws_engine: { name: 'x' }, access_key: 'a', secret_key: 'b' }],
          packerConfig(),
        ),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes(
          'If you have set vault_aws_engine, you must not set the access_key or secret_key.',
        ),
    );
  });
});

describe('IAM and STS endpoints', () => {
  it('IAM: AWS_ENDPOINT_URL_IAM, else the EC2 chain (as Packer 1.6.6); STS: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL', () => {
    const access = { custom_endpoint_ec2: '' } as Parameters<typeof serviceEndpoint>[1];
    const own = { ...access, custom_endpoint_ec2: 'http://127.0.0.1:1' };
    assert.equal(serviceEndpoint('IAM', access, {}), undefined);
    assert.equal(serviceEndpoint('IAM', own, {}), 'http://127.0.0.1:1');
    assert.equal(
      serviceEndpoint('IAM', access, { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:3' }),
      'http://127.0.0.1:3',
    );
    assert.equal(serviceEndpoint('IAM', own, { AWS_ENDPOINT_URL_IAM: 'iam.example' }), 'https://iam.example');
    assert.equal(
      serviceEndpoint('STS', access, { AWS_ENDPOINT_URL: 'http://127.0.0.1:2' }),
      'http://127.0.0.1:2',
    );
    // STS (assume_role) never follows the EC2 endpoint: 1.6.6 assumed the role in a session of its own.
    assert.equal(serviceEndpoint('STS', own, { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:3' }), undefined);
    assert.equal(
      serviceEndpoint('STS', own, { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4' }),
      'http://127.0.0.1:4',
    );
  });
});

describe('options kiln refuses at kiln validate', () => {
  it('winrm fails validation with the option named; ssh_interface session_manager passes', async () => {
    const base = {
      type: 'amazon-ebs',
      region: 'us-east-1',
      ami_name: 'kiln-x',
      instance_type: 't3.micro',
      source_ami: 'ami-12345678',
    };
    const file = await env.writeTemplate('t.json', {
      builders: [
        { ...base, name: 'win', communicator: 'winrm', winrm_username: 'Administrator' },
        {
          ...base,
          name: 'ssm',
          ssh_username: 'ec2-user',
          ssh_interface: 'session_manager',
          iam_instance_profile: 'SSMInstanceProfile',
        },
      ],
    });
    const r = await env.kiln(['validate', file]);
    assert.equal(r.code, 1, r.out);
    // validate wraps long lines
    const out = r.out.replace(/\s+/g, ' ');
    assert.match(
      out,
      /Cannot use communicator "winrm" with amazon-ebs: kiln has no WinRM communicator yet \(see docs\/compatibility\.md\)/,
    );
    // session_manager is supported (test/amazon/session-manager.test.ts): nothing about it.
    assert.doesNotMatch(out, /session_manager|Session Manager/);
  });
});
