/**
 * Seeded mutation fuzzing of kiln's CLI in-process: mutated templates (text and structure), var
 * files and command lines. Every case must end with an exit code and no internal error or stack
 * trace. Deterministic: the seed and the case count are fixed (KILN_FUZZ_CASES overrides).
 * With KILN_RELIABILITY_OUT set, the figures go to $KILN_RELIABILITY_OUT/fuzz.json
 * (scripts/reliability-report.mjs turns them into docs/reliability.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';
import { mutateArgs, mutateText, mutateValue, pick, prng, randomValue } from './mutate.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CASES = Number(process.env.KILN_FUZZ_CASES ?? 10_000);

function seeds(): string[] {
  const out: string[] = [
    '{"builders":[{"type":"null","communicator":"none"}],"provisioners":[{"type":"shell-local","inline":["echo {{user `a`}}"]}],"variables":{"a":"x","b":"{{user `a`}}-{{timestamp}}"}}',
    '{"builders":[{"type":"file","target":"out.txt","content":"x"}],"post-processors":[["manifest",{"type":"checksum"}]]}',
  ];
  const dir = resolve(REPO_ROOT, '../shared/corpus/packer-fixtures');
  const walk = (d: string): void => {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.json') && out.length < 120) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

function capture(): { sink: { write(s: string): boolean }; text: () => string } {
  const parts: string[] = [];
  return { sink: { write: (s: string) => (parts.push(String(s)), true) }, text: () => parts.join('') };
}

test(
  `kiln survives ${CASES} mutated templates, var files and command lines`,
  { timeout: 900_000 },
  async () => {
    const r = prng(0x6b696c6e);
    const corpus = seeds();
    // Memory-backed when available: the case files are rewritten thousands of times.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kiln-fuzz-'));
    const tpl = join(dir, 't.json');
    const varFile = join(dir, 'v.json');
    const failures: string[] = [];
    const codes = new Map<number, number>();
    const bad = { crashes: 0, hangs: 0, stackTraces: 0, internalErrors: 0 };
    let tried = 0;
    try {
      for (let i = 0; i < CASES; i++) {
        const seed = pick(r, corpus);
        let text: string;
        if (r() < 0.5) {
          text = mutateText(r, seed);
        } else {
          let v: unknown;
          try {
            v = JSON.parse(seed);
          } catch {
            v = randomValue(r);
          }
          text = JSON.stringify(mutateValue(r, v), null, r() < 0.5 ? 2 : undefined) ?? 'null';
        }
        writeFileSync(tpl, text);
        writeFileSync(
          varFile,
          r() < 0.7
            ? JSON.stringify(mutateValue(r, { a: 'x', n: '{{user `a`}}' }))
            : mutateText(r, '{"a":"b"}'),
        );
        const args = mutateArgs(r, tpl, varFile);
        const out = capture();
        const err = capture();
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<'hang'>((res) => {
          timer = setTimeout(() => res('hang'), 20_000);
        });
        tried++;
        const code = await Promise.race([
          hang,
          run(args, {
            stdout: out.sink,
            stderr: err.sink,
            stdin: Readable.from(args.includes('-') || args[0] === 'console' ? [text.slice(0, 200)] : []),
            env: { PATH: process.env.PATH },
            cwd: dir,
            now: () => new Date(0),
          }).catch((e: unknown) => e),
        ]);
        clearTimeout(timer);
        const all = out.text() + err.text();
        if (typeof code === 'number') codes.set(code, (codes.get(code) ?? 0) + 1);
        const stack = /\n\s+at .+:\d+:\d+\)?\n/.test(all);
        const internal = /internal error/.test(all);
        if (code === 'hang') bad.hangs++;
        else if (typeof code !== 'number') bad.crashes++;
        if (stack) bad.stackTraces++;
        if (internal) bad.internalErrors++;
        if (code === 'hang' || typeof code !== 'number' || stack || internal) {
          failures.push(
            `case ${i}: kiln ${args.join(' ')}\n--- template:\n${text.slice(0, 400)}\n--- output:\n${all.slice(0, 800)}`,
          );
          if (failures.length >= 5) break;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      writeFigures(tried, codes, bad);
    }
    assert.deepEqual(failures, [], failures.join('\n\n'));
    // The mutations must reach both outcomes, or the fuzzing only exercises the JSON parser.
    const ok = codes.get(0) ?? 0;
    const one = codes.get(1) ?? 0;
    assert.ok(ok > CASES * 0.1 && one > CASES * 0.3, `exit codes: ${JSON.stringify([...codes])}`);
  },
);

/** $KILN_RELIABILITY_OUT/fuzz.json: cases tried, outcomes, and every kind of failure (target: 0). */
function writeFigures(tried: number, codes: Map<number, number>, bad: Record<string, number>): void {
  const out = process.env.KILN_RELIABILITY_OUT;
  if (!out || tried === 0) return;
  mkdirSync(out, { recursive: true });
  const rows = [
    ...[...codes]
      .sort(([a], [b]) => a - b)
      .map(([code, n]) => ({ case: `ended with exit code ${code}`, exit: code, count: n, leaked: [] })),
    { case: 'crashed (run() threw)', exit: 'crash', count: bad.crashes, leaked: [] },
    { case: 'hung (no exit after 20 s)', exit: 'hang', count: bad.hangs, leaked: [] },
    { case: 'printed a stack trace', exit: 'any', count: bad.stackTraces, leaked: [] },
    { case: 'printed "internal error"', exit: 'any', count: bad.internalErrors, leaked: [] },
  ];
  const doc = {
    area: 'fuzz',
    title: 'Seeded fuzzing of templates, variable files and command lines',
    cases: tried,
    // Each case is one mutated template, one mutated var file and one mutated command line.
    inputs: tried * 3,
    failures: bad.crashes + bad.hangs + bad.stackTraces + bad.internalErrors,
    // In-process runs against local builders only: no cloud resources to leak.
    leaked: null,
    rows,
  };
  writeFileSync(join(out, 'fuzz.json'), JSON.stringify(doc, null, 2) + '\n');
}
