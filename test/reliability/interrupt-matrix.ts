/**
 * The interrupt matrix of test/reliability/interrupt.test.ts: the points of the amazon-ebs sequence
 * where a signal lands, how each one is reached (a template variant, and a proxy policy that holds
 * the next EC2 call back so the signal lands while it is in flight or while kiln waits), and a lane
 * (moto + instance sshd + EC2 proxy) that runs one interrupted `kiln build` after the other and
 * reads what it left through the EC2 API on moto directly.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { motoEc2, startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import {
  startEc2Proxy,
  passAll,
  type Ec2Proxy,
  type ProxyDecision,
  type ProxyPolicy,
} from '../env/ec2-proxy.js';
import { freePort } from '../env/ssh-env.js';
import { AWS_TEST_ENV, startKiln, type KilnResult, type RunningKiln } from '../env/kiln-cli.js';
import { leftovers, removeLeftovers } from './leaks.js';

/** How long the proxy holds a request back: long enough for the signal to land inside it. */
export const HOLD_MS = 5000;

/**
 * How long a held Describe/CreateTags request waits: kiln must abandon it at the signal, so this
 * only needs to outlast a slow machine's signal delivery (a wait that did not stop would show as a
 * case 30 s slower, and as a wrong error text).
 */
export const WAIT_HOLD_MS = 15_000;

export interface Lane {
  moto: Moto;
  inst: MotoInstance;
  proxy: Ec2Proxy;
  ec2: EC2Client;
  dir: string;
  stop(): Promise<void>;
}

