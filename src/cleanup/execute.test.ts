import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executePlan, type CleanupApi } from './execute.js';
import { runCleanup, summarize, failureLines } from './index.js';
import type { Found, Planned } from './plan.js';

function awsError(code: string, message = code): Error {
  const e = new Error(message) as Error & { Code: string; $metadata: object };
  e.name = code;
  e.Code = code;
  e.$metadata = { httpStatusCode: 400 };
  return e;
}

/**
 * A region in memory with EC2's ordering rules: an instance takes `terminatePolls` polls to
 * terminate; its security group answers DependencyViolation and its volume stays in-use until then
 * (and for `eniPolls` more polls for the group); an AMI's snapshot cannot go while it is registered.
 */
class FakeRegion implements CleanupApi {
  region = 'r1';
  calls: string[] = [];
  instances = new Map<string, { state: string; polls: number }>();
  images = new Map<string, string[]>();
  snapshots = new Set<string>();
  volumes = new Map<string, { attachedTo?: string; deleteOnTermination: boolean }>();
  groups = new Map<string, string | undefined>();
  keys = new Set<string>();
  failDeregister = new Set<string>();
  terminatePolls = 2;
  eniPolls = 1;
  private eniLeft = new Map<string, number>();
  constructor(readonly found: Found[] = []) {}
  async list() {
    return this.found;
  }
  async terminateInstance(id: string) {
    this.calls.push(`terminate ${id}`);
    const i = this.instances.get(id);
    if (!i) throw awsError('InvalidInstanceID.NotFound');
    if (i.state !== 'terminated') i.state = 'shutting-down';
  }
  async instanceStates(ids: string[]) {
    this.calls.push(`describe-instances`);
    const m = new Map<string, string>();
    for (const id of ids) {
      const i = this.instances.get(id);
      if (!i) continue;
      if (i.state === 'shutting-down' && ++i.polls >= this.terminatePolls) {
        i.state = 'terminated';
        for (const [v, vol] of this.volumes) {
          if (vol.attachedTo !== id) continue;
          if (vol.deleteOnTermination) this.volumes.delete(v);
          else vol.attachedTo = undefined;
        }
        for (const [g, inst] of this.groups) if (inst === id) this.eniLeft.set(g, this.eniPolls);
      }
      m.set(id, i.state);
    }
    return m;
  }
  async deregisterImage(id: string) {
    this.calls.push(`deregister ${id}`);
    if (this.failDeregister.has(id))
      throw awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.');
    if (!this.images.delete(id)) throw awsError('InvalidAMIID.NotFound');
  }
  async markSnapshots(ids: string[], runId: string) {
    this.calls.push(`mark ${ids.join(',')} ${runId}`);
  }
  async deleteSnapshot(id: string) {
    this.calls.push(`delete-snapshot ${id}`);
    for (const snaps of this.images.values()) if (snaps.includes(id)) throw awsError('InvalidSnapshot.InUse');
    if (!this.snapshots.delete(id)) throw awsError('InvalidSnapshot.NotFound');
  }
  async volume(id: string) {
    const v = this.volumes.get(id);
    if (!v) return undefined;
    return v.attachedTo
      ? { state: 'in-use', attachedTo: [v.attachedTo] }
      : { state: 'available', attachedTo: [] };
  }
  async deleteVolume(id: string) {
    this.calls.push(`delete-volume ${id}`);
    const v = this.volumes.get(id);
    if (!v) throw awsError('InvalidVolume.NotFound');
    if (v.attachedTo) throw awsError('VolumeInUse');
    this.volumes.delete(id);
  }
  async deleteSecurityGroup(id: string) {
    this.calls.push(`delete-sg ${id}`);
    if (!this.groups.has(id)) throw awsError('InvalidGroup.NotFound');
    const inst = this.groups.get(id);
    const left = this.eniLeft.get(id) ?? 0;
    if ((inst && this.instances.get(inst)?.state !== 'terminated') || left > 0) {
      this.eniLeft.set(id, left - 1);
      throw awsError('DependencyViolation', `resource ${id} has a dependent object`);
    }
    this.groups.delete(id);
  }
  async deleteKeyPair(name: string) {
    this.calls.push(`delete-key ${name}`);
    this.keys.delete(name); // idempotent, like EC2
  }
}

const p = (kind: Planned['kind'], id: string, extra: Partial<Planned> = {}): Planned => ({
  kind,
  id,
  region: 'r1',
  runId: 'run1',
  ageMs: 7200_000,
  ...extra,
});

