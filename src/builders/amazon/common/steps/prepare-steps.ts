/**
 * The steps before launch (spec §B.1–B.6): pre-validation, source image, network, key pair,
 * security group, instance profile.
 */
import type { DescribeRegionsCommandOutput, Filter, Image, Subnet } from '@aws-sdk/client-ec2';
import { randomInt } from 'node:crypto';
import { chmod, readFile, unlink, writeFile } from 'node:fs/promises';
import type { Step } from '../../../../core/runner/step.js';
import { awsErrorCode, awsErrorText } from '../aws.js';
import { addLeftover, dropLeftover, RUN_ID_TAG, type AmazonState } from '../state.js';
import { retry, sleep } from '../waiters.js';
import { goDump } from '../go-format.js';
import { timeOrderedUuid } from '../uuid.js';
import { alreadyGone, attemptsOf, lookUp, mayHaveHappened } from '../retry.js';
import { EC2_TRUST_POLICY, policyJson, waitExists, type Iam } from '../iam.js';
import { waitForVaultKeys } from '../vault.js';

type S = AmazonState;

function filters(map: Record<string, string>): Filter[] {
  return Object.entries(map).map(([Name, v]) => ({ Name, Values: [v] }));
}

export const stepPreValidate: Step<S> = {
  name: 'StepPreValidate',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    let described: DescribeRegionsCommandOutput | undefined;
    if (c.vault_aws_engine) {
      // parity:
      ui.say(
        "You're using Vault-generated AWS credentials. It may take a few moments for them to become available on AWS. Waiting...",
      );
      described = await waitForVaultKeys(
        () => client.send(new sdk.DescribeRegionsCommand({}), { abortSignal: signal }),
        signal,
        // Tests shorten the 200 ms first pause (the whole wait is about two minutes).
        process.env.KILN_TEST_VAULT_RETRY_MS
          ? { initialMs: Number(process.env.KILN_TEST_VAULT_RETRY_MS) }
          : {},
      );
    }
    if (!c.skip_region_validation) {
      const regions = [...c.ami_regions, state.ec2.region].filter((r) => r !== '');
      // Economy: the answer of the Vault wait above is the same list.
      const out =
        described ??
        (await client
          .send(new sdk.DescribeRegionsCommand({}), { abortSignal: signal })
          .catch((err: unknown) => {
            // The SDK error as aws-sdk-go printed it (code, message, status, request id).
            throw new Error(awsErrorText(err));
          }));
      const known = (out.Regions ?? []).map((r) => r.RegionName ?? '');
      const bad = regions.filter((r) => !known.includes(r));
      if (bad.length > 0) {
        // parity:
        throw new Error(
          `error validating regions: Invalid region(s): [${bad.join(' ')}], available regions: [${known.join(' ')}]`,
        );
      }
    }
    if (c.force_deregister) {
      ui.say('Force Deregister flag found, skipping prevalidating AMI Name'); // parity:
      return 'continue';
    }
    if (c.skip_save_build_region) {
      ui.say('skip_build_region was set; not prevalidating AMI name'); // parity:
      return 'continue';
    }
    ui.say('Prevalidating any provided VPC information'); // parity:
    if (c.vpc_id !== '' && c.subnet_id === '' && Object.keys(c.subnet_filter.filters).length === 0) {
      let vpc;
      try {
        vpc = await client.send(new sdk.DescribeVpcsCommand({ VpcIds: [c.vpc_id] }), { abortSignal: signal });
      } catch (err) {
        throw new Error(`Error retrieving VPC information for vpc_id ${c.vpc_id}: ${awsErrorText(err)}`); // parity:
      }
      if (!vpc.Vpcs?.[0]?.IsDefault) {
        throw new Error(
          `Error: subnet_id or subnet_filter must be provided for non-default VPCs (${c.vpc_id})`,
        ); // parity:
      }
    }
    ui.say(`Prevalidating AMI Name: ${c.ami_name}`); // parity:
    let images;
    try {
      images = await client.send(
        new sdk.DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [c.ami_name] }] }),
        { abortSignal: signal },
      );
    } catch (err) {
      throw new Error(`Error querying AMI: ${awsErrorText(err)}`); // parity:
    }
    const found = images.Images ?? [];
    if (found.length > 0) {
      throw new Error(
        `Error: AMI Name: '${c.ami_name}' is used by an existing AMI: ${found[0].ImageId ?? ''}`,
      ); // parity:
    }
    return 'continue';
  },
};

