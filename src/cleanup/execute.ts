/**
 * Removing what the plan selected, region by region, in dependency order: terminate instances and
 * wait for them, deregister AMIs, delete snapshots, delete volumes (once detached), delete security
 * groups (retrying while network interfaces of terminated instances detach), delete key pairs and
 * launch templates.
 * A resource that is already gone counts as removed; a failure is reported and the rest goes on.
 */
import { sleep as realSleep } from '../util/retry.js';
import { formatAge, KIND_ORDER, type Found, type Planned } from './plan.js';
import { STATE_INCOMPLETE } from './tags.js';

/** The EC2 calls cleanup makes in one region (ec2-api.ts over the SDK; fakes in unit tests). */
export interface CleanupApi {
  region: string;
  /** Every resource carrying `kiln-run-id` (instances not yet terminated, volumes not deleted). */
  list(): Promise<Found[]>;
  terminateInstance(id: string): Promise<void>;
  /** The state names of these instances; an instance EC2 no longer knows is absent. */
  instanceStates(ids: string[]): Promise<Map<string, string>>;
  deregisterImage(id: string): Promise<void>;
  /** Tags snapshots `kiln-run-id`/`kiln-state=incomplete` (before their AMI is deregistered). */
  markSnapshots?(ids: string[], runId: string): Promise<void>;
  deleteSnapshot(id: string): Promise<void>;
  /** The volume's state and the instances it is attached to; undefined when it is gone. */
  volume(id: string): Promise<{ state: string; attachedTo: string[] } | undefined>;
  deleteVolume(id: string): Promise<void>;
  deleteSecurityGroup(id: string): Promise<void>;
  deleteKeyPair(name: string): Promise<void>;
  /** Deletes a launch template (spot builds) by name; one already gone is not an error. */
  deleteLaunchTemplate?(name: string): Promise<void>;
  /** IAM (iam-api.ts): removes the profile's roles, then the profile. */
  deleteInstanceProfile?(name: string): Promise<void>;
  /** IAM (iam-api.ts): removes the role's inline policies and profile memberships, then the role. */
  deleteRole?(name: string): Promise<void>;
}

export interface ExecuteOptions {
  dryRun: boolean;
  /** One line of output. */
  say(line: string): void;
  /** How long to wait for instances to terminate / volumes to detach / groups to lose their ENIs. */
  waitTimeoutMs?: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<unknown>;
  clock?: () => number;
}

export interface Failure {
  item: Planned;
  reason: string;
}

export interface ExecuteResult {
  removed: Planned[];
  failed: Failure[];
}

/** `<Code>: <message>` of an SDK error, or the message. */
export function errorReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = errorCode(err);
  return code !== '' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

export function errorCode(err: unknown): string {
  if (!(err instanceof Error)) return '';
  const e = err as { Code?: string; code?: string; $metadata?: unknown };
  return e.Code ?? e.code ?? (e.$metadata !== undefined ? err.name : '');
}

/** Error codes meaning "it is not there (any more)": removal already happened. */
function isGone(err: unknown): boolean {
  const code = errorCode(err);
  return /\.NotFound$|^InvalidAMIID\.Unavailable$|^NoSuchEntity$/.test(code);
}

export function resourceLine(verb: string, r: Planned): string {
  return `${verb} ${r.kind} ${r.id} (run ${r.runId}, ${formatAge(r.ageMs)})`;
}

