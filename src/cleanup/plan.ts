/**
 * What `kiln cleanup` removes, decided without calling anything: from the kiln-tagged resources
 * found in the regions, the ones of runs older than the threshold (and of the one run asked for),
 * in the order their dependencies allow. Pure; "now" is a parameter.
 */
import { STATE_INCOMPLETE } from './tags.js';

/** The kinds of resource a kiln run leaves, in the order cleanup removes them. */
export const KIND_ORDER = [
  'instance',
  'AMI',
  'snapshot',
  'volume',
  'security group',
  'key pair',
  'launch template',
  'instance profile',
  'role',
] as const;
export type Kind = (typeof KIND_ORDER)[number];

/** A kiln-tagged resource as listed from EC2. */
export interface Found {
  kind: Kind;
  /** Instance/AMI/snapshot/volume/security group id; the key pair's, launch template's, instance profile's or role's name. */
  id: string;
  region: string;
  /** The value of the `kiln-run-id` tag. */
  runId: string;
  /** Launch/creation time from the API (security groups have none). */
  created?: Date;
  /** The `kiln-state` tag ('' when absent): AMIs and snapshots only. */
  state?: string;
  /** AMI: the snapshots of its block device mappings. */
  snapshots?: string[];
  /**
   * Snapshot marked incomplete that no kiln-tagged AMI lists: the account's other AMIs (tagged or
   * not) whose block device mappings still name it. Such a snapshot is in use and stays.
   */
  usedBy?: string[];
  /** Instance: its state name (pending, running, stopped, shutting-down…). */
  instanceState?: string;
}

export interface PlanOptions {
  now: Date;
  /** Only runs at least this old (milliseconds); 0 takes runs of unknown age too. */
  olderThanMs: number;
  /** Only this run. */
  runId?: string;
}

/** A resource to remove, with the age of its run (undefined when no resource of the run has a time). */
export interface Planned extends Found {
  runAgeMs?: number;
  /** The resource's own age when known, else the run's. */
  ageMs?: number;
}

export type KeepReason = 'young' | 'unknown-age' | 'product' | 'in-use';

export interface Kept {
  item: Found;
  reason: KeepReason;
  /** For a snapshot kept with its AMI: the AMI. 'in-use' = used by a finished AMI (or one of another run). */
  detail?: string;
}

export interface Plan {
  remove: Planned[];
  kept: Kept[];
}

/** The age of each run: now minus the earliest time any of its resources carries. */
export function runAges(found: Found[], now: Date): Map<string, number | undefined> {
  const first = new Map<string, number | undefined>();
  for (const f of found) {
    const t = f.created?.getTime();
    const prev = first.get(f.runId);
    if (t === undefined || Number.isNaN(t)) {
      if (!first.has(f.runId)) first.set(f.runId, undefined);
    } else if (prev === undefined || t < prev) {
      first.set(f.runId, t);
    }
  }
  const ages = new Map<string, number | undefined>();
  for (const [run, t] of first) ages.set(run, t === undefined ? undefined : Math.max(0, now.getTime() - t));
  return ages;
}

/** Whether an AMI or snapshot is a run's product (not marked half made). */
function isProduct(f: Found): boolean {
  return (f.kind === 'AMI' || f.kind === 'snapshot') && f.state !== STATE_INCOMPLETE;
}

