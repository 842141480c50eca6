/**
 * Issue #6 part 3: real `kiln build`s of an amazon-ebs template whose EC2 endpoint is the fault
 * proxy (test/env/ec2-proxy.ts) in front of moto. A seeded, deterministic policy injects throttling
 * (RequestLimitExceeded 503, Throttling 400), InternalError 500, dropped connections (before moto
 * saw the request, and after moto did it) and NotFound right after a create (eventual
 * consistency). The builds must succeed with exactly one instance launched; at 100 % faults they
 * must fail with a clear error, exit 1, and leave nothing behind. The end state is always read
 * from moto directly, never through the proxy (the set-up, the builds and the end-state check are
 * test/reliability/fault-builds.ts's).
 *
 * With KILN_RELIABILITY_OUT set, the figures go to $KILN_RELIABILITY_OUT/faults.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProxyDecision } from '../env/ec2-proxy.js';
import {
  assertFailed,
  atRate,
  build,
  workDir,
  firstLost,
  INTERNAL,
  setUpWith,
  tearDown,
  THROTTLE,
  type CaseResult,
  type Choose,
} from './fault-builds.js';

before(setUpWith({ name: 'faults' }));
after(() =>
  tearDown('faults', 'EC2 API faults (throttling, 500s, dropped connections, NotFound after create)'),
);

const CREATES: Record<string, string> = {
  CreateKeyPair: 'key',
  CreateSecurityGroup: 'sg',
  RunInstances: 'instance',
  CreateImage: 'image',
};

interface Recorder {
  choose: Choose;
  clientTokens: string[];
}

/**
 * Wraps a fault choice so that it remembers every RunInstances ClientToken and (with `eventual`)
 * adds the NotFound-after-create faults.
 */
function recorder(choose: Choose, eventual = false): Recorder {
  const created = new Set<string>();
  const nf = eventual ? consistencyWith(created) : () => undefined;
  const r: Recorder = {
    clientTokens: [],
    choose: (req) => {
      const { action, params } = req;
      if (action === 'RunInstances') r.clientTokens.push(params.get('ClientToken') ?? '');
      const d = nf(action) ?? choose(req);
      // A create the client heard of (or that moto did) makes its NotFound-after-create possible.
      if (CREATES[action] && (d === 'pass' || d === 'drop-after')) created.add(CREATES[action]);
      return d;
    },
  };
  return r;
}

/**
 * NotFound right after a create, once each, the way EC2's eventual consistency shows it: the new
 * key pair or group unknown to RunInstances / AuthorizeSecurityGroupIngress, the new instance
 * unknown to the first DescribeInstances, the new image to the first DescribeImages and CreateTags.
 */
function consistencyWith(created: Set<string>): (action: string) => ProxyDecision | undefined {
  const done = new Set<string>();
  const once = (key: string, code: string): ProxyDecision | undefined => {
    if (done.has(key)) return undefined;
    done.add(key);
    return { status: 400, code, message: `The ID does not exist yet (${code})` };
  };
  return (action) => {
    if (action === 'AuthorizeSecurityGroupIngress' && created.has('sg'))
      return once('sg', 'InvalidGroup.NotFound');
    if (action === 'RunInstances' && created.has('key') && !done.has('key'))
      return once('key', 'InvalidKeyPair.NotFound');
    if (action === 'RunInstances' && created.has('sg')) return once('sg-run', 'InvalidGroup.NotFound');
    if (action === 'DescribeInstances' && created.has('instance'))
      return once('instance', 'InvalidInstanceID.NotFound');
    if (action === 'DescribeImages' && created.has('image')) return once('image', 'InvalidAMIID.NotFound');
    if (action === 'CreateTags' && created.has('image')) return once('image-tags', 'InvalidAMIID.NotFound');
    return undefined;
  };
}

/** The ami of the artifact in us-east-1, the RunInstances requests that reached moto. */
const ami = (r: CaseResult) => r.amis['us-east-1'];
const reached = (r: CaseResult) => r.reached.RunInstances ?? 0;

function assertBuilt(r: CaseResult, tokens: string[]): void {
  assert.equal(r.code, 0, r.out);
  assert.ok(ami(r), r.out);
  assert.match(r.out, /amazon-ebs: provisioned-ok/);
  assert.equal(r.launched, 1, `instances launched: ${r.launched}\n${r.out}`);
  assert.ok(tokens.length >= 1 && tokens[0] !== '', 'RunInstances carries a ClientToken');
  assert.equal(
    new Set(tokens).size,
    1,
    `every RunInstances retry reuses the ClientToken: ${tokens.join(' ')}`,
  );
  assert.deepEqual(r.leaked, []);
}