/** Seconds-resolution creation time (1.6.6 compared parsed RFC3339 times). */
function creationSeconds(img: Image): number {
  const t = Date.parse(img.CreationDate ?? '');
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

export const stepSourceAmiInfo: Step<S> = {
  name: 'StepSourceAMIInfo',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    const input = {
      ...(c.source_ami !== '' ? { ImageIds: [c.source_ami] } : {}),
      ...(Object.keys(c.source_ami_filter.filters).length > 0
        ? { Filters: filters(c.source_ami_filter.filters) }
        : {}),
      ...(c.source_ami_filter.owners.length > 0 ? { Owners: c.source_ami_filter.owners } : {}),
    };
    let out;
    try {
      out = await client.send(new sdk.DescribeImagesCommand(input), { abortSignal: signal });
    } catch (err) {
      throw new Error(`Error querying AMI: ${awsErrorText(err)}`); // parity:
    }
    const images = out.Images ?? [];
    if (images.length === 0) throw new Error(`No AMI was found matching filters: ${goDump(input)}`); // parity:
    if (images.length > 1 && !c.source_ami_filter.most_recent) {
      // parity:
      throw new Error(
        'Your query returned more than one result. Please try a more specific search, or set most_recent to true.',
      );
    }
    let image = images[0];
    if (c.source_ami_filter.most_recent) {
      // stable sort ascending, last wins (ties: the later one in response order)
      const sorted = images
        .map((img, i) => ({ img, i }))
        .sort((a, b) => creationSeconds(a.img) - creationSeconds(b.img) || a.i - b.i);
      image = sorted[sorted.length - 1].img;
    }
    ui.message(`Found Image ID: ${image.ImageId ?? ''}`); // parity:
    if (c.ena_support === true || c.sriov_support) {
      if (c.ami_virtualization_type !== '' && c.ami_virtualization_type !== 'hvm') {
        throw new Error(
          `Cannot enable enhanced networking, AMIVirtType '${c.ami_virtualization_type}' is not HVM`,
        ); // parity:
      }
      if (image.VirtualizationType !== 'hvm') {
        throw new Error(`Cannot enable enhanced networking, source AMI '${image.ImageId ?? ''}' is not HVM`); // parity:
      }
    }
    state.sourceImage = image;
    return 'continue';
  },
};

