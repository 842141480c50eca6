/**
 * `ssh_interface: "session_manager"` (spec §B.10, §B.11, issue #4): `kiln build` reaching the
 * instance through an AWS Session Manager tunnel.
 *
 * STAND-INS (the real ones need AWS): the SSM API's StartSession/TerminateSession are answered by
 * the test moto's SsmFake (test/env/moto/server.py; moto 5.2.1 has neither), and
 * `session-manager-plugin` is test/env/session-manager-plugin.mjs, put first on PATH: it checks its
 * six arguments exactly as the real plugin takes them, asks the fake SSM whether the session is
 * active with its token, listens on the local port it is given and forwards to the instance's sshd
 * (KILN_TEST_SSM_FORWARD).
 * REAL: kiln's code end to end (the CLI, the SDK's SSM client and its retries, the plugin process
 * and its output, the cleanup), the SSH connection and provisioning over the tunnel (real sshd),
 * moto's EC2 and IAM. The template sets no ssh_host/ssh_port: the sshd's port is known only to the
 * plugin, so a build that provisions went through the tunnel.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AWS_TEST_ENV,
  ROOT,
  runKiln,
  runKilnOnTerminal,
  startKiln,
  type KilnOptions,
} from '../env/kiln-cli.js';
import { startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import { freePort } from '../env/ssh-env.js';
import { ec2 } from './helpers.js';
import {
  cleanOutputLine,
  findOnPath,
  pluginArgs,
  ssmEndpoint,
  tunnelInput,
} from '../../src/builders/amazon/common/ssm.js';
import { pickLocalPort } from '../../src/builders/amazon/common/steps/ssm-tunnel.js';

let moto: Moto;
let inst: MotoInstance;
let api: EC2Client;
let iam: IAMClient;
let dir: string;
let bin: string;

interface SsmCall {
  action: 'StartSession' | 'TerminateSession';
  params: Record<string, unknown>;
  region: string;
  error?: string;
  session_id?: string;
}

interface PluginEvent {
  event: string;
  pid: number;
  args?: string[];
  port?: number;
  session?: string;
  why?: string;
}

before(async () => {
  moto = await startMoto();
  inst = await startMotoInstance(moto);
  api = ec2(moto);
  iam = new IAMClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  dir = await mkdtemp(join(tmpdir(), 'kiln-ssm-'));
  // The stand-in plugin, under the real program's name, first on PATH.
  bin = join(dir, 'bin');
  await mkdir(bin);
  const script = join(ROOT, 'test', 'env', 'session-manager-plugin.mjs');
  await writeFile(
    join(bin, 'session-manager-plugin'),
    `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`,
    { mode: 0o755 },
  );
});

after(async () => {
  await inst?.stop();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ssmCalls(): Promise<SsmCall[]> {
  const res = await fetch(`${moto.endpoint}/kiln-ssm/calls`);
  return (await res.json()) as SsmCall[];
}

/** The fake SSM's next answers: `n` TargetNotConnected, or one error `code`. */
async function ssmConfig(doc: {
  target_not_connected?: number;
  start_error?: { code: string; message: string };
  terminate_error?: { code: string; message: string };
}) {
  await fetch(`${moto.endpoint}/kiln-ssm/config`, { method: 'POST', body: JSON.stringify(doc) });
}

async function targetNotConnectedFor(n: number): Promise<void> {
  await ssmConfig({ target_not_connected: n });
}

/** Ends a session at the fake SSM, as the console or an idle timeout would. */
async function terminateAtSsm(sessionId: string): Promise<void> {
  const res = await fetch(`${moto.endpoint}/`, {
    method: 'POST',
    headers: { 'X-Amz-Target': 'AmazonSSM.TerminateSession', 'Content-Type': 'application/x-amz-json-1.1' },
    body: JSON.stringify({ SessionId: sessionId }),
  });
  assert.equal(res.status, 200);
}

async function pluginEvents(log: string): Promise<PluginEvent[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as PluginEvent);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is gone, allowing it a moment to act on a signal sent as kiln exited. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

type Provisioners = string[] | Record<string, unknown>[];

