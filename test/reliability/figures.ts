/**
 * The figures the reliability tests hand to scripts/reliability-report.mjs: with
 * KILN_RELIABILITY_OUT set, `<dir>/<area>.json` = { area, title, cases, faults?, leaked, rows }.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Figures<Row extends { leaked: readonly unknown[] }> {
  area: string;
  title: string;
  rows: Row[];
  /** Faults injected (or, for kill -9, the resources the dead builds left for cleanup). */
  faults?: (row: Row) => number;
}

/** Writes the area's JSON when KILN_RELIABILITY_OUT names a directory and some case ran. */
export async function writeFigures<Row extends { leaked: readonly unknown[] }>(
  f: Figures<Row>,
): Promise<void> {
  const out = process.env.KILN_RELIABILITY_OUT;
  if (!out || f.rows.length === 0) return;
  await mkdir(out, { recursive: true });
  const doc = {
    area: f.area,
    title: f.title,
    cases: f.rows.length,
    ...(f.faults ? { faults: f.rows.reduce((n, r) => n + f.faults!(r), 0) } : {}),
    leaked: f.rows.reduce((n, r) => n + r.leaked.length, 0),
    rows: f.rows,
  };
  await writeFile(join(out, `${f.area}.json`), JSON.stringify(doc, null, 2) + '\n');
}
