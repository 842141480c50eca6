/**
 * The instance's life (spec §B.7, B.8, B.15b, B.16b): launch, wait, extra-volume cleanup,
 * stop, enhanced-networking attributes; and the SSH host choice of §B.11.
 */
import type { BlockDeviceMapping, Instance, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Step } from '../../../../core/runner/step.js';
import { awsErrorCode, awsErrorText } from '../aws.js';
import type { BlockDevice } from '../config.js';
import { addLeftover, dropLeftover, echoTags, renderTags, RUN_ID_TAG, type AmazonState } from '../state.js';
import { INSTANCE_WAIT, poll, retry, sleep, waitSettings, WaiterError } from '../waiters.js';
import { mayHaveHappened } from '../retry.js';

type S = AmazonState;

/** One block-device entry as EC2 wants it (spec §A.5). */
export function toMapping(b: BlockDevice): BlockDeviceMapping {
  if (b.no_device) return { DeviceName: b.device_name, NoDevice: '' };
  if (b.virtual_name !== '') {
    return b.virtual_name.startsWith('ephemeral')
      ? { DeviceName: b.device_name, VirtualName: b.virtual_name }
      : { DeviceName: b.device_name };
  }
  const ebs: NonNullable<BlockDeviceMapping['Ebs']> = { DeleteOnTermination: b.delete_on_termination };
  if (b.volume_type !== '') ebs.VolumeType = b.volume_type as never;
  if (b.volume_size > 0) ebs.VolumeSize = b.volume_size;
  if (b.volume_type === 'io1' || b.volume_type === 'io2') ebs.Iops = b.iops;
  // gp3: AWS applies 3000 IOPS / 125 MiB/s when these are left out, so only explicit values go out.
  if (b.volume_type === 'gp3' && b.iops > 0) ebs.Iops = b.iops;
  if (b.volume_type === 'gp3' && b.throughput > 0) ebs.Throughput = b.throughput;
  if (b.snapshot_id !== '') ebs.SnapshotId = b.snapshot_id;
  if (b.encrypted !== undefined) ebs.Encrypted = b.encrypted;
  if (b.kms_key_id !== '') ebs.KmsKeyId = b.kms_key_id;
  return { DeviceName: b.device_name, Ebs: ebs };
}

/** Base64 as is when it already is valid base64 (1.6.6 quirk, kept), else encoded. */
export function userDataBase64(text: string): string {
  const b64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  if (text !== '' && b64.test(text)) return text;
  return Buffer.from(text, 'utf8').toString('base64');
}

function restricted(region: string): boolean {
  return region.startsWith('cn-') || region.startsWith('us-gov-');
}

export function toTags(pairs: [string, string][]): Tag[] {
  return pairs.map(([Key, Value]) => ({ Key, Value }));
}

/** `user_data`, or the text of `user_data_file` when set (Packer's error when it cannot be read). */
export async function readUserData(c: { user_data: string; user_data_file: string }): Promise<string> {
  if (c.user_data_file === '') return c.user_data;
  try {
    return await readFile(c.user_data_file, 'utf8');
  } catch (err) {
    throw new Error(`Problem reading user data file: ${err instanceof Error ? err.message : String(err)}`); // parity:
  }
}

/** RunInstances' NotFound answers for a key pair or security group created moments before. */
const LAUNCH_NOT_YET_VISIBLE = [
  'InvalidKeyPair.NotFound',
  'InvalidGroup.NotFound',
  'InvalidSecurityGroupID.NotFound',
];

/** Records (for cleanup) an instance of this run that RunInstances made although its answer was lost. */
async function findLaunched(state: S): Promise<void> {
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
    const found = out.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    const inst = found[0];
    if (!inst?.InstanceId) return;
    state.instanceId = inst.InstanceId;
    state.instance = inst;
    state.launchVolumes = [];
    addLeftover(state, { kind: 'instance', id: inst.InstanceId, region: state.ec2.region });
  } catch {
    /* the launch error is what matters; the run tag still lets `kiln cleanup` find it */
  }
}

