/**
 * Cleanup of temporary IAM resources, logic only (a fake IAM API in memory; the real thing against
 * moto is test/amazon/iam.test.ts): the plan keeps IAM apart from the regions, removal goes
 * instance profiles then roles, an entity already gone counts as removed, and the IAM header
 * appears only after EC2 removals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executePlan, type CleanupApi } from './execute.js';
import { runCleanup } from './index.js';
import { IAM_REGION } from './iam-api.js';
import type { Found, Planned } from './plan.js';

function noSuchEntity(): Error {
  const e = new Error('gone') as Error & { Code: string; $metadata: object };
  e.name = 'NoSuchEntity';
  e.Code = 'NoSuchEntity';
  e.$metadata = { httpStatusCode: 404 };
  return e;
}

const notEc2 = () => Promise.reject(new Error('not EC2'));

function fakeIam(found: Found[], gone: string[] = []): CleanupApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    region: IAM_REGION,
    calls,
    list: () => Promise.resolve(found),
    async deleteInstanceProfile(name) {
      calls.push(`profile ${name}`);
      if (gone.includes(name)) throw noSuchEntity();
    },
    async deleteRole(name) {
      calls.push(`role ${name}`);
      if (gone.includes(name)) throw noSuchEntity();
    },
    terminateInstance: notEc2,
    instanceStates: () => Promise.resolve(new Map()),
    deregisterImage: notEc2,
    deleteSnapshot: notEc2,
    volume: () => Promise.resolve(undefined),
    deleteVolume: notEc2,
    deleteSecurityGroup: notEc2,
    deleteKeyPair: notEc2,
  };
}

const old = new Date('2026-01-01T00:00:00Z');
const now = new Date('2026-01-02T00:00:00Z');

function iamItem(kind: 'role' | 'instance profile', id: string, runId = 'run-1'): Planned {
  return { kind, id, region: IAM_REGION, runId, created: old };
}

test('IAM removal: profiles before roles; NoSuchEntity counts as removed', async () => {
  const api = fakeIam([], ['packer-b']);
  const items = [
    iamItem('role', 'packer-a'),
    iamItem('instance profile', 'packer-a'),
    iamItem('role', 'packer-b'),
  ];
  const lines: string[] = [];
  const res = await executePlan(api, items, { dryRun: false, say: (l) => lines.push(l) });
  assert.deepEqual(api.calls, ['profile packer-a', 'role packer-a', 'role packer-b']);
  assert.equal(res.removed.length, 3);
  assert.deepEqual(res.failed, []);
  assert.match(lines[0], /^Deleting instance profile packer-a \(run run-1, /);
});

test('IAM removal through an API that cannot do it is a failure, not a crash', async () => {
  const api = { ...fakeIam([]), deleteRole: undefined };
  const res = await executePlan(api, [iamItem('role', 'packer-a')], { dryRun: false, say: () => undefined });
  assert.equal(res.failed.length, 1);
  assert.match(res.failed[0].reason, /cannot delete roles/);
});

test('runCleanup: IAM after the regions, with its header only when EC2 removed something', async () => {
  const lines: string[] = [];
  const iam = fakeIam([
    { kind: 'instance profile', id: 'packer-a', region: IAM_REGION, runId: 'run-1', created: old },
    { kind: 'role', id: 'packer-a', region: IAM_REGION, runId: 'run-1', created: old },
    { kind: 'role', id: 'packer-young', region: IAM_REGION, runId: 'run-2', created: now },
  ]);
  const report = await runCleanup([iam], {
    olderThanMs: 3_600_000,
    dryRun: false,
    now,
    say: (l) => lines.push(l),
  });
  assert.deepEqual(iam.calls, ['profile packer-a', 'role packer-a']);
  assert.deepEqual(
    lines.map((l) => l.replace(/ \(run .*/, '')),
    ['Deleting instance profile packer-a', 'Deleting role packer-a'],
  );
  assert.deepEqual(
    report.kept.map((k) => `${k.item.kind} ${k.item.id} ${k.reason}`),
    ['role packer-young young'],
  );
});