export async function executePlan(
  api: CleanupApi,
  items: Planned[],
  opts: ExecuteOptions,
): Promise<ExecuteResult> {
  const sleep = opts.sleep ?? realSleep;
  const clock = opts.clock ?? Date.now;
  const waitMs = opts.waitTimeoutMs ?? 10 * 60_000;
  const pollMs = opts.pollMs ?? 2_000;
  const removed: Planned[] = [];
  const failed: Failure[] = [];
  const byKind = (k: Planned['kind']) => items.filter((i) => i.kind === k && i.region === api.region);
  const fail = (item: Planned, reason: string) => failed.push({ item, reason });

  if (opts.dryRun) {
    for (const k of KIND_ORDER) for (const r of byKind(k)) opts.say(resourceLine('Would delete', r));
    return { removed: [], failed: [] };
  }

  /** Runs one removal; already-gone counts as done. */
  const attempt = async (r: Planned, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      if (isGone(err)) return true;
      fail(r, errorReason(err));
      return false;
    }
  };

  /** Retries fn while `retryable` says so, until the wait budget is spent. */
  const persist = async (fn: () => Promise<void>, retryable: (err: unknown) => boolean): Promise<void> => {
    const deadline = clock() + waitMs;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!retryable(err) || clock() + pollMs > deadline) throw err;
        await sleep(pollMs);
      }
    }
  };

  // 1. Instances: terminate all, then wait until every one is terminated (or gone).
  const instances = byKind('instance');
  const terminating: Planned[] = [];
  for (const r of instances) {
    opts.say(resourceLine('Deleting', r));
    if (await attempt(r, () => api.terminateInstance(r.id))) terminating.push(r);
  }
  const stuckInstances = new Set<string>();
  if (terminating.length > 0) {
    const deadline = clock() + waitMs;
    let pending = terminating;
    for (;;) {
      let states: Map<string, string>;
      try {
        states = await api.instanceStates(pending.map((r) => r.id));
      } catch (err) {
        if (isGone(err)) states = new Map();
        else {
          for (const r of pending) fail(r, `Cannot confirm termination: ${errorReason(err)}`);
          for (const r of pending) stuckInstances.add(r.id);
          pending = [];
          break;
        }
      }
      const still = pending.filter((r) => {
        const s = states.get(r.id);
        return s !== undefined && s !== 'terminated';
      });
      for (const r of pending) if (!still.includes(r)) removed.push(r);
      pending = still;
      if (pending.length === 0) break;
      if (clock() + pollMs > deadline) {
        for (const r of pending) {
          fail(
            r,
            `still ${states.get(r.id) ?? 'running'} after waiting ${formatAge(waitMs)} for termination`,
          );
          stuckInstances.add(r.id);
        }
        break;
      }
      await sleep(pollMs);
    }
  }

  // 2. AMIs, then 3. their snapshots (a snapshot of an AMI that stays registered cannot go).
  const failedAmis = new Map<string, Planned>();
  const markedSnapshots = new Set(
    byKind('snapshot')
      .filter((s) => s.state === STATE_INCOMPLETE)
      .map((s) => s.id),
  );
  for (const r of byKind('AMI')) {
    opts.say(resourceLine('Deleting', r));
    // Interrupted between this AMI and its snapshots, a later cleanup still knows them as orphans.
    const unmarked = (r.snapshots ?? []).filter((s) => !markedSnapshots.has(s));
    if (unmarked.length > 0 && api.markSnapshots)
      await api.markSnapshots(unmarked, r.runId).catch(() => undefined);
    if (await attempt(r, () => api.deregisterImage(r.id))) removed.push(r);
    else failedAmis.set(r.id, r);
  }
  const ofRemovedAmi = new Set(byKind('AMI').flatMap((a) => a.snapshots ?? []));
  for (const r of byKind('snapshot')) {
    opts.say(resourceLine('Deleting', r));
    const blocker = [...failedAmis.values()].find((a) => (a.snapshots ?? []).includes(r.id));
    if (blocker) {
      fail(r, `its AMI ${blocker.id} could not be deregistered`);
      continue;
    }
    const ok = await attempt(r, () =>
      // A just-deregistered AMI may hold its snapshot for a moment; an orphaned snapshot in use
      // is used by an AMI cleanup does not remove, and waiting would not change that.
      persist(
        () => api.deleteSnapshot(r.id),
        (err) => errorCode(err) === 'InvalidSnapshot.InUse' && ofRemovedAmi.has(r.id),
      ),
    );
    if (ok) removed.push(r);
  }

  // 4. Volumes: wait until detached (delete-on-termination ones simply disappear), then delete.
  for (const r of byKind('volume')) {
    opts.say(resourceLine('Deleting', r));
    const ok = await attempt(r, async () => {
      const deadline = clock() + waitMs;
      for (;;) {
        const v = await api.volume(r.id);
        if (v === undefined || v.state === 'deleted' || v.state === 'deleting') return;
        if (v.state === 'available') break;
        const blocking = v.attachedTo.filter(
          (i) => stuckInstances.has(i) || !terminating.some((x) => x.id === i),
        );
        if (blocking.length > 0)
          throw new Error(`attached to ${blocking.join(', ')}, which is not being terminated`);
        if (clock() + pollMs > deadline)
          throw new Error(`still ${v.state} after waiting ${formatAge(waitMs)}`);
        await sleep(pollMs);
      }
      await persist(
        () => api.deleteVolume(r.id),
        (err) => errorCode(err) === 'VolumeInUse',
      );
    });
    if (ok) removed.push(r);
  }

  // 5. Security groups: the ENIs of terminated instances detach a while after termination.
  for (const r of byKind('security group')) {
    opts.say(resourceLine('Deleting', r));
    const ok = await attempt(r, () =>
      persist(
        () => api.deleteSecurityGroup(r.id),
        (err) => errorCode(err) === 'DependencyViolation',
      ),
    );
    if (ok) removed.push(r);
  }

  // 6. Key pairs.
  for (const r of byKind('key pair')) {
    opts.say(resourceLine('Deleting', r));
    if (await attempt(r, () => api.deleteKeyPair(r.id))) removed.push(r);
  }

  // 7. Launch templates of spot builds (nothing depends on them).
  for (const r of byKind('launch template')) {
    opts.say(resourceLine('Deleting', r));
    const del = api.deleteLaunchTemplate?.bind(api);
    if (!del) {
      fail(r, 'this region cannot delete launch templates');
      continue;
    }
    if (await attempt(r, () => del(r.id))) removed.push(r);
  }

  // 8. IAM instance profiles, then 9. roles (temporary_iam_instance_profile_policy_document).
  for (const [kind, fn] of [
    ['instance profile', api.deleteInstanceProfile?.bind(api)],
    ['role', api.deleteRole?.bind(api)],
  ] as const) {
    for (const r of byKind(kind)) {
      opts.say(resourceLine('Deleting', r));
      if (!fn) {
        fail(r, `this API cannot delete ${kind}s`);
        continue;
      }
      if (await attempt(r, () => fn(r.id))) removed.push(r);
    }
  }
  return { removed, failed };
}
