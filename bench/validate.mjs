#!/usr/bin/env node
// Times `kiln validate` of the reference template (../shared/lab/build/config.json) against
// `packer validate` (Debian's packer 1.6.6) in the same run: several runs each, interleaved,
// median wall time. Writes its section of docs/benchmarks.md between the bench:validate markers.
// Usage: node bench/validate.mjs [runs]   (needs `npm run build` first)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const labDir = resolve(root, '../shared/lab/build');
const template = join(labDir, 'config.json');
const runs = Number(process.argv[2] ?? 7);
const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', CHECKPOINT_DISABLE: '1' };

function time(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: labDir, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, rc: r.status, out: (r.stdout + r.stderr).trim() };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const variants = [
  { name: 'validate', args: ['validate', template] },
  { name: 'validate -syntax-only', args: ['validate', '-syntax-only', template] },
];
const rows = [];
for (const v of variants) {
  const k = [];
  const p = [];
  let kr;
  let pr;
  for (let i = 0; i < runs; i++) {
    kr = time(process.execPath, [join(root, 'bin/kiln'), ...v.args]);
    k.push(kr.ms);
    pr = time('packer', v.args);
    p.push(pr.ms);
  }
  const km = median(k);
  const pm = median(p);
  rows.push({ ...v, km, pm, ratio: km / pm, krc: kr.rc, prc: pr.rc, kout: kr.out, pout: pr.out });
  console.log(`${v.name}: kiln ${km.toFixed(0)} ms (rc ${kr.rc}), packer ${pm.toFixed(0)} ms (rc ${pr.rc}), ratio ${(km / pm).toFixed(3)}`);
}

const date = new Date().toISOString().slice(0, 10);
const lines = [
  `\`bench/validate.mjs\`, ${date}, ${cpus().length} CPUs, Node ${process.version}, median of ${runs} interleaved runs,`,
  'template `../shared/lab/build/config.json` (amazon-ebs + shell + ansible), run from its directory. Target: kiln ≤ 0.2× Packer.',
  '',
  '| command | kiln | packer 1.6.6 | kiln / packer | exit codes (kiln, packer) |',
  '|---|---|---|---|---|',
  ...rows.map(
    (r) => `| \`${r.name}\` | ${r.km.toFixed(0)} ms | ${r.pm.toFixed(0)} ms | ${r.ratio.toFixed(3)} | ${r.krc}, ${r.prc} |`,
  ),
];
const failing = rows.filter((r) => r.krc !== 0);
if (failing.length) {
  lines.push('', 'kiln did not exit 0 in this run (the timing still counts start-up and parsing):');
  for (const r of failing) lines.push('', '```', r.kout.split('\n').slice(0, 6).join('\n'), '```');
}
const docPath = join(root, 'docs/benchmarks.md');
const doc = readFileSync(docPath, 'utf8');
const start = '<!-- bench:validate:start -->';
const end = '<!-- bench:validate:end -->';
const i = doc.indexOf(start);
const j = doc.indexOf(end);
if (i < 0 || j < 0) throw new Error('docs/benchmarks.md has no bench:validate markers');
writeFileSync(docPath, doc.slice(0, i + start.length) + '\n' + lines.join('\n') + '\n' + doc.slice(j));
console.log('wrote docs/benchmarks.md');
