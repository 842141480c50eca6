/**
 * Spot builds (spec §B.8s): instead of RunInstances, a launch template carrying the spot market
 * options and an instant EC2 Fleet of one instance launched from it; cleanup terminates the
 * instance and deletes the template. No "running" waiter (the SSH wait covers it) and no stop
 * before CreateImage (§B.15b, quirk H.8).
 *
 * Deviation from 1.6.6 (docs/compatibility.md): the run tags, run volume tags and the kiln-run-id
 * tag go into the launch template's tag specifications, so AWS tags the instance and its volumes
 * as it launches them; 1.6.6 launched untagged and called CreateTags afterwards.
 */
import type {
  Instance,
  LaunchTemplateBlockDeviceMappingRequest,
  LaunchTemplateTagSpecificationRequest,
  RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { randomInt, randomUUID } from 'node:crypto';
import type { Step } from '../../../../core/runner/step.js';
import { awsErrorCode, awsErrorText } from '../aws.js';
import { attemptsOf, mayHaveHappened } from '../retry.js';
import { addLeftover, dropLeftover, echoTags, renderTags, RUN_ID_TAG, type AmazonState } from '../state.js';
import { retry } from '../waiters.js';
import {
  readUserData,
  sshHost,
  stepRunSourceInstance,
  toMapping,
  toTags,
  userDataBase64,
} from './instance-steps.js';

type S = AmazonState;

/** `spot_price` "" or "0" means on-demand; anything else ("auto" or a maximum price) a spot build. */
export function isSpot(c: { spot_price: string }): boolean {
  return c.spot_price !== '' && c.spot_price !== '0';
}

const ALNUM = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `packer-fleet-launch-template-` + 7 random alphanumerics (unique per build in the account). */
export function launchTemplateName(): string {
  let s = '';
  for (let i = 0; i < 7; i++) s += ALNUM[randomInt(ALNUM.length)];
  return `packer-fleet-launch-template-${s}`;
}

const IAM_PROPAGATION = 'Invalid IAM Instance Profile name';

/** DeleteLaunchTemplate's answers for a template that is not there (gone already). */
const TEMPLATE_GONE = ['InvalidLaunchTemplateName.NotFoundException', 'InvalidLaunchTemplateId.NotFound'];

/**
 * Records (for cleanup) the instance of this run a CreateFleet made although its answer was lost:
 * the launch template tags it with the run id.
 */
async function findFleetInstance(state: S): Promise<void> {
  const { client, sdk } = state.ec2;
  try {
    const out = await client.send(
      new sdk.DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${RUN_ID_TAG}`, Values: [state.runId] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    );
    const inst = out.Reservations?.flatMap((r) => r.Instances ?? [])[0];
    if (!inst?.InstanceId) return;
    state.instanceId = inst.InstanceId;
    state.instance = inst;
    state.launchVolumes = [];
    addLeftover(state, { kind: 'instance', id: inst.InstanceId, region: state.ec2.region });
  } catch {
    /* the launch error is what matters; the run tag still lets `kiln cleanup` find it */
  }
}

/** A CreateFleet answer without an instance, as an error the retry loop can judge. */
class FleetError extends Error {
  constructor(
    readonly fleetId: string,
    readonly messages: string[],
  ) {
    super(`errors: ${messages.join(' ')}`);
  }
}

/** The launch template's data (§B.8s): the settings RunInstances would get, plus the spot options. */
export function spotTemplateData(
  state: S,
  userData: string,
  instanceTags: [string, string][],
  volumeTags: [string, string][],
): RequestLaunchTemplateData {
  const c = state.config;
  const mappings: LaunchTemplateBlockDeviceMappingRequest[] = c.launch_block_device_mappings.map(
    (b) => toMapping(b) as LaunchTemplateBlockDeviceMappingRequest,
  );
  if (c.no_ephemeral) {
    for (let ch = 'a'.charCodeAt(0); ch <= 'z'.charCodeAt(0); ch++) {
      mappings.push({ DeviceName: `xvdc${String.fromCharCode(ch)}`, NoDevice: '' });
    }
  }
  const runId: [string, string] = [RUN_ID_TAG, state.runId];
  const tagSpecs: LaunchTemplateTagSpecificationRequest[] = [
    { ResourceType: 'instance', Tags: toTags([...instanceTags, runId]) },
    { ResourceType: 'volume', Tags: toTags([...volumeTags, runId]) },
  ];
  const mo = c.metadata_options;
  return {
    ImageId: state.sourceImage?.ImageId,
    ...(c.instance_type !== '' ? { InstanceType: c.instance_type as never } : {}),
    InstanceMarketOptions: {
      MarketType: 'spot',
      SpotOptions: {
        // "auto": no maximum (AWS caps the price at the on-demand price).
        ...(c.spot_price !== 'auto' ? { MaxPrice: c.spot_price } : {}),
        ...(c.block_duration_minutes !== 0 ? { BlockDurationMinutes: c.block_duration_minutes } : {}),
      },
    },
    ...(mappings.length > 0 ? { BlockDeviceMappings: mappings } : {}),
    DisableApiTermination: false,
    EbsOptimized: c.ebs_optimized,
    ...(state.instanceProfile !== '' ? { IamInstanceProfile: { Name: state.instanceProfile } } : {}),
    ...(state.availabilityZone !== '' || c.tenancy !== ''
      ? {
          Placement: {
            ...(state.availabilityZone !== '' ? { AvailabilityZone: state.availabilityZone } : {}),
            ...(c.tenancy !== '' ? { Tenancy: c.tenancy as never } : {}),
          },
        }
      : {}),
    ...(userData !== '' ? { UserData: userData } : {}),
    ...(state.keyPairName !== '' ? { KeyName: state.keyPairName } : {}),
    ...(state.subnetId !== ''
      ? {
          NetworkInterfaces: [
            {
              DeviceIndex: 0,
              SubnetId: state.subnetId,
              Groups: state.securityGroupIds,
              DeleteOnTermination: true,
              ...(c.associate_public_ip_address ? { AssociatePublicIpAddress: true } : {}),
            },
          ],
        }
      : state.securityGroupIds.length > 0
        ? { SecurityGroupIds: state.securityGroupIds }
        : {}),
    ...(mo
      ? {
          MetadataOptions: {
            ...(mo.http_endpoint ? { HttpEndpoint: mo.http_endpoint as never } : {}),
            ...(mo.http_tokens ? { HttpTokens: mo.http_tokens as never } : {}),
            ...(mo.http_put_response_hop_limit
              ? { HttpPutResponseHopLimit: mo.http_put_response_hop_limit }
              : {}),
            ...(mo.instance_metadata_tags
              ? { InstanceMetadataTags: mo.instance_metadata_tags as never }
              : {}),
          },
        }
      : {}),
    TagSpecifications: tagSpecs,
  };
}

/** StepRunSpotInstance. A factory: the template name belongs to one run. */
export function stepRunSpotInstance(): Step<S> {
  let template = '';
  return {
    name: 'StepRunSpotInstance',
    async run(state, { ui, signal }) {
      const c = state.config;
      const { client, sdk } = state.ec2;
      ui.say('Launching a spot AWS instance...'); // parity:
      const image = state.sourceImage;
      if (image?.RootDeviceType !== 'ebs') {
        throw new Error(
          `The provided source AMI has an invalid root device type.\nExpected 'ebs', got '${image?.RootDeviceType ?? ''}'.`,
        ); // parity:
      }
      ui.say('Interpolating tags for spot instance...'); // parity:
      const runTags = { ...c.run_tags };
      if (!('Name' in runTags)) runTags.Name = 'Packer Builder';
      let instanceTags: [string, string][];
      try {
        instanceTags = renderTags(state, runTags);
      } catch (err) {
        throw new Error(`Error generating tags for source instance: ${(err as Error).message}`); // parity:
      }
      echoTags(ui, instanceTags);
      let spotTags: [string, string][];
      try {
        spotTags = renderTags(state, c.spot_tags);
      } catch (err) {
        throw new Error(`Error generating tags for spot request: ${(err as Error).message}`); // parity:
      }
      let volumeTags: [string, string][];
      try {
        volumeTags = renderTags(state, c.run_volume_tags);
      } catch (err) {
        // StepRunSourceInstance's text: here the tags are rendered before any instance exists.
        throw new Error(`Error tagging volumes: ${(err as Error).message}`);
      }
      ui.message('Loading User Data File...'); // parity:
      const name = launchTemplateName();
      const userData = await readUserData(c);
      ui.message('Creating Spot Fleet launch template...'); // parity:
      const data = spotTemplateData(
        state,
        userData === '' ? '' : userDataBase64(userData),
        instanceTags,
        volumeTags,
      );
      // Create calls finish even after Ctrl-C (run.ts): none may start once the build is cancelled.
      signal.throwIfAborted();
      try {
        await client.send(
          new sdk.CreateLaunchTemplateCommand({
            LaunchTemplateName: name,
            VersionDescription: 'kiln: the spot instance of one build',
            LaunchTemplateData: data,
            TagSpecifications: [
              { ResourceType: 'launch-template', Tags: toTags([...spotTags, [RUN_ID_TAG, state.runId]]) },
            ],
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        // A try whose answer was lost made the template: the next try meets AlreadyExists, and the
        // template is ours (the name is random): adopted. Else, if it may exist, cleanup deletes it.
        const made =
          awsErrorCode(err) === 'InvalidLaunchTemplateName.AlreadyExistsException' && attemptsOf(err) > 1;
        if (made || mayHaveHappened(err)) {
          template = name;
          addLeftover(state, { kind: 'launch template', id: name, region: state.ec2.region });
        }
        if (!made) {
          throw new Error(`Error creating launch template for spot instance: ${awsErrorText(err)}`); // parity:
        }
      }
      template = name;
      addLeftover(state, { kind: 'launch template', id: name, region: state.ec2.region });

      const fleetInput = {
        Type: 'instant' as const,
        LaunchTemplateConfigs: [
          {
            LaunchTemplateSpecification: { LaunchTemplateName: name, Version: '1' },
            ...(c.spot_instance_types.length > 0
              ? { Overrides: c.spot_instance_types.map((t) => ({ InstanceType: t as never })) }
              : {}),
          },
        ],
        TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'spot' as const },
        ReplaceUnhealthyInstances: false,
      };
      let instanceId = '';
      try {
        instanceId = await retry(
          11,
          async () => {
            signal.throwIfAborted();
            // Idempotent: the SDK's retry after a lost answer (same token) gets the same fleet back,
            // not a second instance; a retry of this loop (a new fleet is wanted) has a new token.
            const out = await client.send(
              new sdk.CreateFleetCommand({ ...fleetInput, ClientToken: randomUUID() }),
              { abortSignal: signal },
            );
            const id = out.Instances?.find((i) => (i.InstanceIds ?? []).length > 0)?.InstanceIds?.[0];
            // Errors for some instance types or zones do not matter once an instance launched.
            if (id) return id;
            throw new FleetError(
              out.FleetId ?? '',
              (out.Errors ?? []).map((e) => e.ErrorMessage ?? e.ErrorCode ?? ''),
            );
          },
          (err) =>
            err instanceof FleetError
              ? err.messages.some((m) => m.includes(IAM_PROPAGATION))
              : String((err as Error).message).includes(IAM_PROPAGATION),
          signal,
          500,
        );
      } catch (err) {
        // The answer may have been lost after EC2 launched it: found by the run's tag, cleanup
        // terminates it.
        if (!(err instanceof FleetError) && mayHaveHappened(err)) await findFleetInstance(state);
        if (err instanceof FleetError) {
          if (err.messages.length > 0) {
            throw new Error(
              `Error waiting for fleet request (${err.fleetId}) to become ready:${err.messages.join('')}`,
            ); // parity:
          }
          throw new Error(`Error waiting for fleet request (${err.fleetId}): no instance was launched`);
        }
        throw new Error(awsErrorText(err));
      }
      state.instanceId = instanceId;
      state.launchVolumes = [];
      addLeftover(state, { kind: 'instance', id: instanceId, region: state.ec2.region });
      ui.message(`Instance ID: ${instanceId}`); // parity:

      // Eventual consistency: the new instance (and, with launch mappings, its block devices) may
      // take a moment to appear.
      let instance: Instance | undefined;
      try {
        instance = await retry(
          11,
          async () => {
            const out = await client.send(new sdk.DescribeInstancesCommand({ InstanceIds: [instanceId] }), {
              abortSignal: signal,
            });
            const i = out.Reservations?.[0]?.Instances?.[0];
            if (!i) throw new Error('instance not listed yet');
            if (c.launch_block_device_mappings.length > 0 && (i.BlockDeviceMappings ?? []).length === 0) {
              throw new Error('Instance has no block devices');
            }
            return i;
          },
          () => true,
          signal,
        );
      } catch {
        throw new Error('Error finding source instance.'); // parity:
      }
      state.instance = instance;

      if (spotTags.length > 0) {
        echoTags(ui, spotTags);
        const sir = instance.SpotInstanceRequestId ?? '';
        try {
          if (sir === '') throw new Error(`instance ${instanceId} has no spot instance request id`);
          await client.send(new sdk.CreateTagsCommand({ Resources: [sir], Tags: toTags(spotTags) }), {
            abortSignal: signal,
          });
        } catch (err) {
          throw new Error(`Error tagging spot request: ${awsErrorText(err)}`); // parity:
        }
      }

      for (const m of instance.BlockDeviceMappings ?? []) {
        if (m.Ebs?.VolumeId) state.launchVolumes.push({ id: m.Ebs.VolumeId, device: m.DeviceName ?? '' });
      }
      if (state.launchVolumes.length > 0 && volumeTags.length > 0) {
        // Applied by the launch template at launch; the messages are 1.6.6's.
        ui.say('Adding tags to source EBS Volumes'); // parity:
        echoTags(ui, volumeTags);
      }
      if (state.debug) {
        if (instance.PublicDnsName) ui.message(`Public DNS: ${instance.PublicDnsName}`); // parity:
        if (instance.PublicIpAddress) ui.message(`Public IP: ${instance.PublicIpAddress}`); // parity:
        if (instance.PrivateIpAddress) ui.message(`Private IP: ${instance.PrivateIpAddress}`); // parity:
      }
      if (c.communicator !== 'none') state.sshAddress = await sshHost(state);
      return 'continue';
    },
    async cleanup(state, ui) {
      // Terminate and wait, exactly as for an on-demand instance.
      await stepRunSourceInstance.cleanup?.(state, ui);
      if (template === '') return;
      const { client, sdk } = state.ec2;
      try {
        await client
          .send(new sdk.DeleteLaunchTemplateCommand({ LaunchTemplateName: template }))
          .catch((err: unknown) => {
            // Gone already: an earlier try's answer was lost, or a create that may have happened did not.
            if (!TEMPLATE_GONE.includes(awsErrorCode(err))) throw err;
          });
        dropLeftover(state, template);
      } catch (err) {
        ui.error(awsErrorText(err)); // parity: (printed raw)
      }
    },
  };
}