export const stepNetworkInfo: Step<S> = {
  name: 'StepNetworkInfo',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    state.vpcId = c.vpc_id;
    state.subnetId = c.subnet_id;
    state.availabilityZone = c.availability_zone;
    if (state.vpcId === '' && Object.keys(c.vpc_filter.filters).length > 0) {
      const input = { Filters: filters(c.vpc_filter.filters) };
      let out;
      try {
        out = await client.send(new sdk.DescribeVpcsCommand(input), { abortSignal: signal });
      } catch (err) {
        throw new Error(`Error querying VPCs: ${awsErrorText(err)}`); // parity:
      }
      const vpcs = out.Vpcs ?? [];
      if (vpcs.length !== 1) {
        // parity:
        throw new Error(
          `Exactly one VPC should match the filter, but ${vpcs.length} VPC's was found matching filters: ${goDump(input)}`,
        );
      }
      state.vpcId = vpcs[0].VpcId ?? '';
      ui.message(`Found VPC ID: ${state.vpcId}`); // parity:
    }
    let chosen: Subnet | undefined;
    if (state.subnetId === '' && Object.keys(c.subnet_filter.filters).length > 0) {
      const f: Record<string, string> = { ...c.subnet_filter.filters, state: 'available' };
      if (state.vpcId !== '') f['vpc-id'] = state.vpcId;
      if (state.availabilityZone !== '') f.availabilityZone = state.availabilityZone;
      const input = { Filters: filters(f) };
      let out;
      try {
        out = await client.send(new sdk.DescribeSubnetsCommand(input), { abortSignal: signal });
      } catch (err) {
        throw new Error(`Error querying Subnets: ${awsErrorText(err)}`); // parity:
      }
      const subnets = out.Subnets ?? [];
      if (subnets.length === 0) throw new Error(`No Subnets was found matching filters: ${goDump(input)}`); // parity:
      if (subnets.length > 1 && !c.subnet_filter.random && !c.subnet_filter.most_free) {
        // parity:
        throw new Error(
          `Your filter matched ${subnets.length} Subnets. Please try a more specific search, or set random or most_free to true.`,
        );
      }
      if (c.subnet_filter.most_free) {
        const sorted = subnets
          .map((s, i) => ({ s, i }))
          .sort(
            (a, b) => (a.s.AvailableIpAddressCount ?? 0) - (b.s.AvailableIpAddressCount ?? 0) || a.i - b.i,
          );
        chosen = sorted[sorted.length - 1].s;
      } else if (c.subnet_filter.random) {
        chosen = subnets[randomInt(subnets.length)];
      } else {
        chosen = subnets[0];
      }
      state.subnetId = chosen.SubnetId ?? '';
      ui.message(`Found Subnet ID: ${state.subnetId}`); // parity:
    }
    if (state.subnetId !== '' && (state.availabilityZone === '' || state.vpcId === '')) {
      // Economy: the filter's answer already names the subnet's AZ and VPC; 1.6.6 asked again.
      if (!chosen) {
        try {
          const out = await client.send(new sdk.DescribeSubnetsCommand({ SubnetIds: [state.subnetId] }), {
            abortSignal: signal,
          });
          chosen = out.Subnets?.[0];
        } catch (err) {
          throw new Error(`Describing the subnet: ${state.subnetId} returned error: ${awsErrorText(err)}.`); // parity:
        }
      }
      if (state.availabilityZone === '') state.availabilityZone = chosen?.AvailabilityZone ?? '';
      if (state.vpcId === '') state.vpcId = chosen?.VpcId ?? '';
    }
    return 'continue';
  },
};

/** `-debug`'s copy of the temporary key in the working directory: `ec2_<build name>.pem`. */
function debugKeyFile(state: S): string {
  return `ec2_${state.buildName.replace(/[^A-Za-z0-9_.-]/g, '_')}.pem`;
}

/** The builds whose debug key StepKeyPair wrote (its cleanup removes only those). */
const debugKeysSaved = new WeakSet<S>();

/** Go's text of an errno (syscall.Errno.Error) for the file errors a key file meets. */
const GO_ERRNO: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'file exists',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
};

/** A Node file error as Go's *PathError prints it: `open ec2_x.pem: permission denied`. */
export function goPathError(op: string, path: string, err: unknown): string {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const why = GO_ERRNO[code] ?? (err instanceof Error ? err.message : String(err));
  return `${op} ${path}: ${why}`;
}

