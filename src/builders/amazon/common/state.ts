/**
 * The state the amazon steps share (Packer's state bag, typed), and the build-info data that tags
 * and the AMI description are rendered with (spec §B.14).
 */
import type { Image, Instance } from '@aws-sdk/client-ec2';
import type { ProvisionState } from '../../../core/runner/step-provision.js';
import type { GeneratedData } from '../../../core/types.js';
import type { Ui } from '../../../ui/ui.js';
import type { AccessConfig, AmiConfig, BlockDevice, CommFields, RunConfig } from './config.js';
import type { Ec2 } from './aws.js';
import type { Iam } from './iam.js';

/** Everything the steps read from the decoded configuration. */
export interface AmazonConfig extends AccessConfig, AmiConfig, RunConfig, CommFields {
  launch_block_device_mappings: BlockDevice[];
  ami_block_device_mappings: BlockDevice[];
  /** no_ephemeral (ebs): NoDevice mappings xvdca…xvdcz at launch. */
  no_ephemeral: boolean;
}

/** A resource this run created and has not removed (for `-on-error=abort` and a later cleanup). */
export interface Leftover {
  kind:
    | 'key pair'
    | 'security group'
    | 'instance'
    | 'AMI'
    | 'snapshot'
    | 'volume'
    | 'instance profile'
    | 'role'
    | 'launch template'
    | 'SSM session';
  id: string;
  region: string;
}

export interface AmazonState extends ProvisionState {
  config: AmazonConfig;
  ec2: Ec2;
  /** Per-region clients for copies, attributes, tags, deregistration. */
  ec2For(region: string): Promise<Ec2>;
  /** Renders a tag/description template with build-info data (and the build's functions). */
  render(text: string, data: Record<string, unknown>): string;
  debug: boolean;
  buildName: string;
  /** The value of the `kiln-run-id` tag on every temporary resource. */
  runId: string;
  sourceImage?: Image;
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  /** The key pair name given to RunInstances ('' = none). */
  keyPairName: string;
  /** The private key the communicator uses (PEM or OpenSSH), '' when none. */
  privateKey: string;
  /** Set when this run created the key pair. */
  tempKeyPair?: string;
  securityGroupIds: string[];
  tempSecurityGroup?: string;
  instanceProfile: string;
  /** The IAM client, created on first use (only builds that need IAM load that SDK). */
  iam?: () => Promise<Iam>;
  /** What StepIamInstanceProfile created (B.6), for its cleanup. */
  tempIam?: { profile?: string; role?: string; policy?: string; attached?: boolean };
  instance?: Instance;
  instanceId?: string;
  /** The address the communicator dials (B.11). */
  sshAddress?: string;
  /** The instance's EBS volumes at launch (for StepCleanupVolumes). */
  launchVolumes: { id: string; device: string }[];
  /** region → AMI id */
  amis: Record<string, string>;
  /** region → snapshot ids */
  snapshots: Record<string, string[]>;
  /** The AMI CreateImage made in the build region (for removal after a failure). */
  createdImage?: string;
  /** The intermediary image of encrypt_boot / skip_save_build_region, removed at cleanup. */
  intermediaryImage?: Image;
  /** Images as last described (reused instead of describing again). */
  images: Record<string, Image>;
  generatedData: GeneratedData;
  /** Temporary resources alive right now, in creation order. */
  leftovers: Leftover[];
}

export function addLeftover(state: AmazonState, l: Leftover): void {
  state.leftovers.push(l);
}

export function dropLeftover(state: AmazonState, id: string): void {
  state.leftovers = state.leftovers.filter((l) => l.id !== id);
}

/** The build-info data (B.14) from the source image and the build region. */
export function buildInfo(state: AmazonState): Record<string, unknown> {
  const img = state.sourceImage;
  const tags: Record<string, string> = {};
  for (const t of img?.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  return {
    BuildRegion: state.ec2.region,
    SourceAMI: img?.ImageId ?? '',
    SourceAMIName: img?.Name ?? '',
    SourceAMICreationDate: img?.CreationDate ?? '',
    SourceAMIOwner: img?.OwnerId ?? '',
    SourceAMIOwnerName: img?.ImageOwnerAlias ?? '',
    SourceAMITags: tags,
  };
}

/**
 * Renders keys and values of a tag map; an error reads `Error processing tag: <k>:<v> - <err>`.
 * Returns the pairs in a stable (insertion) order.
 */
export function renderTags(state: AmazonState, tags: Record<string, string>): [string, string][] {
  const data = buildInfo(state);
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(tags)) {
    try {
      out.push([state.render(k, data), state.render(v, data)]);
    } catch (err) {
      throw new Error(
        `Error processing tag: ${k}:${v} - ${err instanceof Error ? err.message : String(err)}`,
      ); // parity:
    }
  }
  return out;
}

/** Echoes tags the way Packer does: `Adding tag: "<k>": "<v>"`. */
export function echoTags(ui: Ui, tags: [string, string][]): void {
  for (const [k, v] of tags) ui.message(`Adding tag: "${k}": "${v}"`); // parity:
}

export const RUN_ID_TAG = 'kiln-run-id';
