/**
 * Differential conformance: runs ../shared/tools/compare-validate over Packer's own fixtures with
 * kiln as the candidate, once as shipped and once with KILN_PACKER_PARITY=1 (kiln's additions
 * off), and fails when agreement drops below the recorded baseline (docs/compatibility.md lists
 * every remaining disagreement and why).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/conformance/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SHARED = resolve(REPO_ROOT, '../shared');
const TOOL = join(SHARED, 'tools/compare-validate');
const CORPUS = join(SHARED, 'corpus/packer-fixtures');
/** kiln's own cases (edge cases of spec §9.4), recorded from packer 1.6.6 with compare-validate --record. */
const OWN_CORPUS = join(REPO_ROOT, 'test/conformance/corpus');
const BASELINE = JSON.parse(readFileSync(join(REPO_ROOT, 'test/conformance/baseline.json'), 'utf8')) as Record<
  string,
  { exit: number; output: number; total: number }
>;

interface Agreement {
  exit: number;
  output: number;
  total: number;
  report: string;
}

function compare(kiln: string, corpus = CORPUS): Agreement {
  const r = spawnSync(process.execPath, [TOOL, '-j', '8', corpus], {
    env: { ...process.env, KILN: kiln },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const m = /agree: (\d+)\/(\d+) exit codes, (\d+)\/\d+ outputs/.exec(r.stdout);
  assert.ok(m, `compare-validate gave no summary:\n${r.stdout}\n${r.stderr}`);
  return { exit: Number(m[1]), total: Number(m[2]), output: Number(m[3]), report: r.stdout };
}

const skip = existsSync(TOOL) && existsSync(CORPUS) ? false : `compare-validate or the corpus is missing under ${SHARED}`;
const KILN_BIN = join(REPO_ROOT, 'bin/kiln');

test('agreement with Packer 1.6.6 on its fixtures does not drop below the baseline', { skip, timeout: 600_000 }, () => {
  const a = compare(`${process.execPath} ${KILN_BIN}`);
  const b = BASELINE.default;
  assert.equal(a.total, b.total, 'the corpus changed: re-record test/conformance/baseline.json');
  assert.ok(a.exit >= b.exit, `exit codes agree ${a.exit}/${a.total}, baseline ${b.exit}\n${a.report}`);
  assert.ok(a.output >= b.output, `outputs agree ${a.output}/${a.total}, baseline ${b.output}\n${a.report}`);
});

test('with KILN_PACKER_PARITY=1 the agreement does not drop below the parity baseline', { skip, timeout: 600_000 }, () => {
  const a = compare(`env KILN_PACKER_PARITY=1 ${process.execPath} ${KILN_BIN}`);
  const b = BASELINE.parity;
  assert.ok(a.exit >= b.exit, `exit codes agree ${a.exit}/${a.total}, baseline ${b.exit}\n${a.report}`);
  assert.ok(a.output >= b.output, `outputs agree ${a.output}/${a.total}, baseline ${b.output}\n${a.report}`);
});

test('kiln agrees with Packer on every case of its own corpus (parity mode)', { skip: existsSync(TOOL) ? false : 'no compare-validate', timeout: 600_000 }, () => {
  const a = compare(`env KILN_PACKER_PARITY=1 ${process.execPath} ${KILN_BIN}`, OWN_CORPUS);
  assert.ok(a.total >= 40, a.report);
  assert.equal(a.exit, a.total, a.report);
  assert.equal(a.output, a.total, a.report);
});
