/**
 * Issue #6 part 3, beyond EC2's main path (1/2): real `kiln build`s through the fault proxy in front
 * of moto (test/reliability/fault-builds.ts) for
 *   - the temporary instance profile (`temporary_iam_instance_profile_policy_document`): its IAM
 *     calls go to custom_endpoint_ec2, so the proxy sees them (signing service `iam`) and answers
 *     its faults in IAM's error shape;
 *   - the spot path: CreateLaunchTemplate, CreateFleet, DeleteLaunchTemplate.
 * At 10–30 % the build succeeds with one instance, one role and profile; at 100 % on one of these
 * calls: a clear error, exit 1, and nothing left (no role, profile, launch template, instance). The
 * end state is read from moto directly. Region copies: faults-copies.test.ts.
 *
 * With KILN_RELIABILITY_OUT set, the figures go to $KILN_RELIABILITY_OUT/faults-more.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertBuilt,
  assertFailedClean,
  atRate,
  build,
  firstLost,
  IAM_FAILURE,
  INTERNAL,
  isIam,
  MUTATING,
  setUp,
  SPOT,
  tearDown,
  THROTTLE,
  WITH_IAM,
} from './fault-builds.js';

before(setUp);
after(() => tearDown('faults-more', 'API faults on the IAM (temporary instance profile) and spot calls'));

describe('temporary instance profile through a faulty IAM endpoint', () => {
  it('30% of IAM calls fail (throttling, ServiceFailure, dropped connections): builds, one role and profile', async () => {
    const r = await build(
      'IAM: 30% faults on IAM calls, seed 5',
      atRate(5, 0.3, ['throttle', 'internal', 'drop', 'drop-after'], isIam),
      WITH_IAM,
    );
    assert.ok(r.faults > 0, 'faults were injected');
    assertBuilt(r);
    assert.equal(r.done.CreateRole, 1, JSON.stringify(r.done));
    assert.equal(r.done.CreateInstanceProfile, 1, JSON.stringify(r.done));
  });

  it('the first answer of every IAM create, attach and delete lost: builds, nothing left', async () => {
    // Not RemoveRoleFromInstanceProfile: moto 5.2.1 answers its repeat with a 500 (a Python
    // ValueError) where IAM answers NoSuchEntity, so kiln would retry a fault of moto's own.
    const r = await build(
      'IAM: drop-after on the first call of every mutating IAM action',
      firstLost((q) => isIam(q) && MUTATING.test(q.action) && q.action !== 'RemoveRoleFromInstanceProfile'),
      WITH_IAM,
    );
    assertBuilt(r);
    // Each made once: the repeats met EntityAlreadyExists and adopted what the lost try made.
    assert.equal(r.done.CreateRole, 1, JSON.stringify(r.done));
    assert.equal(r.done.CreateInstanceProfile, 1, JSON.stringify(r.done));
    // The repeat of the lost attach meets LimitExceeded: no SDK retry of a quota, the profile is looked at.
    assert.equal(r.sent.AddRoleToInstanceProfile, 2, JSON.stringify(r.sent));
  });

  it('100% ServiceFailure on CreateRole: a clear error, exit 1, the profile removed', async () => {
    const r = await build(
      'IAM: 100% ServiceFailure on CreateRole',
      (q) => (q.action === 'CreateRole' ? IAM_FAILURE : 'pass'),
      { ...WITH_IAM, max_retries: 2 },
    );
    assertFailedClean(
      r,
      /Build 'amazon-ebs' errored after .*: ServiceFailure: Service failure\n\tstatus code: 500/,
    );
    assert.match(r.out, /Deleting temporary instance profile\.\.\./);
    assert.equal(r.launched, 0);
  });

  it('100% of CreateInstanceProfile answers lost (IAM made it): exit 1, the profile removed', async () => {
    const r = await build(
      'IAM: 100% drop-after on CreateInstanceProfile',
      (q) => (q.action === 'CreateInstanceProfile' ? 'drop-after' : 'pass'),
      { ...WITH_IAM, max_retries: 2 },
    );
    assertFailedClean(r, /Build 'amazon-ebs' errored after /);
    assert.equal(r.launched, 0);
  });

  it('100% Throttling on AddRoleToInstanceProfile: exit 1, policy, role and profile removed', async () => {
    const r = await build(
      'IAM: 100% Throttling on AddRoleToInstanceProfile',
      (q) => (q.action === 'AddRoleToInstanceProfile' ? THROTTLE[1] : 'pass'),
      { ...WITH_IAM, max_retries: 2 },
    );
    assertFailedClean(
      r,
      /Build 'amazon-ebs' errored after .*: Throttling: Rate exceeded\n\tstatus code: 400/,
    );
    assert.match(r.out, /Deleting temporary role\.\.\./);
    assert.equal(r.launched, 0);
  });
});

describe('spot builds through a faulty EC2 endpoint', () => {
  it('30% mixed faults on every EC2 call: builds, one fleet instance', async () => {
    const r = await build(
      'spot: 30% mixed faults, seed 21',
      atRate(21, 0.3, ['throttle', 'internal', 'drop', 'drop-after'], () => true),
      SPOT,
    );
    assert.ok(r.faults > 0, 'faults were injected');
    assertBuilt(r);
    assert.equal(r.done.CreateLaunchTemplate, 1, JSON.stringify(r.done));
  });

  it('the first answer of CreateLaunchTemplate, CreateFleet and every other create and delete lost: builds, one instance', async () => {
    // Not DeleteLaunchTemplate: moto 5.2.1 answers a repeat by name with MissingParameter where
    // EC2 answers InvalidLaunchTemplateName.NotFoundException (which kiln takes as gone already).
    const r = await build(
      'spot: drop-after on the first call of every mutating action',
      firstLost((q) => MUTATING.test(q.action) && q.action !== 'DeleteLaunchTemplate'),
      SPOT,
    );
    assertBuilt(r);
    assert.ok((r.done.CreateFleet ?? 0) >= 1);
  });

  it('100% InternalError on CreateFleet: exit 1, the launch template removed, nothing launched', async () => {
    const r = await build(
      'spot: 100% InternalError on CreateFleet',
      (q) => (q.action === 'CreateFleet' ? INTERNAL : 'pass'),
      { ...SPOT, max_retries: 2 },
    );
    assertFailedClean(r, /InternalError: An internal error has occurred/);
    assert.equal(r.launched, 0);
  });

  it('100% of CreateFleet answers lost (EC2 launched it): exit 1, one instance, found and terminated', async () => {
    const r = await build(
      'spot: 100% drop-after on CreateFleet',
      (q) => (q.action === 'CreateFleet' ? 'drop-after' : 'pass'),
      { ...SPOT, max_retries: 2 },
    );
    assertFailedClean(r, /Build 'amazon-ebs' errored after /);
    assert.equal(r.launched, 1, 'the ClientToken kept the retries to one instance');
    assert.match(r.out, /Terminating the source AWS instance\.\.\./);
  });

  it('100% of CreateLaunchTemplate answers lost: exit 1, the template removed', async () => {
    const r = await build(
      'spot: 100% drop-after on CreateLaunchTemplate',
      (q) => (q.action === 'CreateLaunchTemplate' ? 'drop-after' : 'pass'),
      { ...SPOT, max_retries: 2 },
    );
    assertFailedClean(r, /Error creating launch template for spot instance: /);
    assert.equal(r.launched, 0);
  });
});