export function planCleanup(found: Found[], opts: PlanOptions): Plan {
  const items = opts.runId === undefined ? found : found.filter((f) => f.runId === opts.runId);
  const ages = runAges(found, opts.now);
  const oldEnough = (runId: string): KeepReason | undefined => {
    const age = ages.get(runId);
    if (age === undefined) return opts.olderThanMs > 0 ? 'unknown-age' : undefined;
    return age >= opts.olderThanMs ? undefined : 'young';
  };
  const remove: Planned[] = [];
  const kept: Kept[] = [];
  const planned = (f: Found): Planned => {
    const runAgeMs = ages.get(f.runId);
    const own = f.created === undefined ? undefined : Math.max(0, opts.now.getTime() - f.created.getTime());
    return { ...f, runAgeMs, ageMs: own ?? runAgeMs };
  };
  // Snapshots referenced by AMIs that stay (products, young runs) are never removed.
  const removedAmis = new Set<string>();
  const keptSnapshotUsers = new Map<string, { ami: string; reason: KeepReason }>();
  for (const f of items) {
    if (f.kind !== 'AMI') continue;
    const why = isProduct(f) ? 'product' : oldEnough(f.runId);
    if (why === undefined) removedAmis.add(`${f.region}/${f.id}`);
  }
  for (const f of found) {
    if (f.kind !== 'AMI' || removedAmis.has(`${f.region}/${f.id}`)) continue;
    // Kept because it is a product ('in-use'), or because its run is young or undated (same reason).
    const reason: KeepReason =
      isProduct(f) || (opts.runId !== undefined && f.runId !== opts.runId)
        ? 'in-use'
        : (oldEnough(f.runId) ?? 'in-use');
    for (const s of f.snapshots ?? []) keptSnapshotUsers.set(`${f.region}/${s}`, { ami: f.id, reason });
  }
  const seen = new Set<string>();
  for (const f of items) {
    const key = `${f.region}/${f.kind}/${f.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (f.kind === 'snapshot') {
      const user = keptSnapshotUsers.get(`${f.region}/${f.id}`);
      if (user !== undefined) {
        kept.push({ item: f, reason: user.reason, detail: user.ami });
        continue;
      }
      // An AMI without kiln's tags (the user's own, or one whose tags were removed) uses it.
      const other = (f.usedBy ?? []).find((a) => !removedAmis.has(`${f.region}/${a}`));
      if (other !== undefined) {
        kept.push({ item: f, reason: 'in-use', detail: other });
        continue;
      }
    }
    // A snapshot of a half-made AMI that is removed goes with it, tagged or not. A snapshot marked
    // incomplete that no AMI uses (orphaned: its AMI was deregistered by a build's own cleanup that
    // died before DeleteSnapshot, or a copy was interrupted) is a leftover like the rest; an
    // unmarked one is a product (or of a kiln before snapshots were marked) and stays.
    const ofRemovedAmi =
      f.kind === 'snapshot' &&
      found.some(
        (a) =>
          a.kind === 'AMI' &&
          a.region === f.region &&
          removedAmis.has(`${a.region}/${a.id}`) &&
          (a.snapshots ?? []).includes(f.id),
      );
    const why = isProduct(f) && !ofRemovedAmi ? 'product' : oldEnough(f.runId);
    if (why !== undefined) kept.push({ item: f, reason: why });
    else remove.push(planned(f));
  }
  // Untagged snapshots of removed AMIs (the builder could not tag them before it died).
  for (const a of items) {
    if (a.kind !== 'AMI' || !removedAmis.has(`${a.region}/${a.id}`)) continue;
    for (const s of a.snapshots ?? []) {
      const key = `${a.region}/snapshot/${s}`;
      if (seen.has(key)) continue;
      seen.add(key);
      remove.push(
        planned({
          kind: 'snapshot',
          id: s,
          region: a.region,
          runId: a.runId,
          created: a.created,
          state: STATE_INCOMPLETE,
        }),
      );
    }
  }
  const rank = (k: Kind) => KIND_ORDER.indexOf(k);
  remove.sort(
    (x, y) =>
      x.region.localeCompare(y.region) ||
      rank(x.kind) - rank(y.kind) ||
      x.runId.localeCompare(y.runId) ||
      x.id.localeCompare(y.id),
  );
  return { remove, kept };
}

/** A compact age: the two largest units, e.g. `3d4h`, `1h5m`, `2m30s`, `12s`; `age unknown` when undefined. */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined) return 'age unknown';
  let s = Math.floor(ms / 1000);
  const units: Array<[string, number]> = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  for (const [u, n] of units) {
    const v = Math.floor(s / n);
    s -= v * n;
    if (parts.length > 0 || v > 0) parts.push(`${v}${u}`);
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join('') : '0s';
}
