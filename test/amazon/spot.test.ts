/**
 * amazon-ebs spot builds (spec §B.8s): the validation messages of §A, the launch template data,
 * and whole builds against moto (CreateLaunchTemplate + instant CreateFleet, spot tags on the spot
 * request, no stop before CreateImage, the template deleted at cleanup or left and listed with
 * -on-error=abort).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSpotInstanceRequestsCommand,
  DescribeVolumesCommand,
} from '@aws-sdk/client-ec2';
import { prepareEbs } from '../../src/builders/amazon-ebs/config.js';
import type { AmazonState } from '../../src/builders/amazon/common/state.js';
import { ConfigError } from '../../src/util/errors.js';
import {
  isSpot,
  launchTemplateName,
  spotTemplateData,
} from '../../src/builders/amazon/common/steps/spot-steps.js';
import { amazonEnv } from '../env/amazon-env.js';
import { startEc2Proxy } from '../env/ec2-proxy.js';
import { packerConfig, runBuild, tagMap } from './helpers.js';

function grab(text: string, re: RegExp): string {
  const m = re.exec(text);
  assert.ok(m, `no match for ${re} in:\n${text}`);
  return m[1];
}

/** A config that passes prepare on its own (no moto needed). */
function plain(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ami_name: 'kiln-spot-unit',
    region: 'us-east-1',
    source_ami: 'ami-12345678',
    instance_type: 't3.micro',
    ssh_username: 'ec2-user',
    ...over,
  };
}