export const stepKeyPair: Step<S> = {
  name: 'StepKeyPair',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    if (c.ssh_private_key_file !== '') {
      ui.say('Using existing SSH private key'); // parity:
      try {
        state.privateKey = await readFile(c.ssh_private_key_file, 'utf8');
      } catch (err) {
        throw new Error(
          `Error loading configured private key file: ${err instanceof Error ? err.message : String(err)}`,
        ); // parity:
      }
      state.keyPairName = c.ssh_keypair_name;
      return 'continue';
    }
    if (c.ssh_agent_auth && c.ssh_keypair_name === '') {
      ui.say('Using SSH Agent with key pair in Source AMI'); // parity:
      return 'continue';
    }
    if (c.ssh_agent_auth) {
      ui.say(`Using SSH Agent for existing key pair ${c.ssh_keypair_name}`); // parity:
      state.keyPairName = c.ssh_keypair_name;
      return 'continue';
    }
    if (c.temporary_key_pair_name === '') {
      ui.say('Not using temporary keypair'); // parity:
      return 'continue';
    }
    const name = c.temporary_key_pair_name;
    ui.say(`Creating temporary keypair: ${name}`); // parity:
    let out;
    const create = () =>
      client.send(
        new sdk.CreateKeyPairCommand({
          KeyName: name,
          ...(c.temporary_key_pair_type === 'ed25519' ? { KeyType: 'ed25519' as const } : {}),
          TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: RUN_ID_TAG, Value: state.runId }] }],
        }),
        { abortSignal: signal },
      );
    // Set when a try may have made the pair although its answer was lost (dropped connection, 5xx):
    // the next try then meets InvalidKeyPair.Duplicate. The private key was in the lost answer, so
    // that pair (ours: the name is random) is deleted and made again.
    let unsure = false;
    try {
      out = await retry(
        11,
        async () => {
          try {
            return await create();
          } catch (err) {
            if (awsErrorCode(err) === 'InvalidKeyPair.Duplicate' && (unsure || attemptsOf(err) > 1)) {
              await client.send(new sdk.DeleteKeyPairCommand({ KeyName: name }), { abortSignal: signal });
              unsure = false;
              throw new Error('the key pair made by a try whose answer was lost was deleted', { cause: err });
            }
            if (mayHaveHappened(err)) unsure = true;
            throw err;
          }
        },
        // A duplicate name will not go away by retrying; everything else might.
        (err) => awsErrorCode(err) !== 'InvalidKeyPair.Duplicate',
        signal,
      );
    } catch (err) {
      // Nothing of this run stays behind: a pair made by a lost try is removed (best effort).
      if (unsure) await client.send(new sdk.DeleteKeyPairCommand({ KeyName: name })).catch(() => undefined);
      throw new Error(`Error creating temporary keypair: ${awsErrorText(err)}`); // parity:
    }
    state.tempKeyPair = name;
    state.keyPairName = name;
    state.privateKey = out.KeyMaterial ?? '';
    addLeftover(state, { kind: 'key pair', id: name, region: state.ec2.region });
    if (state.debug) {
      const file = debugKeyFile(state);
      ui.message(`Saving key for debug purposes: ${file}`); // parity:
      try {
        await writeFile(file, state.privateKey, { mode: 0o600 });
      } catch (err) {
        throw new Error(`Error saving debug key: ${goPathError('open', file, err)}`); // parity:
      }
      debugKeysSaved.add(state);
      // A file that was there already keeps its mode through writeFile: SSH wants 0600.
      try {
        await chmod(file, 0o600);
      } catch (err) {
        throw new Error(`Error setting permissions of debug key: ${goPathError('chmod', file, err)}`); // parity:
      }
    }
    return 'continue';
  },
  async cleanup(state, ui) {
    const name = state.tempKeyPair;
    if (!name) return;
    // Only a key this step wrote (1.6.6 also tried after a failed save, and reported that file missing).
    if (state.debug && debugKeysSaved.delete(state)) {
      const file = debugKeyFile(state);
      await unlink(file).catch((err: unknown) =>
        ui.error(`Error removing debug key '${file}': ${goPathError('remove', file, err)}`),
      ); // parity:
    }
    ui.say('Deleting temporary keypair...'); // parity:
    const { client, sdk } = state.ec2;
    try {
      await client.send(new sdk.DeleteKeyPairCommand({ KeyName: name }));
      dropLeftover(state, name);
    } catch {
      ui.error(`Error cleaning up keypair. Please delete the key manually: ${name}`); // parity:
    }
  },
};

/** The id of this account's security group named `name` (in the build's VPC), or ''. */
async function groupNamed(state: S, name: string, tries: number): Promise<string> {
  const { client, sdk } = state.ec2;
  return lookUp(async () => {
    const out = await client.send(
      new sdk.DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'group-name', Values: [name] },
          ...(state.vpcId !== '' ? [{ Name: 'vpc-id', Values: [state.vpcId] }] : []),
        ],
      }),
    );
    return out.SecurityGroups?.[0]?.GroupId ?? '';
  }, tries);
}

