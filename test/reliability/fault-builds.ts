/**
 * The fault builds of faults.test.ts, faults-more.test.ts, faults-copies.test.ts (issue #6 part 3)
 * and ssh-drop.test.ts (part 4): real `kiln build`s through the fault proxy (test/env/ec2-proxy.ts)
 * in front of moto, one moto, instance sshd and proxy per test file (`setUp` or `setUpWith`, then
 * `tearDown`). `build` runs one through the proxy; `runCase` runs one the caller drives (ssh-drop
 * kills its connection). Both remove the AMIs it made (the product) and list what it left in both
 * regions, in IAM (roles, instance profiles) and in launch templates; the figures go to
 * $KILN_RELIABILITY_OUT/<area>.json.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteLaunchTemplateCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  ListInstanceProfilesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { writeFigures } from './figures.js';
import { prng } from '../fuzz/mutate.js';
import { motoEc2, startMoto, startMotoInstance, type Moto, type MotoInstance } from '../env/moto.js';
import { startEc2Proxy, type Ec2Proxy, type ProxyDecision, type ProxyRequest } from '../env/ec2-proxy.js';
import { AWS_TEST_ENV, runKiln } from '../env/kiln-cli.js';
import { leftovers, removeLeftovers } from './leaks.js';

export const EAST = 'us-east-1';
export const WEST = 'us-west-2';
const WEST_KEY = 'arn:aws:kms:us-west-2:123456789012:key/0f4a3e1c-5b2d-4c6e-9a8b-7d1e2f3a4b5c';

let moto: Moto;
let inst: MotoInstance;
let proxy: Ec2Proxy | undefined;
let name = 'faults-more';
let ec2: Record<string, EC2Client>;
let iam: IAMClient;
let dir: string;

interface Row {
  case: string;
  exit: number | null;
  faults: number;
  runInstances: number;
  leaked: string[];
}
const rows: Row[] = [];

export interface SetUpOptions {
  /** Names the temporary folder (`kiln-<name>-…`) and the AMIs; 'faults-more' by default. */
  name?: string;
  /** false: no proxy, kiln talks to moto directly (`build` needs the proxy; `runCase` does not). */
  proxy?: boolean;
}

/** Starts moto, the instance sshd and the proxy (call from `before`). */
export async function setUp(): Promise<void> {
  await start({});
}

/** `setUp` with options, for `before(setUpWith({ … }))`. */
export function setUpWith(options: SetUpOptions): () => Promise<void> {
  return () => start(options);
}

async function start(options: SetUpOptions): Promise<void> {
  name = options.name ?? 'faults-more';
  moto = await startMoto();
  inst = await startMotoInstance(moto);
  if (options.proxy !== false) proxy = await startEc2Proxy(moto.endpoint);
  ec2 = { [EAST]: motoEc2(moto, EAST), [WEST]: motoEc2(moto, WEST) };
  iam = new IAMClient({
    region: EAST,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  dir = await mkdtemp(join(tmpdir(), `kiln-${name}-`));
}

/** Writes the figures and stops everything (call from `after`). */
export async function tearDown(area: string, title: string): Promise<void> {
  await writeFigures({
    area,
    title,
    rows,
    faults: (r) => r.faults,
  });
  for (const c of Object.values(ec2 ?? {})) c.destroy();
  iam?.destroy();
  await proxy?.stop();
  await inst?.stop();
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}

export const THROTTLE: ProxyDecision[] = [
  { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' },
  { status: 400, code: 'Throttling', message: 'Rate exceeded' },
];
export const INTERNAL = { status: 500, code: 'InternalError', message: 'An internal error has occurred' };
/** IAM's own 500 (ServiceFailure), as IAM answers it. */
export const IAM_FAILURE = { status: 500, code: 'ServiceFailure', message: 'Service failure' };

export type Kind = 'throttle' | 'internal' | 'drop' | 'drop-after';
export type Choose = (req: ProxyRequest) => ProxyDecision;

/** Faults at `rate` of the requests `which` selects (all by default), kinds drawn from `kinds`, all from one seed. */
export function atRate(
  seed: number,
  rate: number,
  kinds: Kind[],
  which: (r: ProxyRequest) => boolean = () => true,
): Choose {
  const rnd = prng(seed);
  return (req) => {
    if (!which(req) || rnd() >= rate) return 'pass';
    const kind = kinds[Math.floor(rnd() * kinds.length)];
    if (kind === 'throttle') return THROTTLE[Math.floor(rnd() * THROTTLE.length)];
    if (kind === 'internal') return req.service === 'iam' ? IAM_FAILURE : INTERNAL;
    return kind;
  };
}

/** The first request of each action `which` selects answered into a dropped connection (moto did it). */
export function firstLost(which: (r: ProxyRequest) => boolean): Choose {
  const seen = new Set<string>();
  return (req) => {
    const key = `${req.region}/${req.action}`;
    if (!which(req) || seen.has(key)) return 'pass';
    seen.add(key);
    return 'drop-after';
  };
}

export const MUTATING = /^(Create|Run|Authorize|Stop|Terminate|Delete|Deregister|Copy|Put|Add|Remove)/;
export const isIam = (r: ProxyRequest) => r.service === 'iam';

const POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] }],
};
export const WITH_IAM = { temporary_iam_instance_profile_policy_document: POLICY };
export const SPOT = {
  instance_type: '',
  spot_price: 'auto',
  spot_instance_types: ['t4g.medium', 't4g.large'],
};
export const COPIES = () => ({
  encrypt_boot: true,
  kms_key_id: moto.seed.kms_key_id,
  ami_regions: [WEST],
  region_kms_key_ids: { [WEST]: WEST_KEY },
});

