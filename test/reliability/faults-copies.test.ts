/**
 * Issue #6 part 3, beyond EC2's main path (2/2): region copies through the fault proxy in front of
 * moto (test/reliability/fault-builds.ts): `ami_regions` with `encrypt_boot` and
 * `region_kms_key_ids`, so CopyImage runs in both regions, the waits in us-west-2, and the
 * intermediary is removed. At 10–30 % the build succeeds with one AMI per region; at 100 % on
 * CopyImage (an error, or every answer lost after EC2 made the copy) or the copy's wait: a clear error, exit 1, and no AMI or snapshot in either region.
 *
 * With KILN_RELIABILITY_OUT set, the figures go to $KILN_RELIABILITY_OUT/faults-copies.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertBuilt,
  assertFailedClean,
  atRate,
  build,
  COPIES,
  EAST,
  firstLost,
  INTERNAL,
  setUp,
  tearDown,
  WEST,
} from './fault-builds.js';

before(setUp);
after(() =>
  tearDown('faults-copies', 'API faults on region copies (CopyImage and its waits in two regions)'),
);

describe('region copies through a faulty EC2 endpoint', () => {
  it('30% mixed faults on every call in us-west-2 and 10% in us-east-1: builds, one AMI per region', async () => {
    const west = atRate(33, 0.3, ['throttle', 'internal', 'drop', 'drop-after'], (q) => q.region === WEST);
    const east = atRate(34, 0.1, ['throttle', 'internal', 'drop', 'drop-after'], (q) => q.region === EAST);
    const r = await build(
      'copies: 30% mixed faults in us-west-2, 10% in us-east-1, seeds 33/34',
      (q) => (q.region === WEST ? west(q) : east(q)),
      COPIES(),
    );
    assert.ok(r.faults > 0, 'faults were injected');
    assertBuilt(r, [EAST, WEST]);
  });

  it('the first CopyImage answer in each region lost: builds, one copy per region', async () => {
    const r = await build(
      'copies: drop-after on the first CopyImage in each region',
      firstLost((q) => q.action === 'CopyImage'),
      COPIES(),
    );
    assertBuilt(r, [EAST, WEST]);
    assert.equal(r.done.CopyImage, 4, 'each region copied once, then the lost answer was retried');
  });

  it('100% InternalError on CopyImage in us-west-2: exit 1, no AMI or snapshot in either region', async () => {
    const r = await build(
      'copies: 100% InternalError on CopyImage in us-west-2',
      (q) => (q.action === 'CopyImage' && q.region === WEST ? INTERNAL : 'pass'),
      { ...COPIES(), max_retries: 2 },
    );
    assertFailedClean(
      r,
      /Error Copying AMI \(ami-[0-9a-f]+\) to region \(us-west-2\): InternalError: An internal error has occurred/,
    );
  });

  it('100% of CopyImage answers lost in us-west-2 (EC2 made the copy): exit 1, the copy found by its tag and removed', async () => {
    const r = await build(
      'copies: 100% drop-after on CopyImage in us-west-2',
      (q) => (q.action === 'CopyImage' && q.region === WEST ? 'drop-after' : 'pass'),
      { ...COPIES(), max_retries: 2 },
    );
    assertFailedClean(r, /Error Copying AMI \(ami-[0-9a-f]+\) to region \(us-west-2\): /);
    assert.match(r.out, /Deregistering the AMI copies and deleting their snapshots/);
  });

  it('100% InternalError on DescribeImages in us-west-2 (the copy wait): exit 1, nothing left', async () => {
    // Until cleanup starts (its first call removes something): kiln's cleanup must still be able
    // to look at the copy it deregisters.
    let cleaning = false;
    const r = await build(
      'copies: 100% InternalError on DescribeImages in us-west-2 while waiting',
      (q) => {
        if (/^(Deregister|Delete|Terminate)/.test(q.action)) cleaning = true;
        return q.action === 'DescribeImages' && q.region === WEST && !cleaning ? INTERNAL : 'pass';
      },
      { ...COPIES(), max_retries: 1, aws_polling: { delay_seconds: 1, max_attempts: 3 } },
    );
    assertFailedClean(r, /Error waiting for AMI \(ami-[0-9a-f]+\) in region \(us-west-2\): /);
  });
});
