#!/usr/bin/env node
// Regenerates the figures of docs/reliability.md (between the reliability:figures markers):
// builds with tsc if the sources are newer than dist/, runs the reliability tests one after the
// other with KILN_RELIABILITY_OUT pointing at a temporary folder, reads the <area>.json files they
// write there, and writes a summary table plus one table of cases per area. A test file that is
// missing or wrote nothing is reported as "not run".
//
//   node scripts/reliability-report.mjs [--only area,area] [--from DIR] [--keep] [--dry-run]
//
//   --only    run only these areas (the others are reported "not run")
//   --from    use the JSON files already in DIR (runs nothing)
//   --keep    keep the temporary folder (its path is printed)
//   --dry-run print the section instead of writing docs/reliability.md
//
// JSON contract (one file per test file): {"area", "title", "cases", "faults"?, "inputs"?,
// "failures"?, "leaked" (a number, or null where no resource can leak), "rows": [{"case", "exit",
// "leaked": [...], ...}]}.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(ROOT, 'docs', 'reliability.md');
const START = '<!-- reliability:figures:start -->';
const END = '<!-- reliability:figures:end -->';

/** The test files that write figures, in report order. */
const SUITES = [
  {
    area: 'interrupt',
    file: 'test/reliability/interrupt.test.ts',
    what: 'SIGINT/SIGTERM at each point of an amazon-ebs build',
  },
  { area: 'kill', file: 'test/cleanup/kill.test.ts', what: 'kill -9 at each point, then `kiln cleanup`' },
  { area: 'faults', file: 'test/reliability/faults.test.ts', what: 'EC2 API faults injected by a proxy' },
  {
    area: 'faults-more',
    file: 'test/reliability/faults-more.test.ts',
    what: 'API faults on the IAM (temporary instance profile) and spot calls',
  },
  {
    area: 'faults-copies',
    file: 'test/reliability/faults-copies.test.ts',
    what: 'API faults on region copies (CopyImage and its waits in two regions)',
  },
  {
    area: 'ssh-drop',
    file: 'test/reliability/ssh-drop.test.ts',
    what: 'SSH late, never up, dropped mid-script',
  },
  { area: 'fuzz', file: 'test/fuzz/fuzz.test.ts', what: 'seeded fuzzing of templates, var files, flags' },
];

/**
 * Secrets and injection: existing tests in several files, selected by name. The script runs them
 * and writes secrets.json itself; a failing one counts as a leak (a secret shown, a quote broken).
 */
const SECRET_TESTS = [
  { file: 'src/ui/ui.test.ts', patterns: ['masks secrets', 'mask secrets'] },
  { file: 'src/util/log.test.ts', patterns: ['secrets masked'] },
  { file: 'test/transcripts/build.test.ts', patterns: ['masked in human output', 'masks sensitive values'] },
  { file: 'src/cli/commands/commands.test.ts', patterns: ['masked'] },
  { file: 'test/reference/debug.test.ts', patterns: ['saves the temporary key'] },
  { file: 'test/ansible/adapter.test.ts', patterns: ['one-time key'] },
  { file: 'test/communicator/provisioners.test.ts', patterns: ['hostile environment values'] },
  { file: 'src/util/shell-quote.test.ts', patterns: ['quoted words survive'] },
];

