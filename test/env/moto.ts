/**
 * The amazon-ebs tests' EC2: a real moto server (test/env/moto/server.py: `moto.server` plus the
 * root-device mapping fix and a call log) on 127.0.0.1 and a free port, seeded through the EC2/KMS
 * APIs (test/env/moto/seed.py), and an "instance": the SSH test environment's sshd whose
 * AuthorizedKeysCommand plays cloud-init (test/env/moto/cloud_init_keys.py), authorizing the public
 * key of the key pair an instance was launched with, read from moto.
 *
 * Tests never dial the 10.x/54.x addresses moto invents: they set ssh_host/ssh_port to the sshd.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'node:http';
import { EC2Client } from '@aws-sdk/client-ec2';
import { freePort, startSshEnv, type SshEnv } from './ssh-env.js';

const run = promisify(execFile);

export interface MotoSeed {
  region: string;
  source_ami: string;
  source_ami_name: string;
  source_ami_owner: string;
  decoy_ami: string;
  vpc_id: string;
  decoy_vpc_id: string;
  subnets: Record<string, string>;
  most_free_subnet: string;
  security_group_id: string;
  kms_key_id: string;
  kms_key_arn: string;
}

export interface MotoCall {
  action: string;
  ua: string;
  status: number;
}

export interface Moto {
  endpoint: string;
  port: number;
  seed: MotoSeed;
  /** Every request moto served so far, oldest first. */
  calls(): Promise<MotoCall[]>;
  /** Only the requests kiln (aws-sdk-js) made since the last `clearCalls()`. */
  sdkCalls(): Promise<string[]>;
  clearCalls(): Promise<void>;
  stop(): Promise<void>;
}

export interface MotoInstance extends SshEnv {
  /** The instance user's real authorized_keys (the one cloud-init writes and ssh_clear_authorized_keys edits). */
  homeAuthorizedKeys(): Promise<string>;
}

/** The folder holding the python helpers (test/env/moto), found from dist/ or from the sources. */
function helperDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'test', 'env', 'moto', 'server.py');
    if (existsSync(candidate)) return dirname(candidate);
    dir = dirname(dir);
  }
  throw new Error(
    'Cannot start moto: test/env/moto/server.py not found above ' + fileURLToPath(import.meta.url),
  );
}

export interface StartMotoOptions {
  /** Extra environment for the server (e.g. KILN_MOTO_STOCK_CREATE_IMAGE=1, see server.py). */
  env?: Record<string, string>;
}

export async function startMoto(opts: StartMotoOptions = {}): Promise<Moto> {
  const helpers = helperDir();
  const stateDir = await fsp.mkdtemp('/var/tmp/kiln-moto-');
  const port = await freePort();
  const callLog = join(stateDir, 'calls.jsonl');
  await fsp.writeFile(callLog, '');
  const out = openSync(join(stateDir, 'server.log'), 'a');
  const child: ChildProcess = spawn(
    'python3',
    [join(helpers, 'server.py'), '127.0.0.1', String(port), callLog],
    {
      stdio: ['ignore', out, out],
      env: { ...process.env, ...opts.env, MOTO_PORT: String(port) },
    },
  );
  closeSync(out);
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    await fsp.rm(stateDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 120_000; // importing moto is slow on a busy machine
    while (!(await ready(port))) {
      if (child.exitCode !== null) {
        throw new Error(
          `Cannot start moto: exited with ${child.exitCode}: ${await fsp.readFile(join(stateDir, 'server.log'), 'utf8')}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`Cannot start moto: 127.0.0.1:${port} not answering after 120s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seeded = await run('python3', [join(helpers, 'seed.py'), endpoint, 'us-east-1'], {
      timeout: 60_000,
    });
    const seed = JSON.parse(seeded.stdout) as MotoSeed;
    await fsp.writeFile(callLog, '');
    const calls = async (): Promise<MotoCall[]> =>
      (await fsp.readFile(callLog, 'utf8'))
        .split('\n')
        .filter((l) => l)
        .map((l) => JSON.parse(l) as MotoCall);
    return {
      endpoint,
      port,
      seed,
      calls,
      async sdkCalls() {
        return (await calls()).filter((c) => c.ua.includes('aws-sdk-js')).map((c) => c.action);
      },
      async clearCalls() {
        await fsp.writeFile(callLog, '');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/moto-api/', method: 'GET', timeout: 1000 },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** An EC2 client on the test moto with its fake static keys (for set-up and end-state checks). */
export function motoEc2(moto: Moto, region = moto.seed.region): EC2Client {
  return new EC2Client({
    region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

/** The SSH test environment's target, authorizing the key pairs of moto's instances like cloud-init. */
export async function startMotoInstance(moto: Moto): Promise<MotoInstance> {
  const helpers = helperDir();
  // The command runs as root from sshd; its state must not sit below a world-writable directory.
  await fsp.mkdir('/var/lib/kiln-test', { recursive: true, mode: 0o755 });
  const cloudState = await fsp.mkdtemp('/var/lib/kiln-test/cloud-');
  await fsp.chmod(cloudState, 0o755);
  const env = await startSshEnv({
    targetConfig: [
      `AuthorizedKeysCommand /usr/bin/python3 ${join(helpers, 'cloud_init_keys.py')} ${moto.endpoint} ${moto.seed.region} kilntest ${cloudState} %u`,
      'AuthorizedKeysCommandUser root',
    ],
  });
  const akPath = join(env.home, '.ssh', 'authorized_keys');
  return {
    ...env,
    async homeAuthorizedKeys() {
      return fsp.readFile(akPath, 'utf8').catch(() => '');
    },
    async stop() {
      await env.stop();
      await fsp.rm(cloudState, { recursive: true, force: true });
    },
  };
}
