/**
 * amazon-ebs and IAM against a real moto (which serves IAM on the same port as EC2) and a real
 * sshd playing the instance: the temporary instance profile of
 * `temporary_iam_instance_profile_policy_document` (B.6) exists and is attached to the instance
 * while provisioning runs, and is gone afterwards (also after a failing provisioner);
 * `iam_instance_profile` is checked with GetInstanceProfile; `kiln cleanup` removes the role and
 * profile a build left with -on-error=abort.
 *
 * kiln reaches moto's IAM as Packer 1.6.6 did: through custom_endpoint_ec2, which Packer set on the
 * whole session (AWS_ENDPOINT_URL_IAM would override it; credentials.test.ts uses that).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateInstanceProfileCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListInstanceProfilesCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import type { Artifact, Communicator, GeneratedData, PackerConfig, RawConfig } from '../../src/core/types.js';
import type { Ui } from '../../src/ui/ui.js';
import { prepareEbs } from '../../src/builders/amazon-ebs/config.js';
import { runEbs } from '../../src/builders/amazon-ebs/run.js';
import { amazonEnv } from '../env/amazon-env.js';
import { AWS_TEST_ENV, onlyEnv, runKiln } from '../env/kiln-cli.js';
import { engine, packerConfig, RecordingUi } from './helpers.js';

let api: EC2Client;
let iam: IAMClient;
const env = amazonEnv({
  processEnv: true,
  setUp() {
    // The test's own clients say who they are, so moto's call log tells their calls from kiln's.
    api = new EC2Client({ ...env.clientConfig('us-east-1'), customUserAgent: OBSERVER });
    iam = new IAMClient({ ...env.clientConfig('us-east-1'), customUserAgent: OBSERVER });
  },
});

const OBSERVER = 'kiln-test-observer';
const IAM_ACTIONS = [
  'CreateInstanceProfile',
  'GetInstanceProfile',
  'CreateRole',
  'GetRole',
  'PutRolePolicy',
  'AddRoleToInstanceProfile',
  'RemoveRoleFromInstanceProfile',
  'DeleteRolePolicy',
  'DeleteRole',
  'DeleteInstanceProfile',
  'GetRolePolicy',
];

const POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['*'] }],
};

/** What the provisioner saw of the instance's profile while the build ran. */
interface Seen {
  profileArn?: string;
  roles?: string[];
  policy?: unknown;
  roleTags?: Record<string, string>;
  profileTags?: Record<string, string>;
}

async function running(runId: string) {
  const out = await api.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:kiln-run-id', Values: [runId] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
    }),
  );
  return out.Reservations?.[0]?.Instances?.[0];
}