function template(name: string, provision: Provisioners, over: Record<string, unknown> = {}): unknown {
  return {
    builders: [
      {
        type: 'amazon-ebs',
        ami_name: `kiln-ssm-${name}-{{timestamp}}`,
        instance_type: 't4g.medium',
        region: 'us-east-1',
        source_ami: moto.seed.source_ami,
        ssh_username: inst.user,
        ssh_timeout: '1m',
        ssh_interface: 'session_manager',
        temporary_iam_instance_profile_policy_document: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:*', 'ec2messages:*'],
              Resource: ['*'],
            },
          ],
        },
        vpc_id: moto.seed.vpc_id,
        subnet_id: moto.seed.most_free_subnet,
        custom_endpoint_ec2: moto.endpoint,
        ...over,
      },
    ],
    provisioners:
      typeof provision[0] === 'string' ? [{ type: 'shell', inline: provision }] : (provision as unknown[]),
  };
}

async function writeTemplate(name: string, provision: Provisioners, over?: Record<string, unknown>) {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(template(name, provision, over)));
  return file;
}

function kilnOptions(log: string): KilnOptions {
  return {
    env: {
      ...AWS_TEST_ENV,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      KILN_TEST_SSM_FORWARD: `127.0.0.1:${inst.port}`,
      KILN_TEST_SSM_LOG: log,
      KILN_TEST_SSM_REGION: 'us-east-1',
      KILN_TEST_SSH_RETRY_MS: '500',
      SSH_AUTH_SOCK: undefined,
    },
    timeoutMs: 120_000,
  };
}

async function instanceOf(id: string) {
  return (await api.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]
    ?.Instances?.[0];
}

/** The key pair and the temporary security group of the run in `out` are gone. */
async function assertKeyAndGroupGone(out: string): Promise<void> {
  const key = /Creating temporary keypair: (\S+)/.exec(out)?.[1] ?? '';
  assert.ok(key, out);
  await assert.rejects(api.send(new DescribeKeyPairsCommand({ KeyNames: [key] })), /NotFound|does not exist/);
  const sg = /Creating temporary security group for this instance: (\S+)/.exec(out)?.[1] ?? '';
  assert.ok(sg, out);
  const groups = await api.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [sg] }] }),
  );
  assert.deepEqual(groups.SecurityGroups ?? [], []);
}

describe('session_manager pieces', () => {
  it('passes the plugin its six arguments, byte for byte as packer 1.6.6 here does', () => {
    const input = tunnelInput('i-0123456789abcdef0', 22, 8123);
    const args = pluginArgs(
      { SessionId: 's-1', TokenValue: 'tok', StreamUrl: 'wss://x/v1/data-channel/s-1' },
      'eu-west-1',
      input,
    );
    assert.deepEqual(args, [
      '{"SessionId":"s-1","StreamUrl":"wss://x/v1/data-channel/s-1","TokenValue":"tok"}',
      'eu-west-1',
      'StartSession',
      '',
      '{"DocumentName":"AWS-StartPortForwardingSession","Parameters":{"localPortNumber":["8123"],"portNumber":["22"]},"Reason":null,"Target":"i-0123456789abcdef0"}',
      'wss://x/v1/data-channel/s-1',
    ]);
  });

  it('cleans plugin output lines as Packer did, and finds programs on PATH only', () => {
    assert.equal(cleanOutputLine('  \x1b[32mPort 8123 opened\x1b[0m  '), 'Port 8123 opened');
    assert.equal(cleanOutputLine('progress 10%\rprogress 100%'), 'progress 100%');
    assert.equal(findOnPath('session-manager-plugin', { PATH: '/nonexistent' }), undefined);
    assert.equal(findOnPath('session-manager-plugin', { PATH: bin }), join(bin, 'session-manager-plugin'));
  });

  it('sends SSM calls to AWS_ENDPOINT_URL_SSM, else the EC2 endpoint chain', () => {
    const access = { custom_endpoint_ec2: '' } as Parameters<typeof ssmEndpoint>[0];
    assert.equal(ssmEndpoint(access, {}), undefined);
    assert.equal(ssmEndpoint(access, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }), 'http://127.0.0.1:1');
    assert.equal(
      ssmEndpoint(access, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_SSM: '127.0.0.1:2' }),
      'https://127.0.0.1:2',
    );
    assert.equal(
      ssmEndpoint({ ...access, custom_endpoint_ec2: 'http://127.0.0.1:3' }, {}),
      'http://127.0.0.1:3',
    );
  });

  it('picks a free local port in 8000-9000, or the configured one', async () => {
    const p = await pickLocalPort(0);
    assert.ok(p >= 8000 && p <= 9000, String(p));
    assert.equal(await pickLocalPort(p), p);
  });
});