function deadRun(): { api: FakeRegion; items: Planned[] } {
  const api = new FakeRegion();
  api.instances.set('i-1', { state: 'running', polls: 0 });
  api.images.set('ami-1', ['snap-1']);
  api.snapshots.add('snap-1');
  api.volumes.set('vol-root', { attachedTo: 'i-1', deleteOnTermination: true });
  api.volumes.set('vol-data', { attachedTo: 'i-1', deleteOnTermination: false });
  api.groups.set('sg-1', 'i-1');
  api.keys.add('packer_1');
  const items = [
    p('instance', 'i-1'),
    p('AMI', 'ami-1', { snapshots: ['snap-1'] }),
    p('snapshot', 'snap-1'),
    p('volume', 'vol-data'),
    p('volume', 'vol-root'),
    p('security group', 'sg-1'),
    p('key pair', 'packer_1'),
  ];
  return { api, items };
}

const fast = { pollMs: 1, waitTimeoutMs: 1000, sleep: async () => undefined };

test('executePlan: removes everything in dependency order, waiting for termination and ENIs', async () => {
  const { api, items } = deadRun();
  const lines: string[] = [];
  const res = await executePlan(api, items, { dryRun: false, say: (l) => lines.push(l), ...fast });
  assert.deepEqual(res.failed, []);
  assert.equal(res.removed.length, 7);
  assert.deepEqual(lines, [
    'Deleting instance i-1 (run run1, 2h0m)',
    'Deleting AMI ami-1 (run run1, 2h0m)',
    'Deleting snapshot snap-1 (run run1, 2h0m)',
    'Deleting volume vol-data (run run1, 2h0m)',
    'Deleting volume vol-root (run run1, 2h0m)',
    'Deleting security group sg-1 (run run1, 2h0m)',
    'Deleting key pair packer_1 (run run1, 2h0m)',
  ]);
  assert.equal(api.instances.get('i-1')?.state, 'terminated');
  assert.equal(api.images.size + api.snapshots.size + api.volumes.size + api.groups.size + api.keys.size, 0);
  // Terminated before anything else was touched; the group was retried while its ENI detached.
  assert.deepEqual(api.calls.slice(0, 3), ['terminate i-1', 'describe-instances', 'describe-instances']);
  assert.ok(api.calls.filter((c) => c === 'delete-sg sg-1').length >= 2);
  assert.ok(api.calls.indexOf('deregister ami-1') < api.calls.indexOf('delete-snapshot snap-1'));
});

test("executePlan: an AMI's unmarked snapshots are marked before it is deregistered, marked ones not again", async () => {
  const api = new FakeRegion();
  api.images.set('ami-1', ['snap-1', 'snap-2']);
  api.snapshots.add('snap-1').add('snap-2');
  const items = [
    p('AMI', 'ami-1', { snapshots: ['snap-1', 'snap-2'] }),
    p('snapshot', 'snap-1', { state: 'incomplete' }),
    p('snapshot', 'snap-2'),
  ];
  const res = await executePlan(api, items, { dryRun: false, say: () => undefined, ...fast });
  assert.deepEqual(res.failed, []);
  // Killed between the deregistration and the deletes, a later cleanup still finds snap-2 as an orphan.
  assert.deepEqual(api.calls.slice(0, 2), ['mark snap-2 run1', 'deregister ami-1']);
});

test('executePlan: -dry-run lists the same lines and calls nothing', async () => {
  const { api, items } = deadRun();
  const lines: string[] = [];
  const res = await executePlan(api, items, { dryRun: true, say: (l) => lines.push(l), ...fast });
  assert.equal(lines.length, 7);
  assert.ok(lines.every((l) => l.startsWith('Would delete ')));
  assert.deepEqual(api.calls, []);
  assert.deepEqual(res, { removed: [], failed: [] });
});

test('executePlan: what is already gone counts as removed', async () => {
  const api = new FakeRegion();
  const items = [
    p('instance', 'i-gone'),
    p('AMI', 'ami-gone'),
    p('snapshot', 'snap-gone'),
    p('volume', 'vol-gone'),
    p('security group', 'sg-gone'),
  ];
  const res = await executePlan(api, items, { dryRun: false, say: () => undefined, ...fast });
  assert.deepEqual(res.failed, []);
  assert.equal(res.removed.length, 5);
});