function tagsOf(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** Runs a build whose provisioner looks at the instance's profile through EC2 and IAM, then runs `command`. */
async function build(
  raw: RawConfig,
  command: string,
  pc: PackerConfig = packerConfig(),
): Promise<{ artifact?: Artifact; error?: Error; ui: RecordingUi; seen: Seen }> {
  const prep = prepareEbs([raw], pc, engine());
  const ui = new RecordingUi();
  const seen: Seen = {};
  const hook = {
    async run(u: Ui, comm: Communicator | undefined, _data: GeneratedData, signal: AbortSignal) {
      const i = await running(pc.runUuid);
      seen.profileArn = i?.IamInstanceProfile?.Arn;
      const name = seen.profileArn?.split('/').pop();
      if (name) {
        const p = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
        seen.roles = (p.InstanceProfile?.Roles ?? []).map((r) => r.RoleName ?? '');
        seen.profileTags = tagsOf(p.InstanceProfile?.Tags);
        const role = seen.roles[0];
        if (role) {
          seen.roleTags = tagsOf((await iam.send(new GetRoleCommand({ RoleName: role }))).Role?.Tags);
          const doc = await iam
            .send(new GetRolePolicyCommand({ RoleName: role, PolicyName: role }))
            .catch(() => undefined);
          if (doc?.PolicyDocument) seen.policy = JSON.parse(decodeURIComponent(doc.PolicyDocument));
        }
      }
      u.say(`Provisioning with shell script: ${command}`);
      const status = await comm!.start({ command }, signal);
      if (status !== 0)
        throw new Error(`Script exited with non-zero exit status: ${status}.Allowed exit codes are: [0]`);
    },
    async runCleanup() {},
  };
  try {
    const artifact = await runEbs(prep, pc, { ui, signal: new AbortController().signal, hook });
    return { artifact, ui, seen };
  } catch (err) {
    return { error: err as Error, ui, seen };
  }
}

function grab(text: string, re: RegExp): string {
  const m = re.exec(text);
  assert.ok(m, `no match for ${re} in:\n${text}`);
  return m[1];
}

/** The lines appear in this order (other lines may come between). */
function assertInOrder(text: string, lines: string[]): void {
  let at = 0;
  for (const l of lines) {
    const i = text.indexOf(l, at);
    assert.ok(i >= 0, `missing (in order) ${JSON.stringify(l)} in:\n${text}`);
    at = i + l.length;
  }
}

async function assertIamGone(name: string): Promise<void> {
  await assert.rejects(iam.send(new GetRoleCommand({ RoleName: name })), /NoSuchEntity|cannot be found/);
  await assert.rejects(
    iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })),
    /NoSuchEntity|not found/,
  );
  const roles = (await iam.send(new ListRolesCommand({}))).Roles ?? [];
  assert.deepEqual(
    roles.map((r) => r.RoleName).filter((n) => n === name),
    [],
  );
  const profiles = (await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? [];
  assert.deepEqual(
    profiles.map((p) => p.InstanceProfileName).filter((n) => n === name),
    [],
  );
}

describe('amazon-ebs temporary instance profile against moto', () => {
  it('creates the profile, role and policy, attaches them to the instance, and removes them', async () => {
    const pc = packerConfig();
    await env.moto.clearCalls();
    const { artifact, error, ui, seen } = await build(
      env.config({ temporary_iam_instance_profile_policy_document: POLICY }),
      'true',
      pc,
    );
    const text = ui.text();
    const kilnCalls = (await env.moto.calls())
      .filter((c) => c.ua.includes('aws-sdk-js') && !c.ua.includes(OBSERVER))
      .map((c) => c.action);
    assert.equal(error, undefined, `${error?.message}\n${text}`);
    assert.ok(artifact);
    const name = grab(
      text,
      /Creating temporary instance profile for this instance: (packer-[0-9a-f-]{36})\n/,
    );
    assertInOrder(text, [
      `==> Creating temporary instance profile for this instance: ${name}`,
      `==> Creating temporary role for this instance: ${name}`,
      `==> Attaching policy to the temporary role: ${name}`,
      '==> Launching a source AWS instance...',
      '==> Terminating the source AWS instance...',
      '==> Detaching temporary role from instance profile...',
      '==> Removing policy from temporary role...',
      '==> Deleting temporary role...',
      '==> Deleting temporary instance profile...',
      '==> Deleting temporary keypair...',
    ]);
    // While provisioning ran: the instance had the profile, the profile the role, the role the policy.
    assert.match(seen.profileArn ?? '', new RegExp(`:instance-profile/${name}$`));
    assert.deepEqual(seen.roles, [name]);
    assert.deepEqual(seen.policy, POLICY);
    assert.equal(seen.roleTags?.['kiln-run-id'], pc.runUuid);
    assert.equal(seen.profileTags?.['kiln-run-id'], pc.runUuid);
    // IAM: Packer's calls, one try each against moto (the waiters' first look finds the entity).
    assert.deepEqual(
      kilnCalls.filter((a) => IAM_ACTIONS.includes(a)),
      [
        'CreateInstanceProfile',
        'GetInstanceProfile',
        'CreateRole',
        'GetRole',
        'PutRolePolicy',
        'AddRoleToInstanceProfile',
        'RemoveRoleFromInstanceProfile',
        'DeleteRolePolicy',
        'DeleteRole',
        'DeleteInstanceProfile',
      ],
    );
    // EC2: the reference build's 18 calls; the profile costs no EC2 call.
    assert.equal(kilnCalls.filter((a) => !IAM_ACTIONS.includes(a)).length, 18, kilnCalls.join(' '));
    await assertIamGone(name);
  });

  it('removes the role, policy and profile after a failing provisioner', async () => {
    const { error, ui, seen } = await build(
      env.config({ temporary_iam_instance_profile_policy_document: POLICY }),
      'exit 3',
    );
    const text = ui.text();
    assert.match(error?.message ?? '', /Script exited with non-zero exit status: 3/);
    const name = grab(
      text,
      /Creating temporary instance profile for this instance: (packer-[0-9a-f-]{36})\n/,
    );
    assert.match(seen.profileArn ?? '', new RegExp(`:instance-profile/${name}$`));
    assertInOrder(text, [
      '==> Terminating the source AWS instance...',
      '==> Detaching temporary role from instance profile...',
      '==> Removing policy from temporary role...',
      '==> Deleting temporary role...',
      '==> Deleting temporary instance profile...',
    ]);
    assert.doesNotMatch(text, /Please delete the (role|instance profile) manually/);
    await assertIamGone(name);
  });
});