describe('kiln build with ssh_interface session_manager', () => {
  it('builds an AMI through the tunnel: StartSession (retried while not connected), plugin, TerminateSession', async () => {
    const log = join(dir, 'build-plugin.jsonl');
    const file = await writeTemplate('build', ['echo "via={{build `Host`}}:{{build `Port`}}"', 'id -un'], {
      pause_before_ssm: '1s',
    });
    const before = (await ssmCalls()).length;
    await targetNotConnectedFor(2);
    await moto.clearCalls();
    const { code, out } = await runKiln(['build', '-color=false', file], kilnOptions(log));
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');

    const instanceId = /Instance ID: (i-[0-9a-f]+)/.exec(out)?.[1] ?? '';
    assert.ok(instanceId, out);
    const sessionId =
      /amazon-ebs: Starting portForwarding session "(kiln-test-[0-9a-f]+)"\./.exec(out)?.[1] ?? '';
    assert.ok(sessionId, out);
    assert.ok(out.includes('==> amazon-ebs: Waiting 1s before establishing the SSM session...'), out);
    const port = Number(/amazon-ebs: via=localhost:(\d+)/.exec(out)?.[1]);
    assert.ok(port >= 8000 && port <= 9000, out);
    // The plugin's own output, streamed as messages.
    assert.ok(out.includes(`amazon-ebs: Starting session with SessionId: ${sessionId}`), out);
    assert.ok(out.includes(`amazon-ebs: Port ${port} opened for sessionId ${sessionId}.`), out);
    // The step returns once the plugin listens, so StepConnect's first attempt finds the tunnel.
    const opened = out.indexOf(`amazon-ebs: Port ${port} opened for sessionId ${sessionId}.`);
    const connecting = out.indexOf('==> amazon-ebs: Using ssh communicator to connect: localhost');
    assert.ok(opened >= 0 && connecting > opened, out);
    assert.ok(out.includes(`amazon-ebs: ${inst.user}`), out);
    // No ingress rule with SSM (B.5).
    assert.doesNotMatch(out, /Authorizing access to port/);
    const apiCalls = await moto.sdkCalls();
    if (process.env.KILN_TEST_DEBUG) console.error(apiCalls.join(' '));
    assert.ok(!apiCalls.includes('AuthorizeSecurityGroupIngress'), apiCalls.join(' '));

    // The SSM calls: two TargetNotConnected answers retried, the session, its termination.
    const calls = (await ssmCalls()).slice(before);
    const request = {
      DocumentName: 'AWS-StartPortForwardingSession',
      Target: instanceId,
      Parameters: { portNumber: ['22'], localPortNumber: [String(port)] },
    };
    assert.deepEqual(
      calls.map((c) => [c.action, c.error ?? c.session_id ?? c.params.SessionId]),
      [
        ['StartSession', 'TargetNotConnected'],
        ['StartSession', 'TargetNotConnected'],
        ['StartSession', sessionId],
        ['TerminateSession', sessionId],
      ],
    );
    for (const c of calls.slice(0, 3)) assert.deepEqual(c.params, request);
    assert.ok(calls.every((c) => c.region === 'us-east-1'));

    // The plugin ran once with the session, and is gone.
    const events = await pluginEvents(log);
    const starts = events.filter((e) => e.event === 'start');
    assert.equal(starts.length, 1, JSON.stringify(events));
    assert.equal(JSON.parse(starts[0].args?.[0] ?? '{}').SessionId, sessionId);
    assert.ok(!events.some((e) => e.event === 'refused'), JSON.stringify(events));
    assert.ok(!alive(starts[0].pid), 'the plugin process still runs');
    assert.equal(await listening(port), false);

    if (process.env.KILN_TEST_DEBUG) console.error(out);
    // The end state in EC2 and IAM: the AMI; the instance terminated; the temporary profile gone.
    const ami = /us-east-1: (ami-[0-9a-f]+)/.exec(out)?.[1] ?? '';
    const img = (await api.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available');
    const i = await instanceOf(instanceId);
    assert.equal(i?.State?.Name, 'terminated');
    await assertKeyAndGroupGone(out);
    const profile =
      /Creating temporary instance profile for this instance: (packer-\S+)/.exec(out)?.[1] ?? '';
    assert.ok(profile, out);
    await assert.rejects(
      iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profile })),
      /NoSuchEntity|not found/,
    );
  });

  it('without session-manager-plugin on PATH: a clear error, exit 1, nothing created', async () => {
    const file = await writeTemplate('missing', ['true']);
    const before = (await ssmCalls()).length;
    await moto.clearCalls();
    const path = (process.env.PATH ?? '')
      .split(':')
      .filter((d) => d !== '' && !findOnPath('session-manager-plugin', { PATH: d }))
      .join(':');
    const opts = kilnOptions(join(dir, 'missing-plugin.jsonl'));
    const { code, out } = await runKiln(['build', '-color=false', file], {
      ...opts,
      env: { ...opts.env, PATH: path },
    });
    assert.equal(code, 1, out);
    assert.match(
      out.replace(/\s+/g, ' '),
      /Build 'amazon-ebs' errored after [^:]+: Cannot use ssh_interface "session_manager": the program session-manager-plugin was not found on PATH; install AWS's Session Manager plugin \(https:\/\/docs\.aws\.amazon\.com\/systems-manager\/latest\/userguide\/session-manager-working-with-install-plugin\.html\)/,
    );
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
    // Checked before the first AWS call: nothing to clean up anywhere.
    assert.deepEqual(await moto.sdkCalls(), []);
    assert.equal((await ssmCalls()).length, before);
  });

  it('Ctrl-C while provisioning over the tunnel: plugin stopped (even one deaf to SIGTERM), session terminated, nothing left', async () => {
    const log = join(dir, 'interrupt-plugin.jsonl');
    const file = await writeTemplate('interrupt', ['echo kiln-ssm-ready', 'sleep 120']);
    const before = (await ssmCalls()).length;
    const opts = kilnOptions(log);
    const run = startKiln(['build', '-color=false', file], {
      ...opts,
      env: { ...opts.env, KILN_TEST_SSM_IGNORE_TERM: '1' },
    });
    await run.waitFor(/amazon-ebs: kiln-ssm-ready/, 90_000);
    const starts = (await pluginEvents(log)).filter((e) => e.event === 'start');
    assert.equal(starts.length, 1);
    assert.ok(alive(starts[0].pid));
    // To kiln only (not its process group): kiln itself must stop the plugin.
    run.child.kill('SIGINT');
    const { code, out } = await run.done;
    assert.equal(code, 1, out);
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
    assert.ok(!alive(starts[0].pid), `the plugin process still runs:\n${out}`);
    // Asked first, then killed: kiln's cleanup does not hang on it.
    const events = await pluginEvents(log);
    assert.ok(
      events.some((e) => e.pid === starts[0].pid && e.event === 'SIGTERM-ignored'),
      JSON.stringify(events),
    );
    const sessionId = /Starting portForwarding session "(kiln-test-[0-9a-f]+)"/.exec(out)?.[1] ?? '';
    const calls = (await ssmCalls()).slice(before);
    assert.deepEqual(
      calls.map((c) => [c.action, c.session_id ?? c.params.SessionId]),
      [
        ['StartSession', sessionId],
        ['TerminateSession', sessionId],
      ],
    );
    const instanceId = /Instance ID: (i-[0-9a-f]+)/.exec(out)?.[1] ?? '';
    assert.equal((await instanceOf(instanceId))?.State?.Name, 'terminated');
    await assertKeyAndGroupGone(out);
    assert.doesNotMatch(out, /Temporary resources left behind/);
  });

  it('-on-error=abort: the session is listed as left behind and the plugin still stops', async () => {
    const log = join(dir, 'abort-plugin.jsonl');
    const port = await freePort();
    const file = await writeTemplate('abort', ['exit 7'], { session_manager_port: port });
    const before = (await ssmCalls()).length;
    const { code, out } = await runKiln(['build', '-color=false', '-on-error=abort', file], kilnOptions(log));
    assert.equal(code, 1, out);
    const sessionId = /Starting portForwarding session "(kiln-test-[0-9a-f]+)"/.exec(out)?.[1] ?? '';
    assert.ok(sessionId, out);
    assert.ok(out.includes(`amazon-ebs: SSM session ${sessionId} (us-east-1)`), out);
    assert.ok(out.includes(`amazon-ebs: Port ${port} opened for sessionId ${sessionId}.`), out);
    const calls = (await ssmCalls()).slice(before);
    assert.deepEqual(
      calls.map((c) => c.action),
      ['StartSession'],
    );
    const starts = (await pluginEvents(log)).filter((e) => e.event === 'start');
    assert.equal(starts.length, 1);
    assert.ok(await gone(starts[0].pid), 'the plugin process outlived kiln');
  });

  it('StartSession refused: the build fails at once with ssm error, everything cleaned up', async () => {
    const log = join(dir, 'refused-plugin.jsonl');
    const file = await writeTemplate('refused', ['true']);
    const before = (await ssmCalls()).length;
    const message =
      'User: arn:aws:iam::123456789012:user/kiln is not authorized to perform: ssm:StartSession';
    await ssmConfig({ start_error: { code: 'AccessDeniedException', message } });
    const { code, out } = await runKiln(['build', '-color=false', file], kilnOptions(log));
    assert.equal(code, 1, out);
    assert.ok(
      out.includes(`errored after`) && out.includes(`: ssm error: AccessDeniedException: ${message}`),
      out,
    );
    assert.doesNotMatch(out, /Waiting for SSH to become available/);
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
    const calls = (await ssmCalls()).slice(before);
    assert.deepEqual(
      calls.map((c) => [c.action, c.error]),
      [['StartSession', 'AccessDeniedException']],
    );
    assert.deepEqual(await pluginEvents(log), []);
    const instanceId = /Instance ID: (i-[0-9a-f]+)/.exec(out)?.[1] ?? '';
    assert.equal((await instanceOf(instanceId))?.State?.Name, 'terminated');
    await assertKeyAndGroupGone(out);
  });

  it('Ctrl-C while the instance is not connected to Session Manager yet: no session, nothing left', async () => {
    const log = join(dir, 'waiting-plugin.jsonl');
    const file = await writeTemplate('waiting', ['true']);
    const before = (await ssmCalls()).length;
    await targetNotConnectedFor(1000);
    try {
      const run = startKiln(['build', '-color=false', file], kilnOptions(log));
      await run.waitFor(/Waiting for instance \(i-[0-9a-f]+\) to become ready/);
      // Interrupt once kiln has been told TargetNotConnected twice (it is backing off).
      for (let i = 0; i < 300; i++) {
        const tries = (await ssmCalls()).slice(before).filter((c) => c.error === 'TargetNotConnected');
        if (tries.length >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      run.child.kill('SIGINT');
      const { code, out } = await run.done;
      assert.equal(code, 1, out);
      assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
      const calls = (await ssmCalls()).slice(before);
      assert.ok(calls.length >= 2, JSON.stringify(calls));
      assert.ok(
        calls.every((c) => c.action === 'StartSession' && c.error === 'TargetNotConnected'),
        JSON.stringify(calls),
      );
      assert.deepEqual(await pluginEvents(log), []);
      const instanceId = /Instance ID: (i-[0-9a-f]+)/.exec(out)?.[1] ?? '';
      assert.equal((await instanceOf(instanceId))?.State?.Name, 'terminated');
      await assertKeyAndGroupGone(out);
    } finally {
      await targetNotConnectedFor(0);
    }
  });

  it('the session ends mid-build: a new session and plugin on the same port, SSH reconnects, the AMI is made', async () => {
    const log = join(dir, 'reconnect-plugin.jsonl');
    const file = await writeTemplate('reconnect', [
      { type: 'shell', inline: ['echo kiln-tunnel-up', 'sleep 60'], expect_disconnect: true },
      { type: 'shell', inline: ['echo kiln-after-reconnect'] },
    ]);
    const before = (await ssmCalls()).length;
    const run = startKiln(['build', '-color=false', file], kilnOptions(log));
    await run.waitFor(/amazon-ebs: kiln-tunnel-up/, 90_000);
    const first = /Starting portForwarding session "(kiln-test-[0-9a-f]+)"/.exec(run.out())?.[1] ?? '';
    await terminateAtSsm(first);
    const { code, out } = await run.done;
    if (process.env.KILN_TEST_DEBUG) console.error(out);
    assert.equal(code, 0, out);
    assert.ok(out.includes('amazon-ebs: kiln-after-reconnect'), out);
    assert.ok(out.includes(`amazon-ebs: Exiting session with sessionId: ${first}.`), out);
    assert.doesNotMatch(out, /Bad exit status/);
    const starts = (await ssmCalls()).slice(before).filter((c) => c.action === 'StartSession');
    assert.equal(starts.length, 2, JSON.stringify(starts));
    assert.deepEqual(starts[1].params, starts[0].params, 'the same local port again');
    const second = starts[1].session_id ?? '';
    assert.ok(out.includes(`Starting portForwarding session "${second}".`), out);
    const calls = (await ssmCalls()).slice(before);
    assert.deepEqual(calls.at(-1), {
      action: 'TerminateSession',
      params: { SessionId: second },
      region: 'us-east-1',
    });
    const plugins = (await pluginEvents(log)).filter((e) => e.event === 'start');
    assert.equal(plugins.length, 2);
    for (const p of plugins) assert.ok(!alive(p.pid));
    assert.match(out, /AMIs were created:\nus-east-1: ami-[0-9a-f]+/);
  });

  it('-debug on a terminal: a pause after StepCreateSSMTunnel with the tunnel up, and before its cleanup; a failed TerminateSession is reported', async () => {
    const log = join(dir, 'debug-plugin.jsonl');
    const file = await writeTemplate('debug', ['true']);
    await ssmConfig({ terminate_error: { code: 'DoesNotExistException', message: 'Session not found.' } });
    // Whether the plugin runs and listens (from its log: a probe connection would print while paused).
    const tunnelUp = async (): Promise<boolean> => {
      const events = await pluginEvents(log);
      const up = events.find((e) => e.event === 'listening');
      return (
        !!up &&
        alive(up.pid) &&
        !events.some((e) => e.pid === up.pid && e.event !== 'listening' && e.event !== 'start')
      );
    };
    const seen: { where: string; step: string; up: boolean; before: string }[] = [];
    const { code, out } = await runKilnOnTerminal(
      ['build', '-debug', '-color=false', file],
      kilnOptions(log),
      async ({ where, step, before }) => {
        if (step === 'StepCreateSSMTunnel' && where === 'after run of') {
          // The plugin starts in the background: give it the moment StepConnect would.
          for (let i = 0; i < 100 && !(await tunnelUp()); i++) await new Promise((r) => setTimeout(r, 100));
        }
        seen.push({ where, step, up: await tunnelUp(), before });
      },
    );
    assert.equal(code, 0, out);
    const afterRun = seen.filter((p) => p.where === 'after run of').map((p) => p.step);
    const beforeCleanup = seen.filter((p) => p.where === 'before cleanup of').map((p) => p.step);
    const i = afterRun.indexOf('StepCreateSSMTunnel');
    assert.deepEqual(afterRun.slice(i - 1, i + 2), [
      'StepRunSourceInstance',
      'StepCreateSSMTunnel',
      'StepConnect',
    ]);
    assert.deepEqual(beforeCleanup, [...afterRun].reverse());
    const at = (where: string) => seen.find((p) => p.where === where && p.step === 'StepCreateSSMTunnel')!;
    assert.match(at('after run of').before, /Starting portForwarding session "kiln-test-/);
    assert.doesNotMatch(at('after run of').before, /Waiting for SSH to become available/);
    assert.equal(at('after run of').up, true, 'the tunnel is up during the pause');
    assert.equal(at('before cleanup of').up, true, 'the tunnel is up until its own cleanup');
    const after = seen.find((p) => p.where === 'before cleanup of' && p.step === 'StepRunSourceInstance')!;
    assert.equal(after.up, false, 'the tunnel is gone after its cleanup');
    // Packer's words; a cleanup error does not fail the build.
    const sessionId = /Starting portForwarding session "(kiln-test-[0-9a-f]+)"/.exec(out)?.[1] ?? '';
    assert.ok(
      out.includes(
        `==> amazon-ebs: Error terminating SSM Session "${sessionId}". Please terminate the session manually: DoesNotExistException: Session not found.`,
      ),
      out,
    );
  });
});
