/**
 * Ctrl-C and SIGTERM at every point of a real amazon-ebs `kiln build` (moto + the instance sshd +
 * the EC2 proxy holding back the next call): afterwards nothing of the build is left in the
 * account (checked through the EC2 API on moto, not through kiln), the exit code is 1 and the
 * messages are Packer's. With -on-error=abort nothing is removed and kiln lists exactly what it
 * left. Two lanes (one per signal, each with its own moto) run side by side.
 *
 * KILN_RELIABILITY_OUT=<dir> writes <dir>/interrupt.json (figures for docs/reliability.md).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFigures } from './figures.js';
import { AWS_TEST_ENV, runKiln } from '../env/kiln-cli.js';
import { leftovers, removeLeftovers } from './leaks.js';
import {
  POINTS,
  runCase,
  startLane,
  template,
  type CaseResult,
  type Lane,
  type Point,
} from './interrupt-matrix.js';

const SIGNALS = [
  { signal: 'SIGINT' as const, name: 'interrupt' },
  { signal: 'SIGTERM' as const, name: 'terminated' },
];

interface Row {
  case: string;
  exit: number | null;
  leaked: string[];
}

const lanes = new Map<string, Lane>();
const rows: Row[] = [];

before(async () => {
  const started = await Promise.allSettled(SIGNALS.map(() => startLane()));
  for (const [i, s] of started.entries()) if (s.status === 'fulfilled') lanes.set(SIGNALS[i].signal, s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
});

after(async () => {
  await Promise.all([...lanes.values()].map((l) => l.stop()));
  // Sequence order: SIGINT's points, then SIGTERM's.
  const key = (r: Row) =>
    SIGNALS.findIndex((x) => r.case.startsWith(`${x.signal} `)) * 100 +
    POINTS.findIndex((p) => r.case.endsWith(` ${p.label}`)) +
    (r.case.includes('process group') ? 1000 : 0);
  await writeFigures({
    area: 'interrupt',
    title: 'SIGINT/SIGTERM at each point of the amazon-ebs sequence',
    rows: [...rows].sort((a, b) => key(a) - key(b)),
  });
});

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

/**
 * The cleanup messages a build interrupted at `point` must print, in order (spec §B). A create in
 * flight is awaited, so what it made is cleaned up too.
 */
function expectedCleanup(point: Point): RegExp[] {
  const i = POINTS.indexOf(point);
  const at = (label: string) => POINTS.findIndex((p) => p.label === label);
  const out: RegExp[] = [/Deleting temporary keypair\.\.\./];
  if (i >= at('after the temporary key pair')) out.unshift(/Deleting temporary security group\.\.\./);
  if (i >= at('after the temporary security group')) out.unshift(/Terminating the source AWS instance\.\.\./);
  if (i >= at('while creating the AMI')) {
    out.unshift(
      /Deregistering the AMI and deleting associated snapshots because of cancellation, or error\.\.\./,
    );
  }
  return out;
}

function checkInterrupted(r: CaseResult, point: Point, name: string): void {
  const out = r.result.out;
  assert.equal(r.result.code, 1, out);
  assert.ok(out.includes(`Cancelling build after receiving ${name}\n`), out);
  assert.ok(out.includes('Cleanly cancelled builds after being interrupted.\n'), out);
  assert.match(out, /^Build 'amazon-ebs' (errored|finished) after .+$/m);
  assert.match(out, /^==> Wait completed after /m);
  assert.doesNotMatch(out, STACK, 'no stack trace');
  if (point.error) assert.match(out, point.error);
  assert.doesNotMatch(out, /(Request|operation was) aborted$/m, "Node's abort text never reaches the user");
  assert.doesNotMatch(out, /Builds finished\. The artifacts/, 'no artifact from an interrupted build');
  // Cleanups ran in Packer's order.
  let at = -1;
  for (const re of expectedCleanup(point)) {
    const m = re.exec(out.slice(at + 1));
    assert.ok(m, `${re} after position ${at}:\n${out}`);
    at += 1 + m.index;
  }
  assert.deepEqual(r.leaked, [], `nothing left in the account:\n${out}`);
}

