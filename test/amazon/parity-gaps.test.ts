/**
 * Two small Packer 1.6.6 behaviours of amazon-ebs (issue #4):
 *
 * - `spot_tags` without a spot price: 1.6.6's run_config.go checks `c.SpotTags != nil`, so an empty
 *   `"spot_tags": {}` is refused too (checked with packer 1.6.6 on this machine: `packer validate`
 *   prints `spot_tags should not be set when not requesting a spot instance` for `{}`, nothing for
 *   `null`);
 * - `-debug` whose key file cannot be written: step_key_pair.go halts with
 *   `Error saving debug key: <os.Create's *PathError>`, e.g. `open ec2_amazon-ebs.pem: permission
 *   denied` in a working directory the user may not write to. The build runs as `nobody` (root may
 *   write anywhere) on a pseudo-terminal (-debug pauses answer only to a terminal) against moto.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeKeyPairsCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { goPathError } from '../../src/builders/amazon/common/steps/prepare-steps.js';
import { amazonEnv } from '../env/amazon-env.js';
import { AWS_TEST_ENV, runKilnOnTerminal } from '../env/kiln-cli.js';
import { prepareProblems } from './helpers.js';

const SPOT_TAGS = 'spot_tags should not be set when not requesting a spot instance';

function problems(over: Record<string, unknown>): string[] {
  const raw = {
    ami_name: 'kiln-gaps',
    region: 'us-east-1',
    source_ami: 'ami-12345678',
    instance_type: 't3.micro',
    ssh_username: 'ec2-user',
    ...over,
  };
  return prepareProblems(raw);
}

describe('spot_tags without a spot price (run_config.go: SpotTags != nil)', () => {
  it('an empty map is refused like a filled one', () => {
    assert.deepEqual(problems({ spot_tags: {} }), [SPOT_TAGS]);
    assert.deepEqual(problems({ spot_price: '0', spot_tags: {} }), [SPOT_TAGS]);
    assert.deepEqual(problems({ spot_tags: { a: 'b' } }), [SPOT_TAGS]);
  });

  it('null or absent spot_tags, or any spot price, pass', () => {
    assert.deepEqual(problems({ spot_tags: null }), []);
    assert.deepEqual(problems({}), []);
    assert.deepEqual(problems({ spot_price: 'auto', spot_tags: {} }), []);
  });
});

describe("Go's *PathError text for the debug key file", () => {
  it('names the operation, the path and the errno as Go prints them', () => {
    const e = (code: string) => Object.assign(new Error(`${code}: node text`), { code });
    assert.equal(goPathError('open', 'ec2_x.pem', e('EACCES')), 'open ec2_x.pem: permission denied');
    assert.equal(goPathError('open', 'ec2_x.pem', e('EROFS')), 'open ec2_x.pem: read-only file system');
    assert.equal(goPathError('open', 'ec2_x.pem', e('EISDIR')), 'open ec2_x.pem: is a directory');
    assert.equal(
      goPathError('remove', 'ec2_x.pem', e('ENOENT')),
      'remove ec2_x.pem: no such file or directory',
    );
    assert.equal(goPathError('open', 'ec2_x.pem', e('EWHATEVER')), 'open ec2_x.pem: EWHATEVER: node text');
  });
});

describe('-debug in a working directory the user may not write to', () => {
  // Searchable by `nobody`, who runs the build below.
  const env = amazonEnv({ dir: 'kiln-debugkey-', setUp: () => chmod(env.dir, 0o755) });

  it("fails with Packer's `Error saving debug key: open ec2_amazon-ebs.pem: permission denied`, exit 1, key pair and group removed", async () => {
    const work = join(env.dir, 'work');
    const home = join(env.dir, 'home');
    for (const d of [work, home]) await rm(d, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(work), fs.mkdir(home)]));
    await chmod(home, 0o777);
    await writeFile(
      join(work, 'build.json'),
      JSON.stringify({
        builders: [
          {
            type: 'amazon-ebs',
            region: 'us-east-1',
            custom_endpoint_ec2: env.moto.endpoint,
            source_ami: env.moto.seed.source_ami,
            subnet_id: env.moto.seed.most_free_subnet,
            instance_type: 't3.micro',
            ssh_username: 'u',
            ami_name: 'kiln-debug-key-{{timestamp}}',
          },
        ],
      }),
    );
    // Readable and searchable by everyone, writable by root only: `nobody` cannot create the key.
    await chmod(work, 0o555);
    // As `nobody` on a pseudo-terminal (-debug pauses answer only there), Enter typed at each pause.
    const r = await runKilnOnTerminal(
      ['build', '-debug', '-color=false', 'build.json'],
      {
        cwd: work,
        env: { ...AWS_TEST_ENV, HOME: home, TMPDIR: home },
        prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
        timeoutMs: 120_000,
      },
      async () => undefined,
    );
    assert.equal(r.code, 1, r.out);
    assert.deepEqual(
      r.pauses.filter((p) => p.where === 'after run of').map((p) => p.step),
      ['StepPreValidate', 'StepSourceAMIInfo', 'StepNetworkInfo'],
    );
    assert.match(r.out, /\n {4}amazon-ebs: Saving key for debug purposes: ec2_amazon-ebs\.pem\n/);
    assert.match(
      r.out,
      /\nBuild 'amazon-ebs' errored after [^:\n]+: Error saving debug key: open ec2_amazon-ebs\.pem: permission denied\n/,
    );
    assert.match(r.out, /==> amazon-ebs: Deleting temporary keypair\.\.\./);
    // No file was written, so none is removed (and no error about removing it).
    assert.doesNotMatch(r.out, /Error removing debug key/);
    assert.doesNotMatch(r.out, /\n\s+at .+\(.+:\d+:\d+\)/, 'no stack trace');
    assert.deepEqual(await readdir(work), ['build.json']);
    assert.deepEqual((await env.ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [], []);
    const groups = (await env.ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    assert.deepEqual(
      groups.filter((g) => g.GroupName?.startsWith('packer_')),
      [],
    );
  });
});
