/**
 * The temporary private key of an amazon-ebs build and the disk (spec §B.4, packer-core §7.9):
 *
 * - `kiln build -debug` writes it to the working directory as `ec2_<build name>.pem`, mode 0600,
 *   for the user to log in with while the build runs, and removes it at StepKeyPair's cleanup
 *   (Packer 1.6.6 does the same: os.Remove in the cleanup, `Error removing debug key …` on failure).
 * - without -debug, no file holding a private key appears in the working directory, TMPDIR or HOME
 *   at any time of the build.
 *
 * The first two builds run without a terminal (own session, stdin a pipe of newlines). Like Packer,
 * kiln reads pause answers from the terminal only, so there -debug does not pause (packer-core
 * §5.2). The third, a spot build, runs on a pseudo-terminal (test/env `runKilnOnTerminal`, util-linux
 * `script`) and types Enter at each pause (test/reference/debug.test.ts does the same for the
 * on-demand reference template).
 *
 * While kiln runs, the provisioner waits on the "instance" (the local sshd) for a file the test
 * creates once it has looked at the disk, so the checks happen while the key is in use.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import { amazonEnv } from '../env/amazon-env.js';
import type { RunningKiln } from '../env/kiln-cli.js';

const run = promisify(execFile);

const env = amazonEnv({ dir: 'kiln-ebs-debug-' });

function template(gate: string): unknown {
  return {
    builders: [
      {
        type: 'amazon-ebs',
        ami_name: `kiln-debug-${randomUUID().slice(0, 8)}`,
        instance_type: 't4g.medium',
        region: 'us-east-1',
        source_ami: env.moto.seed.source_ami,
        ...env.access(),
        ssh_timeout: '1m',
        subnet_id: env.moto.seed.most_free_subnet,
        security_group_ids: [env.moto.seed.security_group_id],
      },
    ],
    // Holds the build (bounded) until the test has looked at the disk.
    provisioners: [
      {
        type: 'shell',
        inline: [`for i in $(seq 300); do [ -e ${gate} ] && exit 0; sleep 0.2; done; exit 7`],
      },
    ],
  };
}

/** kiln in its own session (no controlling terminal), stdin a pipe of newlines. */
function kilnNoTerminal(args: string[], cwd: string, extra: Record<string, string>): RunningKiln {
  return env.startKiln(args, {
    cwd,
    env: extra,
    input: '\n'.repeat(100),
    detached: true,
    timeoutMs: 180_000,
  });
}

/** Every regular file below `dir` whose content holds a private key. */
async function privateKeyFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    const text = await readFile(p, 'utf8').catch(() => '');
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) found.push(p);
  }
  return found.sort();
}

async function dirs(name: string): Promise<{ work: string; tmp: string; home: string; gate: string }> {
  const base = await mkdtemp(join(env.dir, `${name}-`));
  const work = join(base, 'work');
  const tmp = join(base, 'tmp');
  const home = join(base, 'home');
  for (const d of [work, tmp, home]) await run('mkdir', ['-p', d]);
  // The gate is created by the test and read by the instance user over SSH: /tmp is shared by both.
  return { work, tmp, home, gate: `/tmp/kiln-debug-gate-${randomUUID()}` };
}

