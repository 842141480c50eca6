/**
 * Running an amazon-ebs build (spec §B): the step list of Packer 1.6.6 in its order, run by the
 * core step runner (-on-error, -debug), then the artifact. Loaded only when a build runs; this is
 * where the AWS SDK and the SSH code come in.
 */
import type { Artifact, BuildContext, PackerConfig } from '../../core/types.js';
import { runSteps, stepProvision, type Step, type StepList } from '../../core/runner/index.js';
import { stepConnect } from '../../communicator/step-connect.js';
import { stepCleanupTempKeys } from '../../communicator/step-cleanup-temp-keys.js';
import { interpolationContext } from '../../config/decode.js';
import { defaultEngine } from '../../config/render-walk.js';
import { UserError } from '../../util/errors.js';
import { AmiArtifact, EBS_BUILDER_ID } from '../amazon/common/artifact.js';
import { createEc2, resolveRegion, type CredentialsInput, type Ec2 } from '../amazon/common/aws.js';
import type { Iam } from '../amazon/common/iam.js';
import { resolveCredentials } from '../amazon/common/session.js';
import { sshOptions } from '../amazon/common/comm.js';
import { buildInfo, RUN_ID_TAG, type AmazonState } from '../amazon/common/state.js';
import {
  stepIamInstanceProfile,
  stepKeyPair,
  stepNetworkInfo,
  stepPreValidate,
  stepSecurityGroup,
  stepSourceAmiInfo,
} from '../amazon/common/steps/prepare-steps.js';
import {
  stepCleanupVolumes,
  stepModifyEbsBackedInstance,
  stepRunSourceInstance,
  stepStopEbsBackedInstance,
} from '../amazon/common/steps/instance-steps.js';
import { isSpot, stepRunSpotInstance } from '../amazon/common/steps/spot-steps.js';
import { stepCreateSsmTunnel, type SsmState } from '../amazon/common/steps/ssm-tunnel.js';
import { createSsm, findOnPath, missingPluginMessage, PLUGIN, type Ssm } from '../amazon/common/ssm.js';
import {
  stepAmiRegionCopy,
  stepCreateAmi,
  stepCreateTags,
  stepDeregisterAmi,
  stepMarkImagesComplete,
  stepModifyAmiAttributes,
} from '../amazon/common/steps/ami-steps.js';
import { extraFuncs, type EbsPrepared } from './config.js';

type EbsState = AmazonState & SsmState;

/** StepSetGeneratedData (B.12): the build-info values provisioners see through `build`. */
const stepSetGeneratedData: Step<EbsState> = {
  name: 'StepSetGeneratedData',
  async run(state) {
    const info = buildInfo(state);
    state.generatedData = {
      ...state.generatedData,
      SourceAMIName: String(info.SourceAMIName),
      BuildRegion: String(info.BuildRegion),
      SourceAMI: String(info.SourceAMI),
      SourceAMICreationDate: String(info.SourceAMICreationDate),
      SourceAMIOwner: String(info.SourceAMIOwner),
      SourceAMIOwnerName: String(info.SourceAMIOwnerName),
    };
    return 'continue';
  },
};

/**
 * The EC2 calls that make something. Once one is sent, kiln waits for its answer even after Ctrl-C:
 * abandoning it would leave a key pair, group, instance or AMI that the cloud made but the build
 * never learnt about, so no cleanup could remove it (spec §E.8). The waits and every other call
 * still stop at once.
 */
const CREATE_COMMANDS = [
  'CreateKeyPairCommand',
  'ImportKeyPairCommand',
  'CreateSecurityGroupCommand',
  'RunInstancesCommand',
  'RequestSpotInstancesCommand',
  'CreateFleetCommand',
  'CreateLaunchTemplateCommand',
  'CreateImageCommand',
  'CopyImageCommand',
  'CreateVolumeCommand',
  'CreateSnapshotCommand',
] as const;

/** The same for the temporary instance profile's IAM calls. */
const IAM_CREATE_COMMANDS = [
  'CreateInstanceProfileCommand',
  'CreateRoleCommand',
  'PutRolePolicyCommand',
  'AddRoleToInstanceProfileCommand',
] as const;