function instanceOutcome(
  inst: Instance | undefined,
  ok: string,
  bad: string[],
): 'success' | 'failure' | 'retry' {
  const s = inst?.State?.Name ?? '';
  if (s === ok) return 'success';
  return bad.includes(s) ? 'failure' : 'retry';
}

async function describeInstance(state: S, id: string, signal?: AbortSignal): Promise<Instance | undefined> {
  const { client, sdk } = state.ec2;
  const out = await client.send(new sdk.DescribeInstancesCommand({ InstanceIds: [id] }), {
    abortSignal: signal,
  });
  return out.Reservations?.[0]?.Instances?.[0];
}

export const stepCleanupVolumes: Step<S> = {
  name: 'StepCleanupVolumes',
  async run() {
    return 'continue';
  },
  async cleanup(state, ui) {
    if (!state.instanceId) {
      ui.say('No volumes to clean up, skipping'); // parity:
      return;
    }
    ui.say('Cleaning up any extra volumes...'); // parity:
    // Volumes named in launch_block_device_mappings follow their delete_on_termination; only the
    // others can be left behind. When there are none, the DescribeVolumes of 1.6.6 is skipped.
    const launched = new Set(state.config.launch_block_device_mappings.map((b) => b.device_name));
    const candidates = state.launchVolumes.filter((v) => !launched.has(v.device));
    if (candidates.length === 0) {
      ui.say('No volumes to clean up, skipping'); // parity:
      return;
    }
    const { client, sdk } = state.ec2;
    let vols;
    try {
      const out = await client.send(
        new sdk.DescribeVolumesCommand({
          Filters: [{ Name: 'volume-id', Values: candidates.map((v) => v.id) }],
        }),
      );
      vols = out.Volumes ?? [];
    } catch (err) {
      ui.error(`Error describing volumes: ${awsErrorText(err)}`); // parity:
      return;
    }
    const available = vols.filter((v) => v.State === 'available');
    if (available.length === 0) {
      ui.say('No volumes to clean up, skipping'); // parity:
      return;
    }
    for (const v of available) {
      ui.say(`Destroying volume (${v.VolumeId ?? ''})...`); // parity:
      try {
        await client.send(new sdk.DeleteVolumeCommand({ VolumeId: v.VolumeId }));
        dropLeftover(state, v.VolumeId ?? '');
      } catch (err) {
        ui.say(`Error deleting volume: ${awsErrorText(err)}`); // parity:
      }
    }
  },
};