export const stepSecurityGroup: Step<S> = {
  name: 'StepSecurityGroup',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    if (c.security_group_ids.length > 0) {
      try {
        await client.send(new sdk.DescribeSecurityGroupsCommand({ GroupIds: c.security_group_ids }), {
          abortSignal: signal,
        });
      } catch (err) {
        throw new Error(`Couldn't find specified security group: ${awsErrorText(err)}`); // parity:
      }
      state.securityGroupIds = [...c.security_group_ids];
      return 'continue';
    }
    if (Object.keys(c.security_group_filter.filters).length > 0) {
      const f = { ...c.security_group_filter.filters };
      if (state.vpcId !== '') f['vpc-id'] = state.vpcId;
      let out;
      try {
        out = await client.send(new sdk.DescribeSecurityGroupsCommand({ Filters: filters(f) }), {
          abortSignal: signal,
        });
      } catch (err) {
        throw new Error(`Couldn't find security groups for filter: ${awsErrorText(err)}`); // parity:
      }
      state.securityGroupIds = (out.SecurityGroups ?? []).map((g) => g.GroupId ?? '');
      ui.message(`Found Security Group(s): ${state.securityGroupIds.join(', ')}`); // parity:
      return 'continue';
    }
    const name = `packer_${timeOrderedUuid()}`;
    ui.say(`Creating temporary security group for this instance: ${name}`); // parity:
    let groupId: string;
    try {
      const out = await client.send(
        new sdk.CreateSecurityGroupCommand({
          GroupName: name,
          Description: 'Temporary group for Packer',
          ...(state.vpcId !== '' ? { VpcId: state.vpcId } : {}),
          TagSpecifications: [
            { ResourceType: 'security-group', Tags: [{ Key: RUN_ID_TAG, Value: state.runId }] },
          ],
        }),
        { abortSignal: signal },
      );
      groupId = out.GroupId ?? '';
    } catch (err) {
      // A try whose answer was lost may have made the group: the SDK's next try then met
      // InvalidGroup.Duplicate. That group is ours (the name is random): adopt it, or, when the
      // create failed anyway, hand it to cleanup.
      const duplicate = awsErrorCode(err) === 'InvalidGroup.Duplicate' && attemptsOf(err) > 1;
      const found = mayHaveHappened(err) ? await groupNamed(state, name, duplicate ? 6 : 3) : '';
      if (found !== '' && duplicate) {
        groupId = found;
      } else {
        if (found !== '') {
          state.tempSecurityGroup = found;
          addLeftover(state, { kind: 'security group', id: found, region: state.ec2.region });
        }
        throw new Error(`Error creating temporary security group: ${awsErrorText(err)}`); // parity:
      }
    }
    state.tempSecurityGroup = groupId;
    state.securityGroupIds = [groupId];
    addLeftover(state, { kind: 'security group', id: groupId, region: state.ec2.region });
    // CreateSecurityGroup answered with the id: the group exists. 1.6.6 polled DescribeSecurityGroups
    // until it was visible; the ingress call below retries on NotFound instead, which costs no call
    // when the group is already consistent.
    if (
      c.ssh_interface === 'session_manager' &&
      (c.iam_instance_profile !== '' || c.temporary_iam_instance_profile_policy_document)
    ) {
      return 'continue';
    }
    const port = c.communicator === 'winrm' ? c.winrm_port : c.ssh_port;
    const cidrs = c.temporary_security_group_source_cidrs;
    ui.say(
      `Authorizing access to port ${port} from [${cidrs.join(' ')}] in the temporary security groups...`,
    ); // parity:
    try {
      await retry(
        40,
        () =>
          client
            .send(
              new sdk.AuthorizeSecurityGroupIngressCommand({
                GroupId: groupId,
                IpPermissions: [
                  {
                    IpProtocol: 'tcp',
                    FromPort: port,
                    ToPort: port,
                    IpRanges: cidrs.map((CidrIp) => ({ CidrIp })),
                  },
                ],
              }),
              { abortSignal: signal },
            )
            .catch((err: unknown) => {
              // A try whose answer was lost added the rule already (the group is new and ours).
              if (awsErrorCode(err) !== 'InvalidPermission.Duplicate') throw err;
            }),
        (err) => ['InvalidGroup.NotFound', 'InvalidSecurityGroupID.NotFound'].includes(awsErrorCode(err)),
        signal,
        // 0.5 s doubling to 5 s: about the 200 s of 1.6.6's 5 s × 40 waiter, sooner when it is brief.
        500,
        5000,
      );
    } catch (err) {
      throw new Error(`Error authorizing temporary security group: ${awsErrorText(err)}`); // parity:
    }
    return 'continue';
  },
  async cleanup(state, ui) {
    const id = state.tempSecurityGroup;
    if (!id) return;
    ui.say('Deleting temporary security group...'); // parity:
    const { client, sdk } = state.ec2;
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      try {
        await client.send(new sdk.DeleteSecurityGroupCommand({ GroupId: id }));
        dropLeftover(state, id);
        return;
      } catch (err) {
        if (alreadyGone(err)) {
          // An earlier try's answer was lost: the group is gone already.
          dropLeftover(state, id);
          return;
        }
        last = err;
        if (i < 4) await sleep(5000);
      }
    }
    ui.error(
      `Error cleaning up security group. Please delete the group manually: err: ${awsErrorText(last)}; security group ID: ${id}`,
    ); // parity:
  },
};