const PROVISIONED = [{ type: 'shell', inline: ['echo provisioned-ok'] }];

function template(n: string, over: Record<string, unknown>, provisioners: unknown[]): unknown {
  return {
    builders: [
      {
        type: 'amazon-ebs',
        region: EAST,
        ami_name: `kiln-${name}-${n}-{{timestamp}}`,
        instance_type: 't4g.medium',
        source_ami: moto.seed.source_ami,
        subnet_id: moto.seed.most_free_subnet,
        ssh_username: inst.user,
        ssh_host: '127.0.0.1',
        ssh_port: String(inst.port),
        ssh_timeout: '1m',
        custom_endpoint_ec2: proxy?.endpoint ?? moto.endpoint,
        aws_polling: { delay_seconds: 1, max_attempts: 60 },
        tags: { Name: `kiln-${name}-${n}` },
        ...over,
      },
    ],
    provisioners,
  };
}

async function instanceCount(): Promise<number> {
  const out = await ec2[EAST].send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? []).reduce((n, r) => n + (r.Instances?.length ?? 0), 0);
}

/** Roles, instance profiles and launch templates (none of which the seed makes), as leak lines. */
async function otherLeftovers(): Promise<string[]> {
  const out: string[] = [];
  for (const r of (await iam.send(new ListRolesCommand({}))).Roles ?? []) out.push(`role ${r.RoleName}`);
  for (const p of (await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? []) {
    out.push(`instance profile ${p.InstanceProfileName}`);
  }
  for (const t of (await ec2[EAST].send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? []) {
    out.push(`launch template ${t.LaunchTemplateName}`);
  }
  return out;
}

async function removeOthers(): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  for (const p of (await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? []) {
    for (const r of p.Roles ?? []) {
      await quiet(
        iam.send(
          new RemoveRoleFromInstanceProfileCommand({
            InstanceProfileName: p.InstanceProfileName,
            RoleName: r.RoleName,
          }),
        ),
      );
    }
    await quiet(iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: p.InstanceProfileName })));
  }
  for (const r of (await iam.send(new ListRolesCommand({}))).Roles ?? []) {
    for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: r.RoleName }))).PolicyNames ??
      []) {
      await quiet(iam.send(new DeleteRolePolicyCommand({ RoleName: r.RoleName, PolicyName: name })));
    }
    await quiet(iam.send(new DeleteRoleCommand({ RoleName: r.RoleName })));
  }
  for (const t of (await ec2[EAST].send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? []) {
    await quiet(ec2[EAST].send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: t.LaunchTemplateId })));
  }
}