export const stepRunSourceInstance: Step<S> = {
  name: 'StepRunSourceInstance',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    const userData = await readUserData(c);
    ui.say('Launching a source AWS instance...'); // parity:
    const image = state.sourceImage;
    if (image?.RootDeviceType !== 'ebs') {
      throw new Error(
        `The provided source AMI has an invalid root device type.\nExpected 'ebs', got '${image?.RootDeviceType ?? ''}'.`,
      ); // parity:
    }
    ui.say('Adding tags to source instance'); // parity:
    const runTags = { ...c.run_tags };
    if (!('Name' in runTags)) runTags.Name = 'Packer Builder';
    let instanceTags: [string, string][];
    let volumeTags: [string, string][];
    try {
      instanceTags = renderTags(state, runTags);
    } catch (err) {
      throw new Error(`Error tagging source instance: ${(err as Error).message}`); // parity:
    }
    try {
      volumeTags = renderTags(state, c.run_volume_tags);
    } catch (err) {
      throw new Error(`Error tagging volumes: ${(err as Error).message}`); // parity:
    }
    echoTags(ui, instanceTags);
    echoTags(ui, volumeTags);
    const runId: [string, string] = [RUN_ID_TAG, state.runId];
    const mappings = c.launch_block_device_mappings.map(toMapping);
    if (c.no_ephemeral) {
      for (let ch = 'a'.charCodeAt(0); ch <= 'z'.charCodeAt(0); ch++) {
        mappings.push({ DeviceName: `xvdc${String.fromCharCode(ch)}`, NoDevice: '' });
      }
    }
    const tagSpecs: TagSpecification[] = restricted(state.ec2.region)
      ? []
      : [
          { ResourceType: 'instance', Tags: toTags([...instanceTags, runId]) },
          { ResourceType: 'volume', Tags: toTags([...volumeTags, runId]) },
        ];
    const net =
      state.subnetId !== '' && c.associate_public_ip_address
        ? {
            NetworkInterfaces: [
              {
                DeviceIndex: 0,
                AssociatePublicIpAddress: true,
                SubnetId: state.subnetId,
                Groups: state.securityGroupIds,
                DeleteOnTermination: true,
              },
            ],
          }
        : {
            ...(state.subnetId !== '' ? { SubnetId: state.subnetId } : {}),
            ...(state.securityGroupIds.length > 0 ? { SecurityGroupIds: state.securityGroupIds } : {}),
          };
    const mo = c.metadata_options;
    const input = {
      ImageId: image.ImageId,
      InstanceType: c.instance_type as never,
      ...(userData !== '' ? { UserData: userDataBase64(userData) } : {}),
      MinCount: 1,
      MaxCount: 1,
      ...(state.instanceProfile !== '' ? { IamInstanceProfile: { Name: state.instanceProfile } } : {}),
      ...(mappings.length > 0 ? { BlockDeviceMappings: mappings } : {}),
      ...(state.availabilityZone !== '' || c.tenancy !== ''
        ? {
            Placement: {
              ...(state.availabilityZone !== '' ? { AvailabilityZone: state.availabilityZone } : {}),
              ...(c.tenancy !== '' ? { Tenancy: c.tenancy as never } : {}),
            },
          }
        : {}),
      EbsOptimized: c.ebs_optimized,
      ...(c.enable_t2_unlimited ? { CreditSpecification: { CpuCredits: 'unlimited' } } : {}),
      InstanceInitiatedShutdownBehavior: c.shutdown_behavior as never,
      ...(state.keyPairName !== '' ? { KeyName: state.keyPairName } : {}),
      ...(tagSpecs.length > 0 ? { TagSpecifications: tagSpecs } : {}),
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
      ...net,
      // Idempotent: an SDK retry after a lost answer returns the same instance, not a second one.
      ClientToken: randomUUID(),
    };
    let out;
    try {
      out = await retry(
        11,
        () => client.send(new sdk.RunInstancesCommand(input), { abortSignal: signal }),
        (err) =>
          (awsErrorCode(err) === 'InvalidParameterValue' &&
            String((err as Error).message).includes('iamInstanceProfile')) ||
          // The key pair or group made moments ago, not yet visible to RunInstances (eventual consistency).
          LAUNCH_NOT_YET_VISIBLE.includes(awsErrorCode(err)),
        signal,
      );
    } catch (err) {
      // The answer may have been lost after EC2 launched it: find it by the run's tag so that
      // cleanup terminates it instead of leaving it running unseen.
      if (mayHaveHappened(err) && !restricted(state.ec2.region)) await findLaunched(state);
      if (
        awsErrorCode(err) === 'VPCIdNotSpecified' &&
        String((err as Error).message).includes('No default VPC for this user') &&
        state.subnetId === ''
      ) {
        throw new Error('Error launching source instance: a valid Subnet Id was not specified'); // parity:
      }
      throw new Error(`Error launching source instance: ${awsErrorText(err)}`); // parity:
    }
    const launched = out.Instances?.[0];
    const id = launched?.InstanceId ?? '';
    state.instanceId = id;
    state.instance = launched;
    state.launchVolumes = [];
    addLeftover(state, { kind: 'instance', id, region: state.ec2.region });
    ui.message(`Instance ID: ${id}`); // parity:
    ui.say(`Waiting for instance (${id}) to become ready...`); // parity:
    try {
      const inst = await poll(
        () => describeInstance(state, id, signal),
        (i) => instanceOutcome(i, 'running', ['shutting-down', 'terminated', 'stopping']),
        waitSettings(c.aws_polling, INSTANCE_WAIT),
        signal,
      );
      state.instance = inst; // 1.6.6 described the instance once more here; the waiter's answer is it.
    } catch (err) {
      const text = err instanceof WaiterError ? err.message : awsErrorText(err);
      try {
        const i = await describeInstance(state, id);
        if (i?.StateReason?.Message)
          ui.error(
            `Instance state change details: ${i.StateTransitionReason ?? ''}: ${i.StateReason.Message}`,
          ); // parity:
      } catch {
        /* the original error is what matters */
      }
      throw new Error(`Error waiting for instance (${id}) to become ready: ${text}`); // parity:
    }
    const inst = state.instance;
    for (const m of inst?.BlockDeviceMappings ?? []) {
      if (m.Ebs?.VolumeId) state.launchVolumes.push({ id: m.Ebs.VolumeId, device: m.DeviceName ?? '' });
    }
    if (state.debug) {
      if (inst?.PublicDnsName) ui.message(`Public DNS: ${inst.PublicDnsName}`); // parity:
      if (inst?.PublicIpAddress) ui.message(`Public IP: ${inst.PublicIpAddress}`); // parity:
      if (inst?.PrivateIpAddress) ui.message(`Private IP: ${inst.PrivateIpAddress}`); // parity:
    }
    if (restricted(state.ec2.region)) {
      echoTags(ui, instanceTags);
      try {
        await client.send(
          new sdk.CreateTagsCommand({ Resources: [id], Tags: toTags([...instanceTags, runId]) }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw new Error(`Error tagging source instance: ${awsErrorText(err)}`); // parity:
      }
      if (volumeTags.length > 0 && state.launchVolumes.length > 0) {
        ui.say('Adding tags to source EBS Volumes'); // parity:
        echoTags(ui, volumeTags);
        try {
          await client.send(
            new sdk.CreateTagsCommand({
              Resources: state.launchVolumes.map((v) => v.id),
              Tags: toTags([...volumeTags, runId]),
            }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw new Error(`Error tagging source EBS Volumes on ${id}: ${awsErrorText(err)}`); // parity:
        }
      }
    }
    if (c.communicator !== 'none') state.sshAddress = await sshHost(state);
    return 'continue';
  },
  async cleanup(state, ui) {
    const id = state.instanceId;
    if (!id) return;
    const { client, sdk } = state.ec2;
    ui.say('Terminating the source AWS instance...'); // parity:
    try {
      await client.send(new sdk.TerminateInstancesCommand({ InstanceIds: [id] }));
    } catch (err) {
      ui.error(`Error terminating instance, may still be around: ${awsErrorText(err)}`); // parity:
      return;
    }
    try {
      await poll(
        () => describeInstance(state, id),
        (i) => instanceOutcome(i, 'terminated', ['pending', 'stopping']),
        waitSettings(state.config.aws_polling, INSTANCE_WAIT),
      );
      dropLeftover(state, id);
      // Volumes with delete_on_termination went with the instance.
      for (const v of state.launchVolumes) dropLeftover(state, v.id);
    } catch (err) {
      ui.error(err instanceof WaiterError ? err.message : awsErrorText(err));
    }
  },
};

export const stepStopEbsBackedInstance: Step<S> = {
  name: 'StepStopEBSBackedInstance',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    const id = state.instanceId ?? '';
    // Spot builds skip this step entirely (B.15b): CreateImage images the running instance.
    if (c.spot_price !== '' && c.spot_price !== '0') return 'continue';
    if (!c.disable_stop_instance) {
      ui.say('Stopping the source instance...'); // parity:
      try {
        await retry(
          6,
          async () => {
            ui.message('Stopping instance'); // parity:
            return client.send(new sdk.StopInstancesCommand({ InstanceIds: [id] }), { abortSignal: signal });
          },
          (err) => awsErrorCode(err) === 'InvalidInstanceID.NotFound',
          signal,
          10_000,
          60_000,
        );
      } catch (err) {
        throw new Error(`Error stopping instance: ${awsErrorText(err)}`); // parity:
      }
    } else {
      ui.say('Automatic instance stop disabled. Please stop instance manually.'); // parity:
    }
    ui.say('Waiting for the instance to stop...'); // parity:
    try {
      state.instance = await poll(
        () => describeInstance(state, id, signal),
        (i) => instanceOutcome(i, 'stopped', ['pending', 'terminated']),
        waitSettings(c.aws_polling, INSTANCE_WAIT),
        signal,
      );
    } catch (err) {
      throw new Error(
        `Error waiting for instance to stop: ${err instanceof WaiterError ? err.message : awsErrorText(err)}`,
      ); // parity:
    }
    return 'continue';
  },
};

export const stepModifyEbsBackedInstance: Step<S> = {
  name: 'StepModifyEBSBackedInstance',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    const id = state.instanceId ?? '';
    if (c.sriov_support) {
      ui.say('Enabling Enhanced Networking (SR-IOV)...'); // parity:
      try {
        await client.send(
          new sdk.ModifyInstanceAttributeCommand({ InstanceId: id, SriovNetSupport: { Value: 'simple' } }),
          {
            abortSignal: signal,
          },
        );
      } catch (err) {
        throw new Error(`Error enabling Enhanced Networking (SR-IOV) on ${id}: ${awsErrorText(err)}`); // parity:
      }
    }
    if (c.ena_support !== undefined) {
      const verb = c.ena_support ? 'Enabling' : 'Disabling';
      ui.say(`${verb} Enhanced Networking (ENA)...`); // parity:
      try {
        await client.send(
          new sdk.ModifyInstanceAttributeCommand({ InstanceId: id, EnaSupport: { Value: c.ena_support } }),
          {
            abortSignal: signal,
          },
        );
      } catch (err) {
        throw new Error(
          `Error ${verb.toLowerCase()} Enhanced Networking (ENA) on ${id}: ${awsErrorText(err)}`,
        ); // parity:
      }
    }
    return 'continue';
  },
};

/**
 * The address to dial (spec §B.11): ssh_host, localhost for session_manager, the ssh_interface
 * attribute, else public IP (in a VPC, falling back to the private IP) or public DNS (EC2-Classic).
 * Describes the instance again (up to 3 rounds, 1 s apart) only when the address is still empty.
 */
export async function sshHost(state: S): Promise<string> {
  const c = state.config;
  if (c.ssh_host !== '') return c.ssh_host;
  if (c.ssh_interface === 'session_manager') return 'localhost';
  const pick = (i: Instance | undefined): string => {
    if (!i) return '';
    switch (c.ssh_interface) {
      case 'public_ip':
        return i.PublicIpAddress ?? '';
      case 'private_ip':
        return i.PrivateIpAddress ?? '';
      case 'public_dns':
        return i.PublicDnsName ?? '';
      case 'private_dns':
        return i.PrivateDnsName ?? '';
      default:
        return i.VpcId ? i.PublicIpAddress || i.PrivateIpAddress || '' : (i.PublicDnsName ?? '');
    }
  };
  for (let round = 0; round < 3; round++) {
    const host = pick(state.instance);
    if (host !== '') return host;
    state.instance = await describeInstance(state, state.instanceId ?? '');
    await sleep(1000);
  }
  const host = pick(state.instance);
  if (host !== '') return host;
  throw new Error("couldn't determine address for instance"); // parity:
}