describe('amazon-ebs temporary key on disk', () => {
  it('-debug saves ec2_<build>.pem (0600) in the working directory while the build runs, then removes it', async () => {
    const d = await dirs('debug');
    await writeFile(join(d.work, 'build.json'), JSON.stringify(template(d.gate)));
    const k = kilnNoTerminal(['build', '-debug', '-color=false', 'build.json'], d.work, {
      TMPDIR: d.tmp,
      HOME: d.home,
    });
    try {
      await k.waitFor(/Connected to SSH!/, 180_000);
      const pem = join(d.work, 'ec2_amazon-ebs.pem');
      assert.equal((await stat(pem)).mode & 0o777, 0o600);
      // The only private key on disk is that file, and it is the key pair's private half.
      assert.deepEqual(await privateKeyFiles(join(d.work, '..')), [pem]);
      const pub = (await run('ssh-keygen', ['-y', '-f', pem])).stdout.trim().split(' ')[1];
      const keyName = /Creating temporary keypair: (\S+)/.exec(k.out())?.[1] ?? '';
      const pair = await env.ec2.send(
        new DescribeKeyPairsCommand({ KeyNames: [keyName], IncludePublicKey: true }),
      );
      assert.equal(pair.KeyPairs?.[0]?.PublicKey?.trim().split(' ')[1], pub);
    } finally {
      await writeFile(d.gate, '');
    }
    const { code, out } = await k.done;
    await rm(d.gate, { force: true });
    assert.equal(code, 0, out);
    assert.match(out, /Debug mode enabled\. Builds will not be parallelized\./);
    assert.match(out, /\n {4}amazon-ebs: Saving key for debug purposes: ec2_amazon-ebs\.pem\n/);
    // No terminal: no pause (Packer's Ask fails without a TTY), and the piped newlines are not read.
    assert.doesNotMatch(out, /Pausing (after run of|before cleanup of) step/);
    assert.doesNotMatch(out, /Error removing debug key/);
    assert.deepEqual(await readdir(d.work), ['build.json']);
    assert.deepEqual(await privateKeyFiles(join(d.work, '..')), []);
  });

  it('without -debug no private key touches the disk (working directory, TMPDIR, HOME)', async () => {
    const d = await dirs('plain');
    await writeFile(join(d.work, 'build.json'), JSON.stringify(template(d.gate)));
    const k = kilnNoTerminal(['build', '-color=false', 'build.json'], d.work, {
      TMPDIR: d.tmp,
      HOME: d.home,
    });
    try {
      await k.waitFor(/Connected to SSH!/, 180_000);
      assert.match(k.out(), /Creating temporary keypair: packer_/);
      assert.deepEqual(await privateKeyFiles(join(d.work, '..')), []);
      assert.deepEqual(await readdir(d.work), ['build.json']);
    } finally {
      await writeFile(d.gate, '');
    }
    const { code, out } = await k.done;
    await rm(d.gate, { force: true });
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /Saving key for debug purposes/);
    assert.deepEqual(await privateKeyFiles(join(d.work, '..')), []);
    assert.deepEqual(await readdir(d.work), ['build.json']);
  });

  it('-debug on a terminal: a spot build pauses after every step (Enter typed at each), key saved then removed', async () => {
    const d = await dirs('tty');
    const tpl = template(d.gate) as { builders: Record<string, unknown>[]; provisioners: unknown[] };
    tpl.builders[0].spot_price = 'auto';
    tpl.provisioners = [{ type: 'shell', inline: ['true'] }];
    await writeFile(join(d.work, 'build.json'), JSON.stringify(tpl));
    const pem = join(d.work, 'ec2_amazon-ebs.pem');
    const seen: { where: string; step: string; pemMode?: number; before: string }[] = [];
    const { code, out } = await env.kilnOnTerminal(
      ['build', '-debug', '-color=false', 'build.json'],
      { cwd: d.work, env: { TMPDIR: d.tmp, HOME: d.home } },
      async ({ where, step, before }) => {
        const mode = await stat(pem).then(
          (st) => st.mode & 0o777,
          () => undefined,
        );
        seen.push({ where, step, pemMode: mode, before });
      },
    );
    assert.equal(code, 0, out);
    const afterRun = seen.filter((p) => p.where === 'after run of').map((p) => p.step);
    const beforeCleanup = seen.filter((p) => p.where === 'before cleanup of').map((p) => p.step);
    for (const step of [
      'StepKeyPair',
      'StepRunSpotInstance',
      'StepConnect',
      'StepStopEBSBackedInstance',
      'stepCreateAMI',
    ]) {
      assert.ok(afterRun.includes(step), `${step} not in ${afterRun.join(', ')}`);
    }
    assert.ok(!afterRun.includes('StepRunSourceInstance'), afterRun.join(', '));
    assert.deepEqual(beforeCleanup, [...afterRun].reverse());
    const at = (where: string, step: string) => seen.find((p) => p.where === where && p.step === step)!;
    // The key is on disk (0600) from StepKeyPair until StepKeyPair's own cleanup.
    assert.equal(at('after run of', 'StepKeyPair').pemMode, 0o600);
    assert.equal(at('before cleanup of', 'StepKeyPair').pemMode, 0o600);
    assert.equal(existsSync(pem), false, 'the debug key is removed at cleanup');
    // Each pause waits: the spot launch is done, the connection not yet tried; no stop at all.
    assert.match(at('after run of', 'StepRunSpotInstance').before, /Instance ID: i-[0-9a-f]+/);
    assert.doesNotMatch(
      at('after run of', 'StepRunSpotInstance').before,
      /Waiting for SSH to become available/,
    );
    assert.doesNotMatch(out, /Stopping the source instance/);
    assert.doesNotMatch(
      at('before cleanup of', 'StepRunSpotInstance').before,
      /Terminating the source AWS instance/,
    );
    assert.match(out, /Terminating the source AWS instance/);
  });
});