function finishCreates<T extends { sdk: unknown; client: unknown }>(
  api: T,
  names: readonly string[] = CREATE_COMMANDS,
): T {
  const sdk = api.sdk as Record<string, unknown>;
  const creates = names
    .map((n) => sdk[n])
    .filter((c): c is abstract new (...args: never[]) => unknown => typeof c === 'function');
  const client = api.client as {
    send(command: unknown, options?: { abortSignal?: unknown }, cb?: unknown): unknown;
  };
  const send = client.send.bind(client);
  client.send = (command, options, cb) =>
    options?.abortSignal && creates.some((c) => command instanceof c)
      ? send(command, { ...options, abortSignal: undefined }, cb)
      : send(command, options, cb);
  return api;
}

/** What Node and the SDK say when a call or a sleep is aborted. */
const ABORT_TEXTS = ['Request aborted', 'This operation was aborted', 'The operation was aborted'];

/**
 * An error of a step stopped by Ctrl-C, in aws-sdk-go's words as Packer prints it: a wait reports
 * its waiter's cancellation, any other call its request's.
 */
export function cancelledText(message: string): string {
  const hit = ABORT_TEXTS.find((t) => message.endsWith(`: ${t}`));
  if (!hit) return message;
  const head = message.slice(0, -hit.length);
  const what = head.startsWith('Error waiting for') ? 'waiter' : 'request';
  return `${head}RequestCanceled: ${what} context canceled\ncaused by: context canceled`; // parity: aws-sdk-go awserr
}

/** A step whose error, when Ctrl-C stopped it, reads as Packer's (see `cancelledText`). */
function inPackerWords(step: Step<EbsState> | undefined | false | null): Step<EbsState> | undefined {
  if (!step) return undefined;
  const wrapped = Object.create(step) as Step<EbsState>;
  wrapped.run = async (state, c) => {
    try {
      return await step.run(state, c);
    } catch (err) {
      if (c.signal.aborted && err instanceof Error) {
        const text = cancelledText(err.message);
        if (text !== err.message) throw new Error(text, { cause: err });
      }
      throw err;
    }
  };
  return wrapped;
}