describe('amazon-ebs iam_instance_profile against moto', () => {
  it('stops before launching when GetInstanceProfile does not find the profile', async () => {
    const { error, ui } = await build(env.config({ iam_instance_profile: 'kiln-no-such-profile' }), 'true');
    assert.match(
      error?.message ?? '',
      /^Couldn't find specified instance profile: NoSuchEntity: .*kiln-no-such-profile.*\n\tstatus code: 404, request id: /s,
    );
    assert.doesNotMatch(ui.text(), /Launching a source AWS instance/);
    assert.match(ui.text(), /Deleting temporary keypair\.\.\./);
  });

  it('launches with an existing profile', async () => {
    const name = `kiln-test-profile-${Date.now()}`;
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
    const { error, ui, seen } = await build(env.config({ iam_instance_profile: name }), 'exit 0');
    assert.equal(error, undefined, `${error?.message}\n${ui.text()}`);
    assert.match(seen.profileArn ?? '', new RegExp(`:instance-profile/${name}$`));
    assert.doesNotMatch(ui.text(), /temporary (role|instance profile)/);
    // Not ours: it stays.
    await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
  });
});

describe('kiln cleanup and temporary IAM resources', () => {
  it('lists them with -on-error=abort, and kiln cleanup removes them with the instance', async () => {
    const pc = packerConfig({ onError: 'abort' });
    const { error, ui } = await build(
      env.config({ temporary_iam_instance_profile_policy_document: POLICY }),
      'exit 4',
      pc,
    );
    const text = ui.text();
    assert.match(error?.message ?? '', /Script exited with non-zero exit status: 4/);
    const name = grab(
      text,
      /Creating temporary instance profile for this instance: (packer-[0-9a-f-]{36})\n/,
    );
    assert.match(text, new RegExp(`\\n    instance profile ${name} \\(global\\)\\n`));
    assert.match(text, new RegExp(`\\n    role ${name} \\(global\\)\\n`));
    assert.doesNotMatch(text, /Deleting temporary role/);
    // Still there, attached to the still running instance.
    const p = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    assert.deepEqual(
      (p.InstanceProfile?.Roles ?? []).map((r) => r.RoleName),
      [name],
    );
    const r = await runKiln(
      [
        'cleanup',
        '-region=us-east-1',
        `-run-id=${pc.runUuid}`,
        '-older-than=0s',
        `-endpoint=${env.moto.endpoint}`,
      ],
      {
        timeoutMs: 120_000,
        env: onlyEnv({ PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...AWS_TEST_ENV }),
      },
    );
    assert.equal(r.code, 0, r.out);
    assert.match(r.stdout, new RegExp(`^Deleting instance i-[0-9a-f]+ \\(run ${pc.runUuid}`, 'm'));
    assert.match(
      r.stdout,
      new RegExp(`^IAM \\(global\\):\\nDeleting instance profile ${name} \\(run ${pc.runUuid}`, 'm'),
    );
    assert.match(r.stdout, new RegExp(`^Deleting role ${name} \\(run ${pc.runUuid}`, 'm'));
    await assertIamGone(name);
    assert.equal(await running(pc.runUuid), undefined);
  });
});
