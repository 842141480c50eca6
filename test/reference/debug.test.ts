/**
 * `kiln build -debug` on the reference-like template (examples/aws-ami: amazon-ebs through a bastion
 * with agent auth, shell, then ansible with a vaulted inventory), changed only where the environment
 * needs it (EC2 endpoint, ssh_host/port, bastion host/port, instance user), against the project's own
 * moto, instance sshd, bastion and ssh-agent. The test answers every pause with Enter, as a user at
 * the terminal would, and while kiln is paused after connecting it uses the temporary key kiln saved
 * (ec2_<build name>.pem, mode 0600) to log in to the instance through the bastion with OpenSSH.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeImagesCommand, DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import { amazonEnv } from '../env/amazon-env.js';
import { ROOT, type OnPause } from '../env/kiln-cli.js';
import { tagMap } from '../amazon/helpers.js';

const run = promisify(execFile);

const env = amazonEnv({
  dir: 'kiln-ref-debug-',
  async setUp() {
    await cp(join(ROOT, 'examples', 'aws-ami'), env.dir, { recursive: true });
    await rm(join(env.dir, 'manifest.json'), { force: true });
  },
});

describe('kiln build -debug on the reference template', () => {
  it('pauses after every step and before every cleanup, saves the temporary key, builds the AMI', async () => {
    const pem = join(env.dir, 'ec2_amazon-ebs.pem');
    let loggedIn = '';
    const onPause: OnPause = async (p) => {
      if (p.where === 'after run of' && p.step === 'StepKeyPair') {
        // Saved for the user, Packer's name and mode, before the instance is launched.
        assert.match(p.before, /Saving key for debug purposes: ec2_amazon-ebs\.pem\n/);
        assert.equal((await stat(pem)).mode & 0o777, 0o600);
        assert.match(await readFile(pem, 'utf8'), /^-----BEGIN (RSA|OPENSSH) PRIVATE KEY-----/);
        assert.doesNotMatch(p.before, /Launching a source AWS instance/);
      }
      if (p.where === 'after run of' && p.step === 'StepConnect') {
        const before = p.now();
        // What -debug is for: log in to the instance with the saved key, through the bastion.
        const jump = `ssh -F none -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p ${env.inst.bastion.port} -W %h:%p ${env.inst.bastion.user}@127.0.0.1`;
        const r = await run(
          'ssh',
          [
            '-F',
            'none',
            '-i',
            pem,
            '-o',
            'IdentitiesOnly=yes',
            '-o',
            'BatchMode=yes',
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
            '-o',
            `ProxyCommand=${jump}`,
            '-p',
            String(env.inst.port),
            `${env.inst.user}@127.0.0.1`,
            'echo "inspecting as $(id -un)"',
          ],
          { env: { ...process.env, SSH_AUTH_SOCK: env.inst.agentSock }, timeout: 30_000 },
        );
        loggedIn = r.stdout.trim();
        // kiln is still waiting: nothing of the next steps was printed meanwhile.
        assert.doesNotMatch(p.before, /Provisioning with shell script/);
        assert.equal(p.now(), before);
      }
    };
    const { code, out, pauses } = await env.kilnOnTerminal(
      [
        'build',
        '-debug',
        '-color=false',
        '-var',
        `ec2_endpoint=${env.moto.endpoint}`,
        '-var',
        `instance_user=${env.inst.user}`,
        '-var',
        'ssh_host=127.0.0.1',
        '-var',
        `ssh_port=${env.inst.port}`,
        '-var',
        'bastion_host=127.0.0.1',
        '-var',
        `bastion_port=${env.inst.bastion.port}`,
        'config.json',
      ],
      {
        cwd: env.dir,
        // The template reads these from the environment (the fake AWS keys and the agent come with env.kilnOnTerminal).
        env: {
          env_name: 'dev',
          kms_key_id: env.moto.seed.kms_key_id,
          SG_DEFAULT: env.moto.seed.security_group_id,
          USER: env.inst.bastion.user,
        },
      },
      onPause,
    );
    assert.equal(code, 0, out);
    assert.match(out, /Debug mode enabled\. Builds will not be parallelized\./);
    assert.equal(loggedIn, `inspecting as ${env.inst.user}`, out);

    // A pause after each step, in order, then one before each cleanup, in reverse order.
    const afterRun = pauses.filter((p) => p.where === 'after run of').map((p) => p.step);
    const beforeCleanup = pauses.filter((p) => p.where === 'before cleanup of').map((p) => p.step);
    assert.deepEqual(beforeCleanup, [...afterRun].reverse());
    const order = [
      'StepSourceAMIInfo',
      'StepKeyPair',
      'StepRunSourceInstance',
      'StepConnect',
      'StepProvision',
      'StepCleanupTempKeys',
      'StepCreateTags',
    ];
    const at = order.map((s) => afterRun.indexOf(s));
    assert.ok(
      at.every((i, n) => i >= 0 && (n === 0 || i > at[n - 1])),
      afterRun.join(', '),
    );
    // Each pause comes after its step's work and before the next step's.
    const pauseAfter = (s: string) => pauses.find((p) => p.where === 'after run of' && p.step === s)!.before;
    assert.match(pauseAfter('StepRunSourceInstance'), /Instance ID: i-[0-9a-f]+/);
    assert.doesNotMatch(pauseAfter('StepRunSourceInstance'), /Waiting for SSH to become available/);
    assert.match(pauseAfter('StepProvision'), /PLAY RECAP/);
    assert.doesNotMatch(pauseAfter('StepProvision'), /Trying to remove ephemeral keys/);
    assert.doesNotMatch(pauseAfter('StepCleanupTempKeys'), /Stopping the source instance/);
    // -debug also pauses before each provisioner: before the shell one, then between shell and ansible.
    const prov = pauses.filter((p) => p.where === 'before the next provisioner');
    assert.equal(prov.length, 2, out);
    assert.doesNotMatch(prov[0].before, /Provisioning with shell script/);
    assert.match(prov[1].before, /building on .* as /);
    assert.doesNotMatch(prov[1].before, /Provisioning with Ansible/);
    const cleanupKeyPair = pauses.find((p) => p.where === 'before cleanup of' && p.step === 'StepKeyPair')!;
    assert.doesNotMatch(cleanupKeyPair.before, /Deleting temporary keypair/);

    // The build completed: the AMI with its tags, the debug key removed with the key pair.
    const ami = /--> amazon-ebs: AMIs were created:\nus-east-1: (ami-[0-9a-f]+)/.exec(out)?.[1];
    assert.ok(ami, out);
    const img = (await env.ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available');
    const tags = tagMap(img?.Tags);
    assert.equal(tags.Environment, 'dev');
    assert.equal(tags.Name, img?.Name);
    assert.equal(tags.SourceAMI, env.moto.seed.source_ami);
    assert.equal(existsSync(pem), false, 'the debug key is removed at cleanup');
    const keyName = /Creating temporary keypair: (\S+)/.exec(out)?.[1] ?? '';
    await assert.rejects(
      env.ec2.send(new DescribeKeyPairsCommand({ KeyNames: [keyName] })),
      /NotFound|does not exist/,
    );
    const manifest = JSON.parse(await readFile(join(env.dir, 'manifest.json'), 'utf8')) as {
      builds: { artifact_id: string }[];
    };
    assert.equal(manifest.builds[0].artifact_id, `us-east-1:${ami}`);
  });
});
