/**
 * Golden-image checks (kiln's own addition): reads the playbooks an ansible provisioner will run
 * and warns about tasks that start, restart or reload a service. On a build instance a service
 * should be enabled, not started. Warnings only; `yaml` is imported lazily.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';

const SERVICE_MODULES = new Set(
  ['service', 'systemd', 'systemd_service'].flatMap((m) => [m, `ansible.builtin.${m}`, `ansible.legacy.${m}`]),
);
const RUNNING_STATES = new Set(['started', 'restarted', 'reloaded']);
const BLOCK_LISTS = ['block', 'rescue', 'always'];

type YamlModule = typeof import('yaml');
type Node = unknown;

interface Ctx {
  y: YamlModule;
  warnings: string[];
  seen: Set<string>;
  rolesPath: string[];
}

/** True when golden-image checks are switched off globally. */
export function goldenImageChecksDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.KILN_NO_GOLDEN_IMAGE_CHECKS;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Returns one warning per task in the playbook (and what it includes) that starts a service. */
export async function checkPlaybook(playbook: string, rolesPath: string[] = []): Promise<string[]> {
  const y = await import('yaml');
  const ctx: Ctx = { y, warnings: [], seen: new Set(), rolesPath };
  await walkFile(ctx, resolve(playbook), 'playbook');
  return ctx.warnings;
}

async function load(ctx: Ctx, file: string): Promise<{ doc: Node; lc: InstanceType<YamlModule['LineCounter']> } | undefined> {
  if (ctx.seen.has(file)) return undefined;
  ctx.seen.add(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined; // a missing include is ansible's to report
  }
  const lc = new ctx.y.LineCounter();
  const doc = ctx.y.parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  return { doc: doc.contents, lc };
}

async function walkFile(ctx: Ctx, file: string, kind: 'playbook' | 'tasks'): Promise<void> {
  const loaded = await load(ctx, file);
  if (!loaded) return;
  const { y } = ctx;
  if (!y.isSeq(loaded.doc)) return;
  for (const item of loaded.doc.items) {
    if (kind === 'playbook') await walkPlay(ctx, file, loaded.lc, item);
    else await walkTask(ctx, file, loaded.lc, item);
  }
}

function str(ctx: Ctx, n: Node): string | undefined {
  return ctx.y.isScalar(n) && typeof n.value === 'string' ? n.value : undefined;
}

async function walkPlay(ctx: Ctx, file: string, lc: InstanceType<YamlModule['LineCounter']>, play: Node): Promise<void> {
  const { y } = ctx;
  if (!y.isMap(play)) return;
  const dir = dirname(file);
  const imported = str(ctx, play.get('import_playbook', true));
  if (imported !== undefined) {
    if (!imported.includes('{{')) await walkFile(ctx, resolveRel(dir, imported), 'playbook');
    return;
  }
  const pre = play.get('pre_tasks', true);
  if (y.isSeq(pre)) for (const t of pre.items) await walkTask(ctx, file, lc, t);
  const roles = play.get('roles', true);
  if (y.isSeq(roles)) {
    for (const r of roles.items) {
      const name = str(ctx, r) ?? (y.isMap(r) ? (str(ctx, r.get('role', true)) ?? str(ctx, r.get('name', true))) : undefined);
      if (name === undefined || name.includes('{{')) continue;
      for (const base of [join(dir, 'roles'), ...ctx.rolesPath]) {
        const main = join(base, name, 'tasks', 'main.yml');
        if (!(await exists(main))) continue;
        await walkFile(ctx, main, 'tasks');
        break;
      }
    }
  }
  for (const key of ['tasks', 'post_tasks', 'handlers']) {
    const list = play.get(key, true);
    if (y.isSeq(list)) for (const t of list.items) await walkTask(ctx, file, lc, t);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await readFile(p);
    return true;
  } catch {
    return false;
  }
}

function resolveRel(dir: string, p: string): string {
  return isAbsolute(p) ? p : join(dir, p);
}

async function walkTask(ctx: Ctx, file: string, lc: InstanceType<YamlModule['LineCounter']>, task: Node): Promise<void> {
  const { y } = ctx;
  if (!y.isMap(task)) return;
  for (const key of BLOCK_LISTS) {
    const list = task.get(key, true);
    if (y.isSeq(list)) for (const t of list.items) await walkTask(ctx, file, lc, t);
  }
  for (const pair of task.items) {
    const key = str(ctx, pair.key);
    if (key === undefined) continue;
    const short = key.replace(/^ansible\.(builtin|legacy)\./, '');
    if (short === 'import_tasks' || short === 'include_tasks') {
      const v = y.isMap(pair.value) ? pair.value.get('file', true) : pair.value;
      const name = str(ctx, v);
      if (name !== undefined && !name.includes('{{')) await walkFile(ctx, resolveRel(dirname(file), name), 'tasks');
      continue;
    }
    if (!SERVICE_MODULES.has(key)) continue;
    let state: string | undefined;
    let serviceName: string | undefined;
    let at: Node = pair.key;
    if (y.isMap(pair.value)) {
      const st = pair.value.get('state', true);
      state = str(ctx, st);
      serviceName = str(ctx, pair.value.get('name', true));
      if (st) at = st;
    } else {
      const s = str(ctx, pair.value);
      if (s !== undefined) {
        for (const m of s.matchAll(/(?:^|\s)(\w+)=("[^"]*"|'[^']*'|\S+)/g)) {
          const v = m[2]!.replace(/^["']|["']$/g, '');
          if (m[1] === 'state') state = v;
          if (m[1] === 'name') serviceName = v;
        }
      }
    }
    if (state === undefined || !RUNNING_STATES.has(state)) continue;
    const offset = (at as { range?: [number, number, number] }).range?.[0] ?? 0;
    const pos = lc.linePos(offset);
    const what = serviceName !== undefined ? `service "${serviceName}"` : 'a service';
    ctx.warnings.push(
      `${file}:${pos.line}:${pos.col}: golden image: this task sets ${what} to state "${state}" on the build instance; ` +
        'enable it instead (enabled: true, no state) so it starts on the instances made from the image. ' +
        'Turn this check off with golden_image_checks: false or KILN_NO_GOLDEN_IMAGE_CHECKS=1.',
    );
  }
}