function problems(raw: Record<string, unknown>): string[] {
  try {
    prepareEbs([raw], packerConfig());
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
}

describe('amazon-ebs spot configuration', () => {
  it('spot_price "" and "0" are on-demand; "auto" and a price are spot', () => {
    assert.equal(isSpot({ spot_price: '' }), false);
    assert.equal(isSpot({ spot_price: '0' }), false);
    assert.equal(isSpot({ spot_price: 'auto' }), true);
    assert.equal(isSpot({ spot_price: '0.05' }), true);
    assert.match(launchTemplateName(), /^packer-fleet-launch-template-[0-9A-Za-z]{7}$/);
  });

  it('reports the spot validation messages of Packer', () => {
    assert.deepEqual(problems(plain({ spot_tags: { a: 'b' } })), [
      'spot_tags should not be set when not requesting a spot instance',
    ]);
    assert.deepEqual(problems(plain({ spot_price: '0', spot_tags: { a: 'b' } })), [
      'spot_tags should not be set when not requesting a spot instance',
    ]);
    assert.deepEqual(problems(plain({ spot_price: 'auto', spot_tags: { a: 'b' } })), []);
    assert.deepEqual(problems(plain({ spot_price: 'auto', spot_instance_types: ['t3.small'] })), [
      'either instance_type or spot_instance_types must be specified, not both',
    ]);
    assert.deepEqual(
      problems(plain({ instance_type: '', spot_price: 'auto', spot_instance_types: ['t3.small'] })),
      [],
    );
    assert.deepEqual(problems(plain({ spot_price: 'auto', block_duration_minutes: 90 })), [
      'block_duration_minutes must be multiple of 60',
    ]);
    const noModify =
      'Spot instances do not support modification, which is required when either `ena_support` or `sriov_support` are set. Please ensure you use an AMI that already has either SR-IOV or ENA enabled.';
    assert.deepEqual(problems(plain({ spot_price: '0.1', ena_support: true })), [noModify]);
    assert.deepEqual(problems(plain({ spot_price: '0.1', sriov_support: true })), [noModify]);
    assert.deepEqual(problems(plain({ spot_price: '0', ena_support: true })), []);
    assert.deepEqual(
      problems(plain({ spot_price: 'auto', instance_type: 't2.micro', enable_t2_unlimited: true })),
      ['Error: T2 Unlimited cannot be used in conjuction with Spot Instances'],
    );
    // 1.6.6's quirks kept: "0" (on-demand) still counts as spot here; no instance type has no '.'.
    assert.deepEqual(
      problems(plain({ spot_price: '0', instance_type: 't2.micro', enable_t2_unlimited: true })),
      ['Error: T2 Unlimited cannot be used in conjuction with Spot Instances'],
    );
    assert.deepEqual(
      problems(
        plain({
          spot_price: 'auto',
          instance_type: '',
          spot_instance_types: ['t2.small'],
          enable_t2_unlimited: true,
        }),
      ),
      [
        'Error: T2 Unlimited cannot be used in conjuction with Spot Instances',
        'Error determining main Instance Type from: ',
      ],
    );
    assert.deepEqual(problems(plain({ instance_type: 't2.micro', enable_t2_unlimited: true })), []);
    assert.deepEqual(problems(plain({ instance_type: 't3.micro', enable_t2_unlimited: true })), [
      'Error: T2 Unlimited enabled with a non-T2 Instance Type: t3.micro',
    ]);
  });

  it('launch template data: spot options, overrides-free instance type, network, tags with the run id', () => {
    const prep = prepareEbs(
      [
        plain({
          spot_price: 'auto',
          instance_type: '',
          spot_instance_types: ['t3.small', 't3.medium'],
          block_duration_minutes: 120,
          associate_public_ip_address: true,
          launch_block_device_mappings: [
            { device_name: '/dev/xvdb', volume_size: 8, delete_on_termination: true },
          ],
        }),
      ],
      packerConfig(),
    );
    const state = {
      config: prep.config,
      runId: 'run-1',
      sourceImage: { ImageId: 'ami-12345678' },
      subnetId: 'subnet-1',
      securityGroupIds: ['sg-1'],
      availabilityZone: 'us-east-1a',
      instanceProfile: '',
      keyPairName: 'packer_x',
    } as unknown as AmazonState;
    const d = spotTemplateData(state, 'aGk=', [['Name', 'Packer Builder']], []);
    assert.deepEqual(d.InstanceMarketOptions, {
      MarketType: 'spot',
      SpotOptions: { BlockDurationMinutes: 120 },
    });
    assert.equal(d.InstanceType, undefined);
    assert.equal(d.KeyName, 'packer_x');
    assert.equal(d.UserData, 'aGk=');
    assert.equal(d.IamInstanceProfile, undefined);
    assert.deepEqual(d.Placement, { AvailabilityZone: 'us-east-1a' });
    assert.deepEqual(d.NetworkInterfaces, [
      {
        DeviceIndex: 0,
        SubnetId: 'subnet-1',
        Groups: ['sg-1'],
        DeleteOnTermination: true,
        AssociatePublicIpAddress: true,
      },
    ]);
    assert.equal(d.SecurityGroupIds, undefined);
    assert.deepEqual(d.BlockDeviceMappings, [
      { DeviceName: '/dev/xvdb', Ebs: { DeleteOnTermination: true, VolumeSize: 8 } },
    ]);
    assert.deepEqual(d.TagSpecifications, [
      {
        ResourceType: 'instance',
        Tags: [
          { Key: 'Name', Value: 'Packer Builder' },
          { Key: 'kiln-run-id', Value: 'run-1' },
        ],
      },
      { ResourceType: 'volume', Tags: [{ Key: 'kiln-run-id', Value: 'run-1' }] },
    ]);
    const priced = spotTemplateData(
      { ...state, config: { ...prep.config, spot_price: '0.0420', block_duration_minutes: 0 }, subnetId: '' },
      '',
      [],
      [],
    );
    assert.deepEqual(priced.InstanceMarketOptions?.SpotOptions, { MaxPrice: '0.0420' });
    assert.deepEqual(priced.SecurityGroupIds, ['sg-1']);
    assert.equal(priced.NetworkInterfaces, undefined);
    assert.equal(priced.UserData, undefined);
  });
});

describe('amazon-ebs spot builds against moto', () => {
  const env = amazonEnv({ processEnv: true });

  async function templates(name: string) {
    return (
      (
        await env.ec2.send(
          new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'launch-template-name', Values: [name] }] }),
        )
      ).LaunchTemplates ?? []
    );
  }

  it('builds from an instant fleet: spot request tagged, no stop, template and instance removed', async () => {
    const m = env.moto;
    const raw = env.config({
      instance_type: '',
      spot_price: 'auto',
      spot_instance_types: ['t4g.medium', 't4g.large'],
      spot_tags: { Purpose: 'spot in {{ .BuildRegion }}' },
      run_tags: { Owner: 'kiln' },
    });
    await m.clearCalls();
    const pc = packerConfig();
    const { artifact, error, ui } = await runBuild(raw, ['true'], pc);
    const text = ui.text();
    assert.equal(error, undefined, `${error?.message}\n${text}`);
    const ami = grab(artifact?.toString() ?? '', /us-east-1: (ami-[0-9a-f]+)/);
    for (const line of [
      '==> Launching a spot AWS instance...',
      '==> Interpolating tags for spot instance...',
      '    Adding tag: "Owner": "kiln"',
      '    Adding tag: "Name": "Packer Builder"',
      '    Loading User Data File...',
      '    Creating Spot Fleet launch template...',
      '    Adding tag: "Purpose": "spot in us-east-1"',
      '==> Terminating the source AWS instance...',
    ]) {
      assert.ok(ui.lines.includes(line), `missing ${JSON.stringify(line)} in:\n${text}`);
    }
    assert.ok(!text.includes('Stopping the source instance'), text);
    assert.ok(!text.includes('Waiting for the instance to stop'), text);
    assert.ok(!text.includes('Launching a source AWS instance'), text);

    const calls = await m.sdkCalls();
    // 20 calls (19 without spot_tags). DescribeVolumes only because moto's fleet ignores the
    // template's block devices: the root volume is /dev/sda1, not the /dev/xvda of the mappings.
    assert.deepEqual(calls, [
      'DescribeRegions',
      'DescribeImages',
      'DescribeImages',
      'DescribeVpcs',
      'DescribeSubnets',
      'CreateKeyPair',
      'DescribeSecurityGroups',
      'CreateLaunchTemplate',
      'CreateFleet',
      'DescribeInstances',
      'CreateTags',
      'CreateImage',
      'DescribeImages',
      'CreateTags',
      'DeleteTags',
      'TerminateInstances',
      'DescribeInstances',
      'DeleteLaunchTemplate',
      'DescribeVolumes',
      'DeleteKeyPair',
    ]);
    assert.ok(!calls.includes('RunInstances'), calls.join(' '));
    assert.ok(!calls.includes('StopInstances'), calls.join(' '));
    for (const c of ['CreateLaunchTemplate', 'CreateFleet', 'DeleteLaunchTemplate']) {
      assert.equal(calls.filter((x) => x === c).length, 1, `${c}: ${calls.join(' ')}`);
    }

    const instanceId = grab(text, /Instance ID: (i-[0-9a-f]+)/);
    const i = (await env.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })))
      .Reservations?.[0]?.Instances?.[0];
    assert.equal(i?.State?.Name, 'terminated');
    assert.ok(['t4g.medium', 't4g.large'].includes(i?.InstanceType ?? ''), i?.InstanceType);
    const itags = tagMap(i?.Tags);
    assert.equal(itags.Name, 'Packer Builder');
    assert.equal(itags.Owner, 'kiln');
    assert.equal(itags['kiln-run-id'], pc.runUuid);

    const sir = i?.SpotInstanceRequestId ?? '';
    assert.match(sir, /^sir-/);
    const req = (
      await env.ec2.send(new DescribeSpotInstanceRequestsCommand({ SpotInstanceRequestIds: [sir] }))
    ).SpotInstanceRequests?.[0];
    assert.equal(tagMap(req?.Tags).Purpose, 'spot in us-east-1');

    // (Packer prints no template name; the run id tag finds it.)
    const all = (await env.ec2.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
    assert.deepEqual(
      all.filter((t) => tagMap(t.Tags)['kiln-run-id'] === pc.runUuid),
      [],
    );
    const img = (await env.ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    assert.equal(img?.State, 'available');
    const vols = await env.ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'tag:kiln-run-id', Values: [pc.runUuid] }] }),
    );
    assert.deepEqual(
      (vols.Volumes ?? []).map((v) => v.VolumeId),
      [],
    );
    assert.ok(!text.includes('Temporary resources left behind'), text);
  });

  it('a CreateFleet that fails fails the build with the AWS error and deletes the launch template', async () => {
    const m = env.moto;
    const proxy = await startEc2Proxy(m.endpoint, ({ action }) =>
      action === 'CreateFleet'
        ? {
            status: 400,
            code: 'InvalidSpotPrice',
            message: 'Your maximum price is below the current Spot price',
          }
        : 'pass',
    );
    const pc = packerConfig();
    let outcome;
    try {
      outcome = await runBuild(
        env.config({
          spot_price: '0.0001',
          custom_endpoint_ec2: proxy.endpoint,
        }),
        ['true'],
        pc,
      );
    } finally {
      await proxy.stop();
    }
    const text = outcome.ui.text();
    assert.match(
      outcome.error?.message ?? '',
      /^InvalidSpotPrice: Your maximum price is below the current Spot price\n\tstatus code: 400/,
      text,
    );
    assert.deepEqual(
      proxy
        .log()
        .filter((e) => e.action === 'CreateFleet')
        .map((e) => e.outcome),
      ['error:InvalidSpotPrice'],
    );
    assert.ok(!text.includes('Instance ID:'), text);
    assert.ok(!text.includes('Terminating the source AWS instance'), text);
    assert.ok(
      proxy.log().some((e) => e.action === 'DeleteLaunchTemplate' && e.status === 200),
      text,
    );
    const all = (await env.ec2.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
    assert.deepEqual(
      all.filter((t) => tagMap(t.Tags)['kiln-run-id'] === pc.runUuid),
      [],
    );
    assert.ok(!text.includes('Temporary resources left behind'), text);
  });

  it('-on-error=abort leaves the tagged launch template and lists it; cleanup mode deletes it', async () => {
    const m = env.moto;
    const raw = env.config({ spot_price: '0.05', spot_tags: { Team: 'img' } });
    const pc = packerConfig({ onError: 'abort' });
    const aborted = await runBuild(raw, ['exit 5'], pc);
    const text = aborted.ui.text();
    assert.match(aborted.error?.message ?? '', /exit status: 5/);
    const name = grab(text, /launch template (packer-fleet-launch-template-[0-9A-Za-z]{7}) \(us-east-1\)/);
    const [tpl] = await templates(name);
    assert.ok(tpl, `template ${name} is gone:\n${text}`);
    assert.equal(tagMap(tpl.Tags)['kiln-run-id'], pc.runUuid);
    assert.equal(tagMap(tpl.Tags).Team, 'img');
    const instanceId = grab(text, /Instance ID: (i-[0-9a-f]+)/);
    assert.ok(aborted.ui.lines.includes(`    instance ${instanceId} (us-east-1)`), text);

    // `kiln cleanup` finds the run's template by its tag and deletes it (instances first).
    const swept = await env.kiln(
      ['cleanup', '-region=us-east-1', `-run-id=${pc.runUuid}`, '-older-than=0s', `-endpoint=${m.endpoint}`],
      { env: { HOME: '/nonexistent' }, timeoutMs: 120_000 },
    );
    assert.equal(swept.code, 0, swept.out);
    assert.match(swept.out, new RegExp(`Deleting launch template ${name} \\(run ${pc.runUuid}`));
    assert.match(swept.out, new RegExp(`Deleting instance ${instanceId} `));
    assert.deepEqual(await templates(name), []);

    // Through a proxy that answers the first two CreateFleet calls like IAM not yet propagated:
    // the fleet is retried, then the build goes on (to a failing provisioner).
    const proxy = await startEc2Proxy(m.endpoint, ({ action, nth }) =>
      action === 'CreateFleet' && nth <= 2
        ? {
            status: 400,
            code: 'InvalidParameterValue',
            message:
              'Value (packer-x) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
          }
        : 'pass',
    );
    let failed;
    try {
      failed = await runBuild(
        env.config({
          spot_price: '0.05',
          ami_name: `${String(raw.ami_name)}-b`,
          custom_endpoint_ec2: proxy.endpoint,
        }),
        ['exit 6'],
      );
    } finally {
      await proxy.stop();
    }
    const t2 = failed.ui.text();
    assert.match(failed.error?.message ?? '', /exit status: 6/);
    assert.deepEqual(
      proxy
        .log()
        .filter((e) => e.action === 'CreateFleet')
        .map((e) => e.outcome),
      ['error:InvalidParameterValue', 'error:InvalidParameterValue', 'pass'],
    );
    // The aborted run's template went with `kiln cleanup`; this run removed its own.
    const left = (await env.ec2.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
    assert.deepEqual(left, []);
    const i2 = grab(t2, /Instance ID: (i-[0-9a-f]+)/);
    const i = (await env.ec2.send(new DescribeInstancesCommand({ InstanceIds: [i2] }))).Reservations?.[0]
      ?.Instances?.[0];
    assert.equal(i?.State?.Name, 'terminated');
    assert.ok(!t2.includes('Temporary resources left behind'), t2);
  });
});
