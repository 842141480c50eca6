import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAge, planCleanup, runAges, type Found } from './plan.js';

const NOW = new Date('2026-11-28T12:00:00Z');
const ago = (min: number) => new Date(NOW.getTime() - min * 60_000);
const H = 3600_000;

/** Run "old" (3 h), run "new" (10 min), run "sgonly" (no time at all). */
function world(): Found[] {
  return [
    { kind: 'key pair', id: 'packer_old', region: 'r1', runId: 'old', created: ago(180) },
    { kind: 'security group', id: 'sg-old', region: 'r1', runId: 'old' },
    {
      kind: 'instance',
      id: 'i-old',
      region: 'r1',
      runId: 'old',
      created: ago(178),
      instanceState: 'running',
    },
    { kind: 'volume', id: 'vol-old', region: 'r1', runId: 'old', created: ago(178) },
    {
      kind: 'AMI',
      id: 'ami-half',
      region: 'r1',
      runId: 'old',
      created: ago(100),
      state: 'incomplete',
      snapshots: ['snap-half', 'snap-untagged'],
    },
    { kind: 'snapshot', id: 'snap-half', region: 'r1', runId: 'old', created: ago(100), state: 'incomplete' },
    { kind: 'key pair', id: 'packer_new', region: 'r1', runId: 'new', created: ago(10) },
    { kind: 'security group', id: 'sg-new', region: 'r1', runId: 'new' },
    { kind: 'security group', id: 'sg-lonely', region: 'r1', runId: 'sgonly' },
  ];
}

test('runAges: a run is as old as its oldest dated resource; a run without dates has no age', () => {
  const ages = runAges(world(), NOW);
  assert.equal(ages.get('old'), 180 * 60_000);
  assert.equal(ages.get('new'), 10 * 60_000);
  assert.equal(ages.get('sgonly'), undefined);
  assert.ok(ages.has('sgonly'));
});

test('planCleanup: only runs older than the threshold, in dependency order, untagged AMI snapshots included', () => {
  const plan = planCleanup(world(), { now: NOW, olderThanMs: H });
  assert.deepEqual(
    plan.remove.map((r) => `${r.kind} ${r.id}`),
    [
      'instance i-old',
      'AMI ami-half',
      'snapshot snap-half',
      'snapshot snap-untagged',
      'volume vol-old',
      'security group sg-old',
      'key pair packer_old',
    ],
  );
  // The security group has no time of its own: it is as old as its run.
  assert.equal(plan.remove.find((r) => r.id === 'sg-old')?.ageMs, 180 * 60_000);
  assert.equal(plan.remove.find((r) => r.id === 'i-old')?.ageMs, 178 * 60_000);
  assert.deepEqual(plan.kept.map((k) => `${k.item.id}:${k.reason}`).sort(), [
    'packer_new:young',
    'sg-lonely:unknown-age',
    'sg-new:young',
  ]);
});

test('planCleanup: the threshold is inclusive and 0 takes every run, even of unknown age', () => {
  assert.equal(planCleanup(world(), { now: NOW, olderThanMs: 180 * 60_000 }).remove.length, 7);
  assert.equal(planCleanup(world(), { now: NOW, olderThanMs: 180 * 60_000 + 1 }).remove.length, 0);
  const all = planCleanup(world(), { now: NOW, olderThanMs: 0 });
  assert.equal(all.remove.length, 10);
  assert.deepEqual(all.kept, []);
});

test('planCleanup: -run-id selects one run and leaves the others unmentioned', () => {
  const plan = planCleanup(world(), { now: NOW, olderThanMs: 0, runId: 'new' });
  assert.deepEqual(
    plan.remove.map((r) => r.id),
    ['sg-new', 'packer_new'],
  );
  assert.deepEqual(plan.kept, []);
  // The age filter still applies to the run asked for.
  assert.deepEqual(planCleanup(world(), { now: NOW, olderThanMs: H, runId: 'new' }).remove, []);
});

test('planCleanup: finished AMIs and their snapshots are products, never removed', () => {
  const found: Found[] = [
    {
      kind: 'AMI',
      id: 'ami-done',
      region: 'r1',
      runId: 'old',
      created: ago(300),
      state: '',
      snapshots: ['snap-done', 'snap-marked'],
    },
    { kind: 'snapshot', id: 'snap-done', region: 'r1', runId: 'old', created: ago(300), state: '' },
    // Still marked (the builder died between unmarking the AMI and its snapshots): in use by a product.
    {
      kind: 'snapshot',
      id: 'snap-marked',
      region: 'r1',
      runId: 'old',
      created: ago(300),
      state: 'incomplete',
    },
    // A half-made copy in another region of the same run.
    {
      kind: 'AMI',
      id: 'ami-copy',
      region: 'r2',
      runId: 'old',
      created: ago(200),
      state: 'incomplete',
      snapshots: ['snap-copy'],
    },
    { kind: 'key pair', id: 'packer_old', region: 'r1', runId: 'old', created: ago(301) },
  ];
  const plan = planCleanup(found, { now: NOW, olderThanMs: H });
  assert.deepEqual(
    plan.remove.map((r) => `${r.region} ${r.kind} ${r.id}`),
    ['r1 key pair packer_old', 'r2 AMI ami-copy', 'r2 snapshot snap-copy'],
  );
  assert.deepEqual(
    plan.kept.map((k) => `${k.item.id}:${k.reason}${k.detail ? ':' + k.detail : ''}`),
    ['ami-done:product', 'snap-done:in-use:ami-done', 'snap-marked:in-use:ami-done'],
  );
});