export async function startLane(): Promise<Lane> {
  const moto = await startMoto();
  let inst: MotoInstance | undefined;
  let proxy: Ec2Proxy | undefined;
  try {
    inst = await startMotoInstance(moto);
    proxy = await startEc2Proxy(moto.endpoint);
  } catch (err) {
    await inst?.stop();
    await moto.stop();
    throw err;
  }
  const ec2 = motoEc2(moto);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-interrupt-'));
  await writeFile(
    join(dir, 'wait.yml'),
    '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: kiln-interrupt-wait\n      ansible.builtin.command: sleep 120\n',
  );
  const i = inst;
  const p = proxy;
  return {
    moto,
    inst: i,
    proxy: p,
    ec2,
    dir,
    async stop() {
      ec2.destroy();
      await p.stop();
      await i.stop();
      await moto.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What a point needs: provisioners, an SSH port, and the proxy's hold-back policy. */
export interface Point {
  /** Row label after the signal name, e.g. "while waiting for the AMI". */
  label: string;
  provisioners?: (lane: Lane) => unknown[];
  /** Where SSH goes (default: the instance sshd). */
  sshPort?: () => Promise<number>;
  policy?: () => ProxyPolicy;
  /** The build's error, when the interrupted step reports one (Packer's words). */
  error?: RegExp;
  /** Resolves when the signal should be sent. */
  ready(k: RunningKiln, lane: Lane): Promise<void>;
}

/**
 * A policy (made afresh for each case) that applies `decision` to the first request with this
 * action after `after` was seen (when given); later ones pass, so the cleanup's own calls are not
 * slowed down.
 */
function holdFirst(decision: ProxyDecision, action: string, after?: string): () => ProxyPolicy {
  return () => {
    let armed = after === undefined;
    let used = false;
    return (req) => {
      if (req.action === after) armed = true;
      if (used || !armed || req.action !== action) return 'pass';
      used = true;
      return decision;
    };
  };
}

/** Holds the first such request back (kiln must abandon it at the signal). */
const holdAction = (action: string, after?: string) => holdFirst({ delayMs: WAIT_HOLD_MS }, action, after);

/** Lets the first such request reach moto at once but holds its answer back (a create in flight). */
const holdAnswer = (action: string, after?: string) => holdFirst({ holdAnswerMs: HOLD_MS }, action, after);

/** Resolves once the proxy has seen `action` (after `after`, when given). */
async function proxySaw(lane: Lane, k: RunningKiln, action: string, after?: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const log = lane.proxy.log().map((e) => e.action);
    const from = after === undefined ? 0 : log.indexOf(after);
    if (from >= 0 && log.slice(from).includes(action)) return;
    if (k.child.exitCode !== null || k.child.signalCode !== null)
      throw new Error(`kiln ended before calling ${action}:\n${k.out()}`);
    if (Date.now() > deadline) throw new Error(`no ${action} after 90 s:\n${k.out()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const POINTS: Point[] = [
  {
    // The key pair exists; CreateSecurityGroup is in flight when the signal lands (moto has made
    // the group, kiln has no answer yet: abandoning the call would leak it).
    label: 'after the temporary key pair',
    policy: holdAnswer('CreateSecurityGroup'),
    ready: (k, lane) => proxySaw(lane, k, 'CreateSecurityGroup'),
  },
  {
    // Key pair and security group exist; RunInstances is in flight (the instance already exists).
    label: 'after the temporary security group',
    policy: holdAnswer('RunInstances'),
    ready: (k, lane) => proxySaw(lane, k, 'RunInstances'),
  },
  {
    label: 'while waiting for the instance',
    error:
      /Error waiting for instance \(i-[0-9a-f]+\) to become ready: RequestCanceled: waiter context canceled\ncaused by: context canceled$/m,
    policy: holdAction('DescribeInstances', 'RunInstances'),
    async ready(k, lane) {
      await k.waitFor(/Waiting for instance \(i-[0-9a-f]+\) to become ready\.\.\./, 90_000);
      await proxySaw(lane, k, 'DescribeInstances', 'RunInstances');
    },
  },
  {
    // Nothing listens on the SSH port: kiln keeps retrying until the signal.
    label: 'while waiting for SSH',
    sshPort: freePort,
    async ready(k) {
      await k.waitFor(/Waiting for SSH to become available\.\.\./, 90_000);
      await new Promise((r) => setTimeout(r, 700)); // inside the retry loop, past the first dial
    },
  },
  {
    label: 'during the shell provisioner',
    provisioners: () => [{ type: 'shell', inline: ['echo kiln-shell-started', 'sleep 120'] }],
    ready: (k) => k.waitFor(/kiln-shell-started/, 90_000).then(() => undefined),
  },
  {
    label: 'during the ansible provisioner',
    provisioners: (lane) => [{ type: 'ansible', playbook_file: join(lane.dir, 'wait.yml') }],
    async ready(k) {
      await k.waitFor(/TASK \[kiln-interrupt-wait\]/, 90_000);
      await new Promise((r) => setTimeout(r, 300)); // the task's command has started
    },
  },
  {
    // The instance is stopped; CreateImage is in flight (the AMI already exists).
    label: 'while creating the AMI',
    policy: holdAnswer('CreateImage'),
    ready: (k, lane) => proxySaw(lane, k, 'CreateImage'),
  },
  {
    // CreateImage answered; the AMI waiter's DescribeImages is held back.
    label: 'while waiting for the AMI',
    error: /: Error waiting for AMI: RequestCanceled: waiter context canceled\ncaused by: context canceled$/m,
    policy: holdAction('DescribeImages', 'CreateImage'),
    async ready(k, lane) {
      await k.waitFor(/Waiting for AMI to become ready\.\.\./, 90_000);
      await proxySaw(lane, k, 'DescribeImages', 'CreateImage');
    },
  },
  {
    // The AMI is available; CreateTags on it is held back.
    label: 'while tagging',
    policy: holdAction('CreateTags', 'CreateImage'),
    ready: (k, lane) => proxySaw(lane, k, 'CreateTags', 'CreateImage'),
  },
];

export function template(lane: Lane, sshPort: number, provisioners: unknown[]): unknown {
  return {
    builders: [
      {
        type: 'amazon-ebs',
        region: 'us-east-1',
        source_ami: lane.moto.seed.source_ami,
        instance_type: 't4g.medium',
        subnet_id: lane.moto.seed.subnets['vpc-dev-private-us-east-1a'],
        ami_name: `kiln-interrupt-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
        tags: { Name: 'kiln-interrupt', Base: '{{ .SourceAMI }}' },
        snapshot_tags: { Kind: 'interrupt' },
        launch_block_device_mappings: [
          { device_name: '/dev/xvda', volume_size: 8, volume_type: 'gp3', delete_on_termination: true },
        ],
        custom_endpoint_ec2: lane.proxy.endpoint,
        aws_polling: { delay_seconds: 1, max_attempts: 120 },
        ssh_username: lane.inst.user,
        ssh_host: '127.0.0.1',
        ssh_port: sshPort,
        ssh_timeout: '3m',
      },
    ],
    provisioners,
  };
}

export interface CaseResult {
  result: KilnResult;
  leaked: string[];
}

/** Waits until every held-back request reached moto and was answered (or the proxy gave up). */
async function drain(lane: Lane): Promise<void> {
  const deadline = Date.now() + HOLD_MS * 3;
  // A held Describe* or CreateTags makes nothing when it lands; anything else might.
  const pending = () =>
    lane.proxy
      .log()
      .some(
        (e) =>
          e.outcome === 'delay' &&
          e.status === 0 &&
          !e.action.startsWith('Describe') &&
          e.action !== 'CreateTags',
      );
  while (pending() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RunCase {
  point: Point;
  signal: NodeJS.Signals;
  extraArgs?: string[];
  /** Signal kiln's whole process group (kiln, ansible-playbook, ssh…), as a terminal's Ctrl-C does. */
  group?: boolean;
}

/** One interrupted build on a lane: start, wait for the point, signal, wait, read what is left. */
export async function runCase(lane: Lane, c: RunCase): Promise<CaseResult> {
  const stale = await leftovers(lane.ec2, lane.moto.seed);
  if (stale.length) throw new Error(`the lane is not clean before "${c.point.label}": ${stale.join(', ')}`);
  lane.proxy.setPolicy(c.point.policy ? c.point.policy() : passAll);
  lane.proxy.clearLog();
  const port = c.point.sshPort ? await c.point.sshPort() : lane.inst.port;
  const file = join(lane.dir, `t-${Date.now()}-${Math.floor(Math.random() * 1e6)}.json`);
  await writeFile(file, JSON.stringify(template(lane, port, c.point.provisioners?.(lane) ?? [])));
  const k = startKiln(['build', '-color=false', ...(c.extraArgs ?? []), file], {
    cwd: lane.dir,
    env: { ...AWS_TEST_ENV, KILN_TEST_SSH_RETRY_MS: '500', PACKER_LOG: undefined },
    timeoutMs: 180_000,
    detached: c.group ?? false,
  });
  try {
    await c.point.ready(k, lane);
  } catch (err) {
    k.child.kill('SIGKILL');
    await k.done;
    throw err;
  }
  if (c.group && k.child.pid) process.kill(-k.child.pid, c.signal);
  else k.child.kill(c.signal);
  const result = await k.done;
  await drain(lane);
  lane.proxy.setPolicy(passAll);
  const leaked = await leftovers(lane.ec2, lane.moto.seed);
  const errors = leaked.length ? await removeLeftovers(lane.ec2, lane.moto.seed) : [];
  if (errors.length) throw new Error(`Cannot clean the lane after "${c.point.label}": ${errors.join('; ')}`);
  return { result, leaked };
}