/** This account's AMIs in a region other than the seed's images (moto's catalogue is another owner's). */
async function ownImages(region: string): Promise<string[]> {
  const own = (await ec2[region].send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
  return own
    .map((i) => i.ImageId ?? '')
    .filter((id) => id !== moto.seed.decoy_ami && id !== moto.seed.source_ami);
}

/** How a case's kiln run ended, and how many faults it met. */
export interface Ran {
  code: number | null;
  out: string;
  faults: number;
}

/** A case's run and the end state read from moto afterwards. */
export interface Outcome extends Ran {
  launched: number;
  /** The AMIs of the artifact, by region. */
  amis: Record<string, string>;
  /** Own AMIs per region right after the build (the artifact's, and anything left). */
  images: Record<string, string[]>;
  leaked: string[];
}

export interface CaseResult extends Outcome {
  /** Successful (HTTP 200) answers moto gave, by action, for the requests that went through the proxy. */
  done: Record<string, number>;
  /** Every request that reached the proxy, by action. */
  sent: Record<string, number>;
  /** The requests that reached moto (whatever it answered), by action. */
  reached: Record<string, number>;
}

/**
 * One case: writes its template (the builder with `over`, then `provisioners`), lets `run` run kiln
 * on it with the tests' environment (`extra` last), then removes the AMIs it made (the product),
 * lists what it left and adds the case's figures row.
 */
export async function runCase(
  label: string,
  over: Record<string, unknown>,
  run: (file: string, env: Record<string, string>) => Promise<Ran>,
  options: { provisioners?: unknown[]; env?: Record<string, string> } = {},
): Promise<Outcome> {
  const file = join(dir, `${rows.length}.json`);
  await writeFile(
    file,
    JSON.stringify(template(String(rows.length), over, options.provisioners ?? PROVISIONED)),
  );
  const before = await instanceCount();
  const r = await run(file, {
    ...AWS_TEST_ENV,
    KILN_TEST_SSH_RETRY_MS: '500',
    ...(process.env.KILN_FAULTS_LOG
      ? { PACKER_LOG: '1', PACKER_LOG_PATH: join(process.env.KILN_FAULTS_LOG, `${rows.length}.log`) }
      : {}),
    ...options.env,
  });
  const launched = (await instanceCount()) - before;
  const amis: Record<string, string> = {};
  const block = /--> amazon-ebs: AMIs were created:\n((?:[a-z0-9-]+: ami-[0-9a-f]+\n?)+)/.exec(r.out)?.[1];
  for (const m of (block ?? '').matchAll(/([a-z0-9-]+): (ami-[0-9a-f]+)/g)) amis[m[1]] = m[2];
  const images = { [EAST]: await ownImages(EAST), [WEST]: await ownImages(WEST) };
  for (const [region, ami] of Object.entries(amis)) {
    const img = (await ec2[region].send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available', `${region} ${ami}\n${r.out}`);
    await ec2[region].send(new DeregisterImageCommand({ ImageId: ami }));
    for (const m of img?.BlockDeviceMappings ?? []) {
      if (m.Ebs?.SnapshotId) {
        await ec2[region].send(new DeleteSnapshotCommand({ SnapshotId: m.Ebs.SnapshotId }));
      }
    }
  }
  const leaked = [
    ...(await leftovers(ec2[EAST], moto.seed)),
    ...(await leftovers(ec2[WEST], moto.seed)).map((l) => `${WEST} ${l}`),
    ...(await otherLeftovers()),
  ];
  rows.push({ case: label, exit: r.code, faults: r.faults, runInstances: launched, leaked });
  // The next case starts clean even when this one leaked (the leak is still a failure below).
  if (leaked.length > 0) {
    await removeLeftovers(ec2[EAST], moto.seed);
    await removeLeftovers(ec2[WEST], moto.seed);
    await removeOthers();
  }
  return { code: r.code, out: r.out, faults: r.faults, launched, amis, images, leaked };
}

/**
 * One `kiln build` through the proxy, each request's answer chosen by `choose` (`env` added to
 * kiln's environment); the AMIs it made (the product) are then removed and leaks listed.
 */
export async function build(
  label: string,
  choose: Choose,
  over: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<CaseResult> {
  const p = proxy;
  assert.ok(p, 'build needs the proxy (setUpWith without proxy: false)');
  const r = await runCase(
    label,
    over,
    async (file, kilnEnv) => {
      let faults = 0;
      p.clearLog();
      p.setPolicy((req) => {
        const d = choose(req);
        if (d !== 'pass') faults++;
        return d;
      });
      const k = await runKiln(['build', '-color=false', file], { env: kilnEnv, timeoutMs: 240_000 });
      p.setPolicy(() => 'pass');
      return { code: k.code, out: k.out, faults };
    },
    { env },
  );
  const done: Record<string, number> = {};
  const sent: Record<string, number> = {};
  const reached: Record<string, number> = {};
  for (const e of p.log()) {
    sent[e.action] = (sent[e.action] ?? 0) + 1;
    if (e.status > 0) reached[e.action] = (reached[e.action] ?? 0) + 1;
    if (e.status === 200) done[e.action] = (done[e.action] ?? 0) + 1;
  }
  return { ...r, done, sent, reached };
}

export function assertBuilt(r: Outcome, regions: string[] = [EAST]): void {
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /amazon-ebs: provisioned-ok/);
  assert.deepEqual(Object.keys(r.amis).sort(), regions.sort(), r.out);
  assert.equal(r.launched, 1, `instances launched: ${r.launched}\n${r.out}`);
  // One AMI per region: no second copy from a retried CopyImage, no intermediary left.
  for (const region of regions) {
    assert.deepEqual(r.images[region], [r.amis[region]], `${region} images\n${r.out}`);
  }
  assert.deepEqual(r.leaked, [], r.out);
}

export function assertFailedClean(r: Outcome, message: RegExp): void {
  assertFailed(r, message);
  assert.deepEqual(r.amis, {}, r.out);
  assert.deepEqual(r.leaked, [], r.out);
}

/** Exit 1 with `message` in the output, and no stack trace. */
export function assertFailed(r: Ran, message: RegExp): void {
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, message);
  assert.doesNotMatch(r.out, /\n\s+at .+\(.+:\d+:\d+\)/, 'no stack trace');
}

/** The suite's temporary folder (after the set-up). */
export const workDir = (): string => dir;