test('executePlan: failures are reported with the reason and the rest goes on', async () => {
  const { api, items } = deadRun();
  api.failDeregister.add('ami-1');
  api.terminatePolls = Infinity; // the instance never terminates
  const res = await executePlan(api, items, { dryRun: false, say: () => undefined, ...fast });
  const reasons = Object.fromEntries(res.failed.map((f) => [f.item.id, f.reason]));
  assert.match(reasons['i-1'], /^still shutting-down after waiting/);
  assert.equal(reasons['ami-1'], 'UnauthorizedOperation: You are not authorized to perform this operation.');
  assert.equal(reasons['snap-1'], 'its AMI ami-1 could not be deregistered');
  assert.match(reasons['vol-data'], /attached to i-1, which is not being terminated/);
  assert.match(reasons['sg-1'], /^DependencyViolation: /);
  assert.deepEqual(
    res.removed.map((r) => r.id),
    ['packer_1'],
  );
  assert.ok(api.images.has('ami-1') && api.snapshots.has('snap-1'));
});

test('runCleanup: lists, plans by age with the injected clock, removes, summarizes', async () => {
  const now = new Date('2026-11-28T12:00:00Z');
  const { api } = deadRun();
  const ago = (m: number) => new Date(now.getTime() - m * 60_000);
  api.found.push(
    { kind: 'instance', id: 'i-1', region: 'r1', runId: 'run1', created: ago(90), instanceState: 'running' },
    { kind: 'security group', id: 'sg-1', region: 'r1', runId: 'run1' },
    { kind: 'key pair', id: 'packer_1', region: 'r1', runId: 'run1', created: ago(91) },
    { kind: 'key pair', id: 'packer_2', region: 'r1', runId: 'run2', created: ago(2) },
  );
  api.keys.add('packer_2');
  const lines: string[] = [];
  const report = await runCleanup([api], {
    olderThanMs: 3600_000,
    dryRun: false,
    now,
    say: (l) => lines.push(l),
    ...fast,
  });
  assert.deepEqual(lines, [
    'Deleting instance i-1 (run run1, 1h30m)',
    'Deleting security group sg-1 (run run1, 1h31m)',
    'Deleting key pair packer_1 (run run1, 1h31m)',
  ]);
  assert.ok(api.keys.has('packer_2'));
  assert.deepEqual(summarize(report, { dryRun: false, olderThanMs: 3600_000, regions: ['r1'] }), [
    'Removed 3 resources of 1 run.',
    'Left 1 resource of 1 run younger than 1h0m (may still be building).',
  ]);
  assert.deepEqual(failureLines(report), []);
});

test('runCleanup: a region that cannot be listed is a failure, the others are cleaned', async () => {
  const bad = new FakeRegion();
  bad.region = 'r0';
  bad.list = async () => {
    throw awsError('AuthFailure', 'AWS was not able to validate the provided access credentials');
  };
  const good = new FakeRegion([
    { kind: 'key pair', id: 'k', region: 'r1', runId: 'x', created: new Date(0) },
  ]);
  good.keys.add('k');
  const report = await runCleanup([bad, good], {
    olderThanMs: 0,
    dryRun: false,
    now: new Date(),
    say: () => undefined,
    ...fast,
  });
  assert.deepEqual(failureLines(report), [
    'Cannot list resources in r0: AuthFailure: AWS was not able to validate the provided access credentials',
  ]);
  assert.deepEqual(summarize(report, { dryRun: false, olderThanMs: 0, regions: ['r0', 'r1'] }), [
    'Removed 1 resource of 1 run.',
  ]);
  const none = await runCleanup([bad], {
    olderThanMs: 0,
    dryRun: false,
    now: new Date(),
    say: () => undefined,
  });
  assert.deepEqual(
    summarize(none, { dryRun: false, olderThanMs: 0, regions: ['r0'] }),
    [],
    'no "nothing found" for a region not listed',
  );
  assert.equal(good.keys.size, 0);
});

test('executePlan: an orphaned snapshot that turns out to be in use fails at once, without waiting', async () => {
  const api = new FakeRegion();
  api.images.set('ami-not-kiln', ['snap-orphan']); // registered meanwhile from kiln's snapshot
  api.snapshots.add('snap-orphan');
  api.snapshots.add('snap-free');
  let slept = 0;
  const res = await executePlan(api, [p('snapshot', 'snap-orphan'), p('snapshot', 'snap-free')], {
    dryRun: false,
    say: () => undefined,
    ...fast,
    sleep: async () => {
      slept++;
    },
  });
  assert.deepEqual(
    res.failed.map((f) => `${f.item.id}: ${f.reason}`),
    ['snap-orphan: InvalidSnapshot.InUse'],
  );
  assert.deepEqual(
    res.removed.map((r) => r.id),
    ['snap-free'],
  );
  assert.equal(slept, 0, 'no retries: waiting would not free it');
  assert.ok(api.snapshots.has('snap-orphan'));
});
