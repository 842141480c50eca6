/**
 * `kiln cleanup`'s logic: list the kiln-tagged resources of every region, decide what dead runs
 * left (plan.ts), remove it (execute.ts), and account for everything in a report.
 */
import { executePlan, errorReason, type CleanupApi, type Failure } from './execute.js';
import { IAM_REGION } from './iam-api.js';
import { formatAge, planCleanup, type Found, type Kept, type Planned } from './plan.js';

export interface CleanupOptions {
  olderThanMs: number;
  runId?: string;
  dryRun: boolean;
  now: Date;
  say(line: string): void;
  waitTimeoutMs?: number;
  pollMs?: number;
}

export interface CleanupReport {
  /** Resources selected for removal (all regions). */
  selected: Planned[];
  removed: Planned[];
  failed: Failure[];
  kept: Kept[];
  /** Regions that could not be listed, with the reason. */
  unlisted: Array<{ region: string; reason: string }>;
}

export async function runCleanup(apis: CleanupApi[], opts: CleanupOptions): Promise<CleanupReport> {
  const found: Found[] = [];
  const unlisted: CleanupReport['unlisted'] = [];
  const listed: CleanupApi[] = [];
  for (const api of apis) {
    try {
      found.push(...(await api.list()));
      listed.push(api);
    } catch (err) {
      unlisted.push({ region: api.region, reason: errorReason(err) });
    }
  }
  // A run's age is that of its oldest resource in any region listed.
  const plan = planCleanup(found, { now: opts.now, olderThanMs: opts.olderThanMs, runId: opts.runId });
  const removed: Planned[] = [];
  const failed: Failure[] = [];
  for (const api of listed) {
    const mine = plan.remove.filter((r) => r.region === api.region);
    if (mine.length === 0) continue;
    // IAM is global, not a region: its header only after EC2 removals; region headers as before.
    if (api.region === IAM_REGION) {
      if (removed.length + failed.length > 0) opts.say(`${IAM_REGION}:`);
    } else if (listed.filter((a) => a.region !== IAM_REGION).length > 1) opts.say(`Region ${api.region}:`);
    const res = await executePlan(api, mine, {
      dryRun: opts.dryRun,
      say: opts.say,
      waitTimeoutMs: opts.waitTimeoutMs,
      pollMs: opts.pollMs,
    });
    removed.push(...res.removed);
    failed.push(...res.failed);
  }
  return { selected: plan.remove, removed, failed, kept: plan.kept, unlisted };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function runs(items: Array<{ runId: string }>): number {
  return new Set(items.map((i) => i.runId)).size;
}

/** The summary lines after the per-resource lines. */
export function summarize(
  report: CleanupReport,
  opts: { dryRun: boolean; olderThanMs: number; regions: string[] },
): string[] {
  const lines: string[] = [];
  const sel = report.selected;
  const listed = opts.regions.filter((r) => !report.unlisted.some((u) => u.region === r));
  if (sel.length === 0) {
    if (listed.length > 0) lines.push(`No resources of dead kiln runs found in ${listed.join(', ')}.`);
  } else if (opts.dryRun) {
    lines.push(
      `Would remove ${plural(sel.length, 'resource')} of ${plural(runs(sel), 'run')} (dry run: nothing was removed).`,
    );
  } else if (report.failed.length === 0) {
    lines.push(
      `Removed ${plural(report.removed.length, 'resource')} of ${plural(runs(report.removed), 'run')}.`,
    );
  } else {
    lines.push(
      `Removed ${report.removed.length} of ${plural(sel.length, 'resource')}; ${report.failed.length} could not be removed.`,
    );
  }
  const count = (reason: Kept['reason']) => report.kept.filter((k) => k.reason === reason);
  const young = count('young');
  if (young.length > 0) {
    lines.push(
      `Left ${plural(young.length, 'resource')} of ${plural(runs(young.map((k) => k.item)), 'run')} younger than ${formatAge(opts.olderThanMs)} (may still be building).`,
    );
  }
  const unknown = count('unknown-age');
  if (unknown.length > 0) {
    lines.push(
      `Left ${plural(unknown.length, 'resource')} of unknown age (${unknown.map((k) => `${k.item.kind} ${k.item.id}, run ${k.item.runId}`).join('; ')}): no resource of the run carries a creation time; use -older-than=0s to remove them.`,
    );
  }
  const products = [...count('product'), ...count('in-use')];
  if (products.length > 0)
    lines.push(
      `Left ${plural(products.length, 'finished AMI or snapshot', 'finished AMIs and snapshots')} (build products).`,
    );
  return lines;
}

/** The error lines: one per resource not removed, one per region not listed. */
export function failureLines(report: CleanupReport): string[] {
  return [
    ...report.unlisted.map((u) => `Cannot list resources in ${u.region}: ${u.reason}`),
    ...report.failed.map(
      (f) => `Cannot delete ${f.item.kind} ${f.item.id} (run ${f.item.runId}, ${f.item.region}): ${f.reason}`,
    ),
  ];
}