test('planCleanup: a half-made AMI of a young run keeps its snapshots too', () => {
  const found: Found[] = [
    {
      kind: 'AMI',
      id: 'ami-young',
      region: 'r1',
      runId: 'new',
      created: ago(5),
      state: 'incomplete',
      snapshots: ['snap-y'],
    },
    { kind: 'snapshot', id: 'snap-y', region: 'r1', runId: 'new', created: ago(5), state: 'incomplete' },
  ];
  const plan = planCleanup(found, { now: NOW, olderThanMs: H });
  assert.deepEqual(plan.remove, []);
  assert.deepEqual(
    plan.kept.map((k) => `${k.item.id}:${k.reason}`),
    ['ami-young:young', 'snap-y:young'],
  );
});

test('formatAge: two largest units', () => {
  assert.equal(formatAge(undefined), 'age unknown');
  assert.equal(formatAge(0), '0s');
  assert.equal(formatAge(999), '0s');
  assert.equal(formatAge(12_000), '12s');
  assert.equal(formatAge(150_000), '2m30s');
  assert.equal(formatAge(H), '1h0m');
  assert.equal(formatAge(H + 5 * 60_000 + 7_000), '1h5m');
  assert.equal(formatAge(3 * 86400_000 + 4 * H), '3d4h');
});

test('planCleanup: an orphaned snapshot marked incomplete goes once its run is old enough, listed like the rest', () => {
  // The build's own cleanup deregistered the AMI, then died before DeleteSnapshot.
  const found: Found[] = [
    {
      kind: 'snapshot',
      id: 'snap-orphan',
      region: 'r1',
      runId: 'old',
      created: ago(120),
      state: 'incomplete',
    },
    { kind: 'key pair', id: 'packer_old', region: 'r1', runId: 'old', created: ago(121) },
    {
      kind: 'snapshot',
      id: 'snap-orphan-young',
      region: 'r1',
      runId: 'new',
      created: ago(5),
      state: 'incomplete',
    },
  ];
  const plan = planCleanup(found, { now: NOW, olderThanMs: H });
  assert.deepEqual(
    plan.remove.map((r) => `${r.kind} ${r.id} ${r.ageMs}`),
    [`snapshot snap-orphan ${120 * 60_000}`, `key pair packer_old ${121 * 60_000}`],
  );
  assert.deepEqual(
    plan.kept.map((k) => `${k.item.id}:${k.reason}`),
    ['snap-orphan-young:young'],
  );
  // -run-id and -older-than=0s select it too.
  assert.deepEqual(
    planCleanup(found, { now: NOW, olderThanMs: 0, runId: 'new' }).remove.map((r) => r.id),
    ['snap-orphan-young'],
  );
});

test('planCleanup: an orphaned snapshot without kiln-state is a product and stays, whatever its age', () => {
  // A finished build's snapshot (unmarked) whose AMI the user deregistered, or one from a kiln
  // that did not mark snapshots yet: the run id alone never makes a snapshot removable.
  const found: Found[] = [
    { kind: 'snapshot', id: 'snap-kept', region: 'r1', runId: 'old', created: ago(600), state: '' },
    { kind: 'key pair', id: 'packer_old', region: 'r1', runId: 'old', created: ago(600) },
  ];
  const plan = planCleanup(found, { now: NOW, olderThanMs: 0 });
  assert.deepEqual(
    plan.remove.map((r) => r.id),
    ['packer_old'],
  );
  assert.deepEqual(
    plan.kept.map((k) => `${k.item.id}:${k.reason}`),
    ['snap-kept:product'],
  );
});

test('planCleanup: a marked snapshot still used by an AMI that is not half made stays', () => {
  const found: Found[] = [
    // Used by an AMI that carries no kiln tag (the user's own, or its tags removed): listed as usedBy.
    {
      kind: 'snapshot',
      id: 'snap-used',
      region: 'r1',
      runId: 'old',
      created: ago(300),
      state: 'incomplete',
      usedBy: ['ami-users'],
    },
    // Used by a finished kiln AMI (in the listing): in use, whatever the mark says.
    {
      kind: 'AMI',
      id: 'ami-done',
      region: 'r1',
      runId: 'other',
      created: ago(300),
      state: '',
      snapshots: ['snap-of-done'],
    },
    {
      kind: 'snapshot',
      id: 'snap-of-done',
      region: 'r1',
      runId: 'old',
      created: ago(300),
      state: 'incomplete',
    },
    // Used only by a half-made AMI that goes: goes with it.
    {
      kind: 'AMI',
      id: 'ami-half',
      region: 'r1',
      runId: 'old',
      created: ago(300),
      state: 'incomplete',
      snapshots: ['snap-half'],
    },
    { kind: 'snapshot', id: 'snap-half', region: 'r1', runId: 'old', created: ago(300), state: 'incomplete' },
  ];
  const plan = planCleanup(found, { now: NOW, olderThanMs: H });
  assert.deepEqual(
    plan.remove.map((r) => `${r.kind} ${r.id}`),
    ['AMI ami-half', 'snapshot snap-half'],
  );
  assert.deepEqual(plan.kept.map((k) => `${k.item.id}:${k.reason}:${k.detail ?? ''}`).sort(), [
    'ami-done:product:',
    'snap-of-done:in-use:ami-done',
    'snap-used:in-use:ami-users',
  ]);
  // Nor with -older-than=0s, nor when its run is asked for by id.
  const byRun = planCleanup(found, { now: NOW, olderThanMs: 0, runId: 'old' });
  assert.ok(!byRun.remove.some((r) => r.id === 'snap-used' || r.id === 'snap-of-done'));
});