export async function runEbs(
  prep: EbsPrepared,
  pc: PackerConfig,
  ctx: BuildContext,
): Promise<Artifact | undefined> {
  const cfg = prep.config;
  const region = resolveRegion(cfg);
  if (region === '') {
    throw new UserError(
      'Cannot run the amazon-ebs build: no region (set `region`, AWS_REGION or AWS_DEFAULT_REGION)',
    );
  }
  // session_manager needs AWS's plugin program: checked before any AWS call.
  if (cfg.ssh_interface === 'session_manager' && !findOnPath(PLUGIN)) {
    throw new UserError(missingPluginMessage());
  }
  // Vault's keys, the static keys, an assume_role provider: one set for every client of the build.
  let credentials: CredentialsInput | undefined;
  try {
    credentials = await resolveCredentials(cfg, region);
  } catch (err) {
    throw new UserError(err instanceof Error ? err.message : String(err));
  }
  const clients = new Map<string, Promise<Ec2>>();
  const ec2For = (r: string): Promise<Ec2> => {
    let c = clients.get(r);
    if (!c) {
      c = createEc2(cfg, r, credentials).then((c) => finishCreates(c));
      clients.set(r, c);
    }
    return c;
  };
  const ec2 = await ec2For(region);
  let ssmClient: Promise<Ssm> | undefined;
  let iamClient: Promise<Iam> | undefined;
  const baseCtx = interpolationContext(pc, undefined, extraFuncs);
  // Plain text needs no engine (and most tags are plain).
  const render = (text: string, data: Record<string, unknown>): string =>
    text.includes('{{') ? (prep.engine ?? defaultEngine()).render(text, { ...baseCtx, data }) : text;
  const state: EbsState = {
    config: cfg,
    ec2,
    ec2For,
    render,
    debug: pc.debug,
    buildName: pc.buildName,
    runId: pc.runUuid,
    vpcId: '',
    subnetId: '',
    availabilityZone: '',
    keyPairName: '',
    privateKey: '',
    securityGroupIds: [],
    instanceProfile: '',
    iam: () =>
      (iamClient ??= import('../amazon/common/iam.js')
        .then((m) => m.createIam(cfg, region, credentials))
        .then((iam) => finishCreates(iam, IAM_CREATE_COMMANDS))),
    launchVolumes: [],
    amis: {},
    snapshots: {},
    images: {},
    generatedData: {},
    leftovers: [],
  };
  const ssh = cfg.communicator === 'ssh' ? sshOptions(prep.comm) : undefined;
  const steps: StepList<EbsState> = [
    stepPreValidate,
    stepSourceAmiInfo,
    stepNetworkInfo,
    stepKeyPair,
    stepSecurityGroup,
    stepIamInstanceProfile,
    stepCleanupVolumes,
    isSpot(cfg) ? stepRunSpotInstance() : stepRunSourceInstance,
    stepCreateSsmTunnel<EbsState>({
      ssm: () => (ssmClient ??= createSsm(cfg, region, credentials)),
      connectTimeoutMs: prep.comm.sshTimeout,
    }),
    stepConnect<EbsState>({
      type: cfg.communicator,
      ssh,
      host: (s) => s.sshAddress ?? '',
      // session_manager: the tunnel's local port (B.11), whatever ssh_port says.
      port: (s) => (cfg.ssh_interface === 'session_manager' ? (s.sessionPort ?? 0) : cfg.ssh_port),
      privateKeys: (s) => (s.privateKey !== '' ? [s.privateKey] : []),
      timeoutMs: prep.comm.sshTimeout,
      handshakeAttempts: prep.comm.sshHandshakeAttempts,
      pauseBeforeConnectingMs: prep.comm.pauseBeforeConnecting,
      connectionInfo: (s) => ({
        sshPrivateKey: s.privateKey,
        sshPrivateKeyFile: cfg.ssh_private_key_file,
        sshAgentAuth: cfg.ssh_agent_auth,
      }),
      ...(process.env.KILN_TEST_SSH_RETRY_MS
        ? { retryDelayMs: Number(process.env.KILN_TEST_SSH_RETRY_MS) }
        : {}),
    }),
    stepSetGeneratedData,
    stepProvision<EbsState>(ctx.hook, pc.runUuid),
    stepCleanupTempKeys<EbsState>({
      clearAuthorizedKeys: cfg.ssh_clear_authorized_keys,
      type: cfg.communicator,
      keyPairName: state.config.temporary_key_pair_name,
    }),
    stepStopEbsBackedInstance,
    stepModifyEbsBackedInstance,
    stepDeregisterAmi,
    stepCreateAmi,
    stepAmiRegionCopy,
    stepModifyAmiAttributes,
    stepCreateTags,
    stepMarkImagesComplete,
  ];
  await runSteps(steps.map(inPackerWords), state, {
    ui: ctx.ui,
    signal: ctx.signal,
    onError: pc.onError,
    debug: pc.debug,
    stepTimings: ctx.stepTimings,
  });
  if (state.error || state.cancelled) {
    // -on-error=abort skips StepConnect's cleanup: the cloud resources stay, the local SSH
    // connection must not (it would keep the process alive).
    await state.communicator?.close().catch(() => undefined);
  }
  if (state.leftovers.length > 0 && (state.error || state.cancelled)) {
    ctx.ui.error(
      `Temporary resources left behind (tagged ${RUN_ID_TAG}=${state.runId} where AWS allows tags); delete them yourself:`,
    );
    for (const l of state.leftovers) ctx.ui.message(`${l.kind} ${l.id} (${l.region})`);
    // kiln's addition: the volumes of an instance left running, so the list is the whole account
    // change (the ones with delete_on_termination go when the instance is terminated).
    const inst = state.leftovers.find((l) => l.kind === 'instance' && l.id === state.instanceId);
    if (inst) {
      const listed = new Set(state.leftovers.map((l) => l.id));
      let mappings = state.instance?.BlockDeviceMappings ?? [];
      if (!mappings.some((m) => m.Ebs?.VolumeId)) {
        // Stopped before the instance was running: its volumes are not known yet; one look.
        try {
          const { client, sdk } = state.ec2;
          const out = await client.send(new sdk.DescribeInstancesCommand({ InstanceIds: [inst.id] }));
          mappings = out.Reservations?.[0]?.Instances?.[0]?.BlockDeviceMappings ?? [];
        } catch {
          ctx.ui.message(`(the volumes of ${inst.id} could not be listed)`);
        }
      }
      for (const m of mappings) {
        const id = m.Ebs?.VolumeId;
        if (!id || listed.has(id)) continue;
        const dot = m.Ebs?.DeleteOnTermination ? ', deleted with it' : '';
        ctx.ui.message(`volume ${id} (${inst.region}; attached to ${inst.id}${dot})`);
      }
    }
  }
  if (state.error)
    throw new UserError(state.cancelled ? cancelledText(state.error.message) : state.error.message);
  if (state.cancelled) return undefined;
  if (Object.keys(state.amis).length === 0) return undefined;
  return new AmiArtifact(EBS_BUILDER_ID, state.amis, state.generatedData, ec2For);
}