function parseArgs(argv) {
  const o = { only: null, from: null, keep: false, dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = new Set(argv[++i].split(','));
    else if (a === '--from') o.from = argv[++i];
    else if (a === '--keep') o.keep = true;
    else if (a === '--dry-run') o.dryRun = true;
    else {
      console.error(`Cannot run reliability-report: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return o;
}

const jsOf = (ts) => join(ROOT, 'dist', ts.replace(/\.ts$/, '.js'));

function newest(dir, ext) {
  let t = 0;
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      if (n === 'node_modules') continue;
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (n.endsWith(ext)) t = Math.max(t, st.mtimeMs);
    }
  };
  walk(dir);
  return t;
}

/** Runs tsc when dist/ is missing or older than a source file (type errors are reported, not fatal: tsc still emits). */
function buildIfNeeded() {
  const src = Math.max(newest(join(ROOT, 'src'), '.ts'), newest(join(ROOT, 'test'), '.ts'));
  const out = newest(join(ROOT, 'dist'), '.js');
  if (out >= src) return;
  console.error('reliability-report: compiling (tsc)…');
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0)
    console.error(
      `reliability-report: tsc reported errors (output still emitted):\n${(r.stdout || '').split('\n').slice(0, 10).join('\n')}`,
    );
}

/** Runs one compiled test file; resolves with its exit code, test counts, duration and TAP text. */
function runTest(js, env, extraArgs = []) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      ['--test', '--test-reporter=tap', '--test-concurrency=1', ...extraArgs, js],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code, signal) => {
      const count = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(out) ?? [])[1] ?? 0);
      resolve({
        code: code ?? signal,
        pass: count('pass'),
        fail: count('fail'),
        skipped: count('skipped'),
        ms: Date.now() - t0,
        out,
      });
    });
  });
}

function duration(ms) {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** Runs the secrets/injection tests and writes secrets.json into `dir`. */
async function runSecrets(dir, runs) {
  const rows = [];
  let ms = 0;
  let failing = 0;
  for (const t of SECRET_TESTS) {
    const js = jsOf(t.file);
    if (!existsSync(js)) {
      rows.push({
        case: `${t.patterns.join(' / ')} (${t.file})`,
        exit: 'not run: no such test file',
        leaked: [],
      });
      continue;
    }
    const r = await runTest(
      js,
      {},
      t.patterns.flatMap((p) => ['--test-name-pattern', p]),
    );
    ms += r.ms;
    const matches = (name) => t.patterns.some((p) => name.includes(p));
    for (const m of r.out.matchAll(/^\s*(not ok|ok) \d+ - (.+?)(?: # (SKIP|TODO).*)?$/gm)) {
      const [, status, name, skip] = m;
      if (!matches(name)) continue;
      if (skip) {
        rows.push({ case: `${name} (${t.file})`, exit: 'skipped', leaked: [] });
        continue;
      }
      const ok = status === 'ok';
      if (!ok) failing++;
      rows.push({
        case: `${name} (${t.file})`,
        exit: ok ? 'pass' : 'FAIL',
        leaked: ok ? [] : ['test failed: secret shown or quoting broken'],
      });
    }
  }
  runs.set('secrets', {
    code: failing === 0 ? 0 : 1,
    pass: rows.filter((r) => r.exit === 'pass').length,
    fail: failing,
    ms,
  });
  const doc = {
    area: 'secrets',
    title: 'Secrets and injection: masking, key handling, quoting',
    cases: rows.filter((r) => r.exit === 'pass' || r.exit === 'FAIL').length,
    leaked: failing,
    rows,
  };
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify(doc, null, 2) + '\n');
}

function readDocs(dir) {
  const docs = new Map();
  let names = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return docs;
  }
  for (const n of names.sort()) {
    try {
      const d = JSON.parse(readFileSync(join(dir, n), 'utf8'));
      const area = d.area ?? n.replace(/\.json$/, '');
      const prev = docs.get(area);
      if (!prev) docs.set(area, { ...d, area, rows: [...(d.rows ?? [])] });
      else {
        // Several files for one area: added up.
        prev.cases = (prev.cases ?? 0) + (d.cases ?? 0);
        for (const k of ['faults', 'inputs', 'failures'])
          if (d[k] !== undefined) prev[k] = (prev[k] ?? 0) + d[k];
        if (prev.leaked !== null || d.leaked !== null) prev.leaked = (prev.leaked ?? 0) + (d.leaked ?? 0);
        prev.rows.push(...(d.rows ?? []));
      }
    } catch (e) {
      console.error(`reliability-report: cannot read ${n}: ${e.message}`);
    }
  }
  return docs;
}

const cell = (v) =>
  String(v ?? '')
    .replaceAll('|', '\\|')
    .replaceAll('\n', ' ');

function leakedText(v) {
  if (v === null || v === undefined) return 'n/a';
  if (Array.isArray(v)) return v.length === 0 ? '0' : `${v.length}: ${v.join(', ')}`;
  return String(v);
}

function runText(run) {
  if (!run) return 'not run';
  if (run.notRun) return `not run (${run.notRun})`;
  const verdict = run.code === 0 ? 'passed' : `FAILED (exit ${run.code})`;
  return `${verdict}: ${run.pass} passed, ${run.fail} failed, ${duration(run.ms)}`;
}

function render(docs, runs, meta) {
  const lines = [];
  lines.push(
    `Generated by \`node scripts/reliability-report.mjs\` at ${meta.when} on commit ${meta.commit} ` +
      `(${meta.cores} cores, load average ${meta.load} when it started). The target is zero in the ` +
      '"leaked" and "failures" columns.',
    '',
    '| Area | What | Cases | Faults injected / inputs tried | Failures | Resources leaked | Test run |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  );
  const areas = [...SUITES.map((s) => s.area), 'secrets'];
  for (const a of docs.keys()) if (!areas.includes(a)) areas.push(a);
  const what = new Map([
    ...SUITES.map((s) => [s.area, s.what]),
    ['secrets', 'masking, one-time keys, quoting of hostile values'],
  ]);
  for (const area of areas) {
    const d = docs.get(area);
    const run = runs.get(area);
    if (!d) {
      lines.push(`| ${area} | ${cell(what.get(area))} | not run | | | | ${cell(runText(run))} |`);
      continue;
    }
    const fi =
      d.faults !== undefined ? `${d.faults} faults` : d.inputs !== undefined ? `${d.inputs} inputs` : '';
    const failures = d.failures ?? run?.fail ?? '';
    const ran = run ? runText(run) : 'figures read from an earlier run (--from)';
    lines.push(
      `| ${area} | ${cell(d.title ?? what.get(area))} | ${d.cases ?? ''} | ${fi} | ${failures} | ${leakedText(d.leaked)} | ${cell(ran)} |`,
    );
  }
  for (const area of areas) {
    const d = docs.get(area);
    if (!d || !(d.rows ?? []).length) continue;
    lines.push('', `#### ${area}: ${cell(d.title ?? '')}`, '');
    const extra = d.rows.some((r) => r.count !== undefined)
      ? 'count'
      : d.rows.some((r) => r.faults !== undefined)
        ? 'faults'
        : d.rows.some((r) => Array.isArray(r.left))
          ? 'left'
          : '';
    const extraName = { count: 'Cases', faults: 'Faults', left: 'Left by the dead build' }[extra];
    lines.push(
      `| Case | Outcome |${extra ? ` ${extraName} |` : ''} Leaked |`,
      `| --- | --- |${extra ? ' ---: |' : ''} --- |`,
    );
    for (const r of d.rows) {
      const x = extra === 'left' ? (r.left ?? []).length : r[extra];
      lines.push(
        `| ${cell(r.case)} | ${cell(r.exit)} |${extra ? ` ${cell(x)} |` : ''} ${cell(leakedText(r.leaked ?? []))} |`,
      );
    }
  }
  return lines.join('\n');
}

function writeSection(section, dryRun) {
  const block = `${START}\n${section}\n${END}`;
  if (dryRun) {
    console.log(block);
    return;
  }
  // Re-read just before writing: other sections of the file may have changed meanwhile.
  const text = readFileSync(DOC, 'utf8');
  const i = text.indexOf(START);
  const j = text.indexOf(END);
  const next =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + END.length)
      : `${text.trimEnd()}\n\n## Figures\n\n${block}\n`;
  writeFileSync(DOC, next);
  console.error(`reliability-report: wrote ${relative(ROOT, DOC)}`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const meta = {
    when: new Date()
      .toISOString()
      .replace(/:\d\d\.\d+Z$/, ' UTC')
      .replace('T', ' '),
    commit: (
      spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout || '?'
    ).trim(),
    cores: cpus().length,
    load: loadavg()[0].toFixed(1),
  };
  const runs = new Map();
  let dir = o.from;
  if (!dir) {
    buildIfNeeded();
    dir = mkdtempSync(join(tmpdir(), 'kiln-reliability-'));
    for (const s of SUITES) {
      if (o.only && !o.only.has(s.area)) {
        runs.set(s.area, { notRun: 'not selected' });
        continue;
      }
      const js = jsOf(s.file);
      if (!existsSync(js)) {
        runs.set(s.area, { notRun: `${s.file} does not exist` });
        continue;
      }
      console.error(`reliability-report: ${s.area}: node --test ${relative(ROOT, js)}…`);
      const r = await runTest(js, { KILN_RELIABILITY_OUT: dir });
      writeFileSync(join(dir, `${s.area}.log`), r.out);
      runs.set(s.area, r);
      console.error(`reliability-report: ${s.area}: ${runText(r)}`);
    }
    if (!o.only || o.only.has('secrets')) {
      console.error('reliability-report: secrets: the masking, key and quoting tests…');
      await runSecrets(dir, runs);
      console.error(`reliability-report: secrets: ${runText(runs.get('secrets'))}`);
    } else runs.set('secrets', { notRun: 'not selected' });
  }
  const docs = readDocs(dir);
  writeSection(render(docs, runs, meta), o.dryRun);
  if (o.from) return;
  if (o.keep) console.error(`reliability-report: JSON and logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  const failed = [...runs.values()].some((r) => r && !r.notRun && r.code !== 0);
  process.exitCode = failed ? 1 : 0;
}

await main();