/**
 * For IAM deletes: NoSuchEntity means gone already (an earlier try's answer was lost, or the create
 * whose answer was lost never happened); any other error is rethrown.
 */
function iamGone(err: unknown): void {
  if (awsErrorCode(err) !== 'NoSuchEntity') throw err;
}

/** The IAM client of the build (run.ts provides it; created on first use). */
async function iamOf(state: S): Promise<Iam> {
  if (!state.iam) throw new Error('Cannot use IAM: the build has no IAM client');
  return state.iam();
}

export const stepIamInstanceProfile: Step<S> = {
  name: 'StepIamInstanceProfile',
  async run(state, { ui, signal }) {
    const c = state.config;
    state.instanceProfile = '';
    if (c.iam_instance_profile !== '') {
      if (!c.skip_profile_validation) {
        const { client, sdk } = await iamOf(state);
        try {
          await client.send(
            new sdk.GetInstanceProfileCommand({ InstanceProfileName: c.iam_instance_profile }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw new Error(`Couldn't find specified instance profile: ${awsErrorText(err)}`); // parity:
        }
      }
      state.instanceProfile = c.iam_instance_profile;
      return 'continue';
    }
    const doc = c.temporary_iam_instance_profile_policy_document;
    if (!doc) return 'continue';
    const { client, sdk } = await iamOf(state);
    const name = `packer-${timeOrderedUuid()}`;
    const policy = policyJson(doc);
    const created: NonNullable<S['tempIam']> = {};
    state.tempIam = created;
    const tags = [{ Key: RUN_ID_TAG, Value: state.runId }];
    const opts = { abortSignal: signal };
    /**
     * A create of this run's name. A try whose answer was lost may have made it: the SDK's next
     * try then meets EntityAlreadyExists, and the thing is ours (the name is a fresh time-ordered
     * uuid): adopted. A failure that may have happened anyway is recorded, so cleanup removes it.
     */
    const iamCreate = async (call: Promise<unknown>, record: () => void): Promise<void> => {
      try {
        await call;
      } catch (err) {
        if (awsErrorCode(err) === 'EntityAlreadyExists' && attemptsOf(err) > 1) {
          record();
          return;
        }
        if (mayHaveHappened(err)) record();
        throw new Error(awsErrorText(err));
      }
      record();
    };
    ui.say(`Creating temporary instance profile for this instance: ${name}`); // parity:
    await iamCreate(
      client.send(new sdk.CreateInstanceProfileCommand({ InstanceProfileName: name, Tags: tags }), opts),
      () => {
        created.profile = name;
        addLeftover(state, { kind: 'instance profile', id: name, region: 'global' });
      },
    );
    try {
      await waitExists(
        () => client.send(new sdk.GetInstanceProfileCommand({ InstanceProfileName: name }), opts),
        40,
        1000,
        signal,
      );
    } catch (err) {
      throw new Error(`Timed out waiting for instance profile ${name}: ${awsErrorText(err)}`); // parity:
    }
    ui.say(`Creating temporary role for this instance: ${name}`); // parity:
    await iamCreate(
      client.send(
        new sdk.CreateRoleCommand({
          RoleName: name,
          Description: 'Temporary role for Packer',
          AssumeRolePolicyDocument: EC2_TRUST_POLICY,
          Tags: tags,
        }),
        opts,
      ),
      () => {
        created.role = name;
        addLeftover(state, { kind: 'role', id: name, region: 'global' });
      },
    );
    try {
      await waitExists(() => client.send(new sdk.GetRoleCommand({ RoleName: name }), opts), 20, 1000, signal);
    } catch (err) {
      throw new Error(`Timed out waiting for temporary role ${name}: ${awsErrorText(err)}`); // parity:
    }
    ui.say(`Attaching policy to the temporary role: ${name}`); // parity:
    // PutRolePolicy is idempotent: a retry after a lost answer just writes the same document.
    await iamCreate(
      client.send(
        new sdk.PutRolePolicyCommand({ RoleName: name, PolicyName: name, PolicyDocument: policy }),
        opts,
      ),
      () => (created.policy = name),
    );
    try {
      await client.send(
        new sdk.AddRoleToInstanceProfileCommand({ RoleName: name, InstanceProfileName: name }),
        opts,
      );
    } catch (err) {
      // A try whose answer was lost attached the role: the next try meets LimitExceeded (a profile
      // holds one role). Ours when the profile lists our role.
      if (!mayHaveHappened(err)) throw new Error(awsErrorText(err));
      created.attached = true;
      const roles = await client
        .send(new sdk.GetInstanceProfileCommand({ InstanceProfileName: name }), opts)
        .then((p) => (p.InstanceProfile?.Roles ?? []).map((r) => r.RoleName))
        .catch((): (string | undefined)[] => []);
      if (!roles.includes(name)) throw new Error(awsErrorText(err));
    }
    created.attached = true;
    state.instanceProfile = name;
    return 'continue';
  },
  async cleanup(state, ui) {
    const t = state.tempIam;
    if (!t || !state.iam) return;
    const { client, sdk } = await state.iam();
    if (t.attached && t.profile && t.role) {
      ui.say('Detaching temporary role from instance profile...'); // parity:
      try {
        await client
          .send(
            new sdk.RemoveRoleFromInstanceProfileCommand({
              InstanceProfileName: t.profile,
              RoleName: t.role,
            }),
          )
          .catch(iamGone);
      } catch (err) {
        ui.error(`Error ${awsErrorText(err)}. Please delete the role manually: ${t.role}`); // parity:
      }
    }
    if (t.policy && t.role) {
      ui.say('Removing policy from temporary role...'); // parity:
      // 1.6.6 ignores this call's errors (DeleteRole then reports a role it cannot delete).
      await client
        .send(new sdk.DeleteRolePolicyCommand({ PolicyName: t.policy, RoleName: t.role }))
        .catch(() => undefined);
    }
    if (t.role) {
      ui.say('Deleting temporary role...'); // parity:
      try {
        await client.send(new sdk.DeleteRoleCommand({ RoleName: t.role })).catch(iamGone);
        // The profile has the same name: drop only the role's line.
        state.leftovers = state.leftovers.filter((l) => !(l.kind === 'role' && l.id === t.role));
      } catch (err) {
        ui.error(`Error ${awsErrorText(err)}. Please delete the role manually: ${t.role}`); // parity:
      }
    }
    if (t.profile) {
      ui.say('Deleting temporary instance profile...'); // parity:
      try {
        await client
          .send(new sdk.DeleteInstanceProfileCommand({ InstanceProfileName: t.profile }))
          .catch(iamGone);
        state.leftovers = state.leftovers.filter(
          (l) => !(l.kind === 'instance profile' && l.id === t.profile),
        );
      } catch (err) {
        ui.error(`Error ${awsErrorText(err)}. Please delete the instance profile manually: ${t.profile}`); // parity:
      }
    }
  },
};