function assertFailedClean(r: CaseResult, message: RegExp): void {
  assertFailed(r, message);
  assert.deepEqual(r.leaked, [], r.out);
}

describe('kiln build through a faulty EC2 endpoint', () => {
  it('20% throttling (RequestLimitExceeded 503, Throttling 400): builds, one instance', async () => {
    const rec = recorder(atRate(7, 0.2, ['throttle']));
    const log = join(workDir(), 'throttling.log');
    const r = await build(
      '20% throttling, seed 7',
      rec.choose,
      {},
      { PACKER_LOG: '1', PACKER_LOG_PATH: log },
    );
    assert.ok(r.faults > 0, 'faults were injected');
    assertBuilt(r, rec.clientTokens);
    // Each throttled attempt the SDK retried is in the log.
    const logged = (await readFile(log, 'utf8')).match(
      /\[DEBUG\] EC2 \w+ attempt failed: (RequestLimitExceeded \(HTTP 503\)|Throttling \(HTTP 400\))/g,
    );
    assert.equal(logged?.length, r.faults);
  });

  it('10% InternalError 500 and dropped connections: builds, one instance', async () => {
    const rec = recorder(atRate(13, 0.1, ['internal', 'drop', 'drop-after']));
    const r = await build('10% 500s and dropped connections, seed 13', rec.choose, {});
    assert.ok(r.faults > 0, 'faults were injected');
    assertBuilt(r, rec.clientTokens);
  });

  it('every create answered into a dropped connection once, plus NotFound after each create', async () => {
    // moto did the action but kiln never heard: the retry must find or reuse what was made.
    const rec = recorder(
      firstLost(({ action }) => /^(Create|Run|Authorize|Stop|Terminate|Delete|Deregister)/.test(action)),
      true,
    );
    const r = await build(
      'drop-after on the first call of every mutating action + NotFound after create',
      rec.choose,
      {},
    );
    assertBuilt(r, rec.clientTokens);
    assert.ok(reached(r) >= 2, `the lost RunInstances was retried (${reached(r)} reached moto)`);
  });

  it('30% mixed faults with NotFound after create: builds, one instance', async () => {
    const rec = recorder(atRate(42, 0.3, ['throttle', 'internal', 'drop', 'drop-after']), true);
    const r = await build('30% mixed faults + NotFound after create, seed 42', rec.choose, {});
    assertBuilt(r, rec.clientTokens);
  });

  it('100% of all requests throttled: a clear error, exit 1, nothing created', async () => {
    const rec = recorder(() => THROTTLE[0]);
    const r = await build('100% throttling, all requests', rec.choose, { max_retries: 2 });
    assertFailedClean(
      r,
      /Build 'amazon-ebs' errored after .*RequestLimitExceeded: Request limit exceeded\.\n\tstatus code: 503/,
    );
    assert.equal(r.launched, 0);
  });

  it('100% InternalError on CreateImage mid-build: a clear error, exit 1, all cleaned up', async () => {
    const rec = recorder(({ action }) => (action === 'CreateImage' ? INTERNAL : 'pass'));
    const r = await build('100% InternalError on CreateImage', rec.choose, { max_retries: 2 });
    assertFailedClean(r, /Error creating AMI: InternalError: An internal error has occurred/);
    assert.match(r.out, /Terminating the source AWS instance\.\.\./);
    assert.equal(r.launched, 1);
  });

  it('100% InternalError on DescribeInstances while waiting: the wait gives up, exit 1, nothing left', async () => {
    const rec = recorder(({ action }) => (action === 'DescribeInstances' ? INTERNAL : 'pass'));
    const r = await build('100% InternalError on DescribeInstances (the waits)', rec.choose, {
      max_retries: 1,
    });
    assertFailedClean(
      r,
      /Error waiting for instance \(i-[0-9a-f]+\) to become ready: InternalError: An internal error has occurred/,
    );
    assert.match(r.out, /Terminating the source AWS instance\.\.\./);
    assert.equal(r.launched, 1);
  });

  it('100% of RunInstances answers lost (moto launched it): exit 1, the instance found and terminated', async () => {
    const rec = recorder(({ action }) => (action === 'RunInstances' ? 'drop-after' : 'pass'));
    const r = await build('100% drop-after on RunInstances', rec.choose, { max_retries: 2 });
    assertFailedClean(r, /Error launching source instance: /);
    assert.equal(r.launched, 1, 'the ClientToken kept the retries to one instance');
    assert.equal(new Set(rec.clientTokens).size, 1);
  });
});