/** Every leftover the EC2 API reports is named in kiln's list, and every listed one is real. */
function checkListed(out: string, leaked: string[]): void {
  const head = out.indexOf('Temporary resources left behind (tagged kiln-run-id=');
  assert.ok(head >= 0, out);
  const listed = out
    .slice(head)
    .split('\n')
    .slice(1)
    .map((l) =>
      /^\s*amazon-ebs: (instance|key pair|security group|volume|AMI|snapshot) (\S+) \(us-east-1[;)]/.exec(l),
    )
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
  const found = leaked.map((l) => l.replace(/ \(.*$/, ''));
  assert.deepEqual([...listed].sort(), [...found].sort(), out);
}

const abortFailing = {
  name: '-on-error=abort: a failing provisioner leaves everything, and kiln lists exactly that',
  async run(lane: Lane): Promise<void> {
    assert.deepEqual(await leftovers(lane.ec2, lane.moto.seed), []);
    const file = join(lane.dir, `abort-${Date.now()}.json`);
    await writeFile(
      file,
      JSON.stringify(template(lane, lane.inst.port, [{ type: 'shell', inline: ['exit 3'] }])),
    );
    const r = await runKiln(['build', '-color=false', '-on-error=abort', file], {
      cwd: lane.dir,
      env: { ...AWS_TEST_ENV, KILN_TEST_SSH_RETRY_MS: '500' },
      timeoutMs: 180_000,
    });
    const leaked = await leftovers(lane.ec2, lane.moto.seed);
    try {
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /Step "StepProvision" failed, aborting\.\.\./);
      assert.doesNotMatch(
        r.out,
        /Terminating the source AWS instance|Deleting temporary (keypair|security group)/,
      );
      for (const kind of ['instance', 'key pair', 'security group', 'volume']) {
        assert.ok(
          leaked.some((l) => l.startsWith(`${kind} `)),
          `${kind} left: ${leaked.join(', ')}`,
        );
      }
      checkListed(r.out, leaked);
    } finally {
      assert.deepEqual(await removeLeftovers(lane.ec2, lane.moto.seed), []);
    }
  },
};

const abortInterrupted = {
  name: '-on-error=abort and Ctrl-C while waiting for the instance: "Interrupted, aborting...", everything listed',
  async run(lane: Lane): Promise<void> {
    // Before the instance is running kiln does not know its volumes yet: the list must still name them.
    const point = POINTS.find((p) => p.label === 'while waiting for the instance');
    assert.ok(point);
    const leaked = (await runCase(lane, {
      point,
      signal: 'SIGINT',
      extraArgs: ['-on-error=abort'],
    })) as CaseResult;
    const out = leaked.result.out;
    if (process.env.KILN_TEST_DEBUG) console.error(`--- abort + SIGINT\n${out}`);
    assert.equal(leaked.result.code, 1, out);
    // The runner prints the step's error first, in Packer's words.
    assert.match(
      out,
      /Error waiting for instance \(i-[0-9a-f]+\) to become ready: RequestCanceled: waiter context canceled\n(==> amazon-ebs: )?caused by: context canceled\n(.*\n)?.*Interrupted, aborting\.\.\./,
    );
    assert.match(out, /Cleanly cancelled builds after being interrupted\./);
    assert.doesNotMatch(out, /Terminating the source AWS instance/);
    for (const kind of ['instance', 'volume', 'key pair', 'security group']) {
      assert.ok(
        leaked.leaked.some((l) => l.startsWith(`${kind} `)),
        `${kind} left: ${leaked.leaked.join(', ')}`,
      );
    }
    checkListed(out, leaked.leaked);
  },
};

test(
  'SIGINT and SIGTERM at each point of the amazon-ebs sequence leave nothing behind',
  { concurrency: 2 },
  async (t) => {
    await Promise.all(
      SIGNALS.map(({ signal, name }) =>
        t.test(`${signal} lane`, async (lt) => {
          const lane = lanes.get(signal);
          assert.ok(lane);
          for (const point of POINTS) {
            // KILN_INTERRUPT_ONLY=<words>: only the points whose label has them (while developing).
            const only = process.env.KILN_INTERRUPT_ONLY;
            if (only && !point.label.includes(only)) continue;
            await lt.test(`${signal} ${point.label}`, async () => {
              const r = await runCase(lane, { point, signal });
              rows.push({ case: `${signal} ${point.label}`, exit: r.result.code, leaked: r.leaked });
              if (process.env.KILN_TEST_DEBUG) console.error(`--- ${signal} ${point.label}\n${r.result.out}`);
              checkInterrupted(r, point, name);
            });
          }
          // abortInterrupted holds a request for WAIT_HOLD_MS: the group case after it lets that timer run out.
          await lt.test(signal === 'SIGINT' ? abortFailing.name : abortInterrupted.name, () =>
            signal === 'SIGINT' ? abortFailing.run(lane) : abortInterrupted.run(lane),
          );
          if (signal === 'SIGTERM' && !process.env.KILN_INTERRUPT_ONLY) {
            // A terminal's Ctrl-C reaches ansible-playbook and its ssh too (this lane's moto is free).
            const point = POINTS.find((p) => p.label === 'during the ansible provisioner');
            assert.ok(point);
            await lt.test('Ctrl-C to the process group during the ansible provisioner', async () => {
              const r = await runCase(lane, { point, signal: 'SIGINT', group: true });
              rows.push({
                case: 'SIGINT to the process group during the ansible provisioner',
                exit: r.result.code,
                leaked: r.leaked,
              });
              if (process.env.KILN_TEST_DEBUG) console.error(`--- group SIGINT\n${r.result.out}`);
              checkInterrupted(r, point, 'interrupt');
            });
          }
        }),
      ),
    );
  },
);
