/**
 * The image steps (spec §B.17–B.21): force-deregister, CreateImage + wait (with the half-made
 * AMI's removal on failure), region copies, attributes, tags.
 */
import type { Image } from '@aws-sdk/client-ec2';
import { randomInt, randomUUID } from 'node:crypto';
import type { Step } from '../../../../core/runner/step.js';
import type { Ui } from '../../../../ui/ui.js';
import { awsErrorCode, awsErrorText, type Ec2 } from '../aws.js';
import { goMultiError } from '../../../../util/errors.js';
import {
  addLeftover,
  buildInfo,
  dropLeftover,
  echoTags,
  renderTags,
  RUN_ID_TAG,
  type AmazonState,
} from '../state.js';
import { imageWait, poll, retry, WaiterError } from '../waiters.js';
import {
  incompleteImageTagSpecifications,
  markImagesComplete,
  markSnapshotsIncomplete,
} from '../../../../cleanup/tags.js';
import { toMapping } from './instance-steps.js';
import { alreadyGone, attemptsOf, eventually, lookUp, mayHaveHappened } from '../retry.js';

type S = AmazonState;

function snapshotIds(img: Image | undefined): string[] {
  return (img?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId ?? '').filter((s) => s !== '');
}

/** Waits for an image to be available and returns its final description (spec §B.16). */
async function waitImage(state: S, ec2: Ec2, id: string, signal?: AbortSignal): Promise<Image> {
  const img = await poll(
    async () =>
      (await ec2.client.send(new ec2.sdk.DescribeImagesCommand({ ImageIds: [id] }), { abortSignal: signal }))
        .Images?.[0],
    (i) => (i?.State === 'available' ? 'success' : i?.State === 'failed' ? 'failure' : 'retry'),
    imageWait(state.config.aws_polling),
    signal,
  );
  if (!img) throw new WaiterError('ResourceNotReady: exceeded wait attempts');
  return img;
}

/** The ResourceNotReady rewrite Packer applies to the AMI waiter. */
function amiWaitError(err: unknown): string {
  const text = err instanceof WaiterError ? err.message : awsErrorText(err);
  if (!text.startsWith('ResourceNotReady')) return text;
  // parity:
  return `Failed with ResourceNotReady error, which can have a variety of causes. For help troubleshooting, check our docs: https://www.packer.io/docs/builders/amazon.html#resourcenotready-error\noriginal error: ${text}`;
}

/**
 * Deregisters an image and deletes its snapshots (11 tries on UnauthorizedOperation). Given the
 * build's run id, the snapshots are first marked `kiln-state=incomplete`: a build killed between
 * DeregisterImage and DeleteSnapshot leaves snapshots that `kiln cleanup` recognises as orphans.
 */
export async function destroyImage(
  ec2: Ec2,
  img: Image,
  opts: {
    /** Where to say "Deregistered AMI id: …" and "Deleted snapshot: …" (Packer's lines). */
    ui?: Ui;
    /** false: remove silently (the intermediary image of encrypt_boot, as 1.6.6). Default true. */
    say?: boolean;
    /** The build's run id: mark the snapshots before deregistering. '' (default): do not mark. */
    runId?: string;
  } = {},
): Promise<void> {
  const { ui, say = true, runId = '' } = opts;
  const { client, sdk } = ec2;
  const unauthorized = (err: unknown) => awsErrorCode(err) === 'UnauthorizedOperation';
  // A lost answer to an earlier try: the image or snapshot is gone already.
  const gone = async (fn: () => Promise<unknown>) =>
    fn().catch((err: unknown) => {
      if (!alreadyGone(err)) throw err;
    });
  const snaps = snapshotIds(img);
  // Best effort: a failure here must not keep the image from being removed.
  if (runId !== '') await markSnapshotsIncomplete(ec2, snaps, runId).catch(() => undefined);
  await retry(
    11,
    () => gone(() => client.send(new sdk.DeregisterImageCommand({ ImageId: img.ImageId }))),
    unauthorized,
  );
  if (say) ui?.say(`Deregistered AMI id: ${img.ImageId ?? ''}`); // parity:
  for (const snap of snaps) {
    await retry(
      11,
      () => gone(() => client.send(new sdk.DeleteSnapshotCommand({ SnapshotId: snap }))),
      unauthorized,
    );
    if (say) ui?.say(`Deleted snapshot: ${snap}`); // parity:
  }
}

export const stepDeregisterAmi: Step<S> = {
  name: 'StepDeregisterAMI',
  async run(state, { ui, signal }) {
    const c = state.config;
    if (!c.force_deregister || c.ami_name === '') return 'continue';
    for (const region of [...c.ami_regions, state.ec2.region]) {
      const ec2 = await state.ec2For(region);
      let imgs;
      try {
        imgs = await ec2.client.send(
          new ec2.sdk.DescribeImagesCommand({
            Owners: ['self'],
            Filters: [{ Name: 'name', Values: [c.ami_name] }],
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw new Error(`Error describing AMI: ${awsErrorText(err)}`); // parity:
      }
      for (const img of imgs.Images ?? []) {
        try {
          await ec2.client.send(new ec2.sdk.DeregisterImageCommand({ ImageId: img.ImageId }), {
            abortSignal: signal,
          });
        } catch (err) {
          throw new Error(`Error deregistering existing AMI: ${awsErrorText(err)}`); // parity:
        }
        ui.say(`Deregistered AMI ${c.ami_name}, id: ${img.ImageId ?? ''}`); // parity:
        if (c.force_delete_snapshot) {
          for (const snap of snapshotIds(img)) {
            try {
              await ec2.client.send(new ec2.sdk.DeleteSnapshotCommand({ SnapshotId: snap }), {
                abortSignal: signal,
              });
            } catch (err) {
              throw new Error(`Error deleting existing snapshot: ${awsErrorText(err)}`); // parity:
            }
            ui.say(`Deleted snapshot: ${snap}`); // parity:
          }
        }
      }
    }
    return 'continue';
  },
};

function alnum(n: number): string {
  const chars = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return Array.from({ length: n }, () => chars[randomInt(chars.length)]).join('');
}

/** Whether CreateImage makes an intermediary image (re-copied encrypted, or not kept in the build region). */
function intermediary(state: S): boolean {
  return state.config.encrypt_boot === true || state.config.skip_save_build_region;
}

export const stepCreateAmi: Step<S> & { created?: Image } = {
  name: 'stepCreateAMI',
  async run(state, { ui, signal }) {
    const c = state.config;
    const { client, sdk } = state.ec2;
    const id = state.instanceId ?? '';
    const name = intermediary(state) ? alnum(7) : c.ami_name;
    ui.say(`Creating AMI ${name} from instance ${id}`); // parity:
    let out;
    // Set when a try may have made the image although its answer was lost (dropped connection,
    // 5xx): the next try then meets InvalidAMIName.Duplicate, and that image is ours.
    let unsure = false;
    const ours = (tries: number): Promise<string> =>
      lookUp(async () => {
        const d = await client.send(
          new sdk.DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
        );
        return d.Images?.find((i) => i.State !== 'deregistered')?.ImageId ?? '';
      }, tries);
    try {
      out = await retry(
        0,
        () =>
          client
            .send(
              new sdk.CreateImageCommand({
                InstanceId: id,
                Name: name,
                ...(c.ami_block_device_mappings.length > 0
                  ? { BlockDeviceMappings: c.ami_block_device_mappings.map(toMapping) }
                  : {}),
                // Marked half-made from its first moment (for `kiln cleanup`); unmarked at the end. Its
                // snapshots are marked before anything deregisters the image (destroyImage): a
                // "snapshot" TagSpecification here is refused by moto (the lab's EC2) with a 500.
                TagSpecifications: incompleteImageTagSpecifications(state.runId),
              }),
              { abortSignal: signal },
            )
            .catch(async (err: unknown) => {
              if (awsErrorCode(err) === 'InvalidAMIName.Duplicate' && (unsure || attemptsOf(err) > 1)) {
                const found = await ours(6);
                if (found !== '') return { ImageId: found };
              }
              if (mayHaveHappened(err)) unsure = true;
              throw err;
            }),
        (err) =>
          awsErrorCode(err) === 'InvalidParameterValue' &&
          String((err as Error).message).includes('Instance is not in state'),
        AbortSignal.any([signal, AbortSignal.timeout(15 * 60_000)]),
      );
    } catch (err) {
      if (unsure || mayHaveHappened(err)) {
        // Made but never heard of: recorded, so that this step's cleanup removes it.
        const found = await ours(3);
        if (found !== '') {
          state.createdImage = found;
          addLeftover(state, { kind: 'AMI', id: found, region: state.ec2.region });
        }
      }
      throw new Error(`Error creating AMI: ${awsErrorText(err)}`); // parity:
    }
    const amiId = out.ImageId ?? '';
    ui.message(`AMI: ${amiId}`); // parity:
    state.amis = { [state.ec2.region]: amiId };
    state.createdImage = amiId;
    addLeftover(state, { kind: 'AMI', id: amiId, region: state.ec2.region });
    ui.say('Waiting for AMI to become ready...'); // parity:
    let img: Image;
    try {
      img = await waitImage(state, state.ec2, amiId, signal);
    } catch (err) {
      const waitText = amiWaitError(err);
      try {
        const d = await client.send(new sdk.DescribeImagesCommand({ ImageIds: [amiId] }));
        const reason = d.Images?.[0]?.StateReason;
        if (reason) {
          // parity:
          throw new Error(
            `Error waiting for AMI: ${waitText}. DescribeImages returned the state reason: {\n  Code: "${reason.Code ?? ''}",\n  Message: "${reason.Message ?? ''}"\n}`,
          );
        }
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('Error waiting for AMI')) throw e;
        throw new Error(
          `Unknown error waiting for AMI; ${waitText}. DescribeImages returned an error: ${awsErrorText(e)}`,
        ); // parity:
      }
      throw new Error(`Error waiting for AMI: ${waitText}`); // parity:
    }
    // The waiter's last answer already lists the snapshots (1.6.6 described the image again).
    state.images[state.ec2.region] = img;
    state.snapshots = { [state.ec2.region]: snapshotIds(img) };
    for (const s of snapshotIds(img))
      addLeftover(state, { kind: 'snapshot', id: s, region: state.ec2.region });
    return 'continue';
  },
  async cleanup(state, ui) {
    const id = state.createdImage;
    if (!id) return;
    if (!state.cancelled && !state.halted) {
      // Success: the AMI and its snapshots are the product, not leftovers.
      state.leftovers = state.leftovers.filter((l) => l.kind !== 'AMI' && l.kind !== 'snapshot');
      return;
    }
    ui.say('Deregistering the AMI and deleting associated snapshots because of cancellation, or error...'); // parity:
    const { client, sdk } = state.ec2;
    try {
      const d = await client.send(new sdk.DescribeImagesCommand({ ImageIds: [id] }));
      for (const img of d.Images ?? []) {
        await destroyImage(state.ec2, img, { ui, runId: state.runId });
        dropLeftover(state, img.ImageId ?? '');
        for (const s of snapshotIds(img)) dropLeftover(state, s);
      }
    } catch (err) {
      ui.error(`Error deregistering AMI, may still be around: ${awsErrorText(err)}`);
    }
  },
};

/**
 * A failed or cancelled build keeps none of its region copies (1.6.6 left them, registered, in
 * every other region): each copy this step made is deregistered and its snapshots deleted. The
 * build region's own image is StepCreateAMI's to remove.
 */
async function removeCopies(state: S, ui: Ui): Promise<void> {
  const copies = Object.entries(state.amis).filter(([, id]) => id !== '' && id !== state.createdImage);
  if (copies.length === 0) return;
  ui.say('Deregistering the AMI copies and deleting their snapshots because of cancellation, or error...');
  for (const [region, id] of copies) {
    try {
      const ec2 = await state.ec2For(region);
      const known = state.images[region];
      const img =
        known?.ImageId === id
          ? known
          : (await ec2.client.send(new ec2.sdk.DescribeImagesCommand({ ImageIds: [id] }))).Images?.[0];
      await destroyImage(ec2, img ?? { ImageId: id }, { ui, runId: state.runId });
      dropLeftover(state, id);
      for (const s of snapshotIds(img ?? {})) dropLeftover(state, s);
      delete state.amis[region];
    } catch (err) {
      ui.error(
        `Cannot deregister the AMI copy ${id} in ${region} (it may still be around): ${awsErrorText(err)}`,
      );
    }
  }
}

export const stepAmiRegionCopy: Step<S> = {
  name: 'StepAMIRegionCopy',
  async run(state, { ui, signal }) {
    const c = state.config;
    const build = state.ec2.region;
    const source = state.amis[build];
    const targets = new Set(c.ami_regions);
    if (intermediary(state) && !c.skip_save_build_region) targets.add(build);
    else targets.delete(build);
    if (targets.size === 0) return 'continue';
    if (intermediary(state)) state.intermediaryImage = state.images[build];
    ui.say(`Copying/Encrypting AMI (${source}) to other regions...`); // parity:
    const keys = { ...c.region_kms_key_ids };
    if (c.encrypt_boot === true) {
      if (c.kms_key_id !== '' && !(build in keys)) keys[build] = c.kms_key_id;
    }
    for (const r of targets) ui.message(`Copying to: ${r}`); // parity:
    ui.message('Waiting for all copies to complete...'); // parity:
    const errs: string[] = [];
    await Promise.all(
      [...targets].map(async (region) => {
        const ec2 = await state.ec2For(region);
        let newId: string;
        try {
          const out = await ec2.client.send(
            new ec2.sdk.CopyImageCommand({
              SourceRegion: build,
              SourceImageId: source,
              Name: c.ami_name,
              ...(c.encrypt_boot !== undefined ? { Encrypted: c.encrypt_boot } : {}),
              ...(keys[region] ? { KmsKeyId: keys[region] } : {}),
              TagSpecifications: incompleteImageTagSpecifications(state.runId, ['image', 'snapshot']),
              // Idempotent: the SDK's retry after a lost answer gets the same copy, not a second one.
              ClientToken: randomUUID(),
            }),
            { abortSignal: signal },
          );
          newId = out.ImageId ?? '';
        } catch (err) {
          // Every answer lost (or a 5xx after EC2 acted): the copy may exist. Found by the run's tag
          // (CopyImage tags it at creation), it is recorded so that cleanup deregisters it.
          if (mayHaveHappened(err)) {
            const found = await lookUp(async () => {
              const d = await ec2.client.send(
                new ec2.sdk.DescribeImagesCommand({
                  Owners: ['self'],
                  Filters: [{ Name: `tag:${RUN_ID_TAG}`, Values: [state.runId] }],
                }),
              );
              const copy = d.Images?.find((i) => i.State !== 'deregistered' && i.ImageId !== source);
              return copy?.ImageId ?? '';
            }, 3);
            if (found !== '') {
              state.amis[region] = found;
              addLeftover(state, { kind: 'AMI', id: found, region });
            }
          }
          errs.push(`Error Copying AMI (${source}) to region (${region}): ${awsErrorText(err)}`); // parity:
          return;
        }
        state.amis[region] = newId;
        addLeftover(state, { kind: 'AMI', id: newId, region });
        try {
          const img = await waitImage(state, ec2, newId, signal);
          state.images[region] = img;
          state.snapshots[region] = snapshotIds(img);
        } catch (err) {
          errs.push(`Error waiting for AMI (${newId}) in region (${region}): ${amiWaitError(err)}`); // parity:
        }
      }),
    );
    if (errs.length > 0) throw new Error(goMultiError(errs).trimEnd());
    return 'continue';
  },
  async cleanup(state, ui) {
    if (state.cancelled || state.halted) await removeCopies(state, ui);
    const img = state.intermediaryImage;
    if (!img) return;
    ui.say('Deregistering the AMI and deleting unencrypted temporary AMIs and snapshots'); // parity:
    try {
      await destroyImage(state.ec2, img, { ui, say: false, runId: state.runId });
      dropLeftover(state, img.ImageId ?? '');
      for (const s of snapshotIds(img)) dropLeftover(state, s);
      // Fixed 1.6.6 quirk (H.12): the deleted intermediary is not reported as an artifact.
      const build = state.ec2.region;
      if (state.amis[build] === img.ImageId) delete state.amis[build];
    } catch (err) {
      ui.error(awsErrorText(err));
    }
  },
};

export const stepModifyAmiAttributes: Step<S> = {
  name: 'StepModifyAMIAttributes',
  async run(state, { ui, signal }) {
    const c = state.config;
    const any =
      c.ami_description !== '' ||
      c.ami_users.length +
        c.ami_groups.length +
        c.ami_product_codes.length +
        c.snapshot_users.length +
        c.snapshot_groups.length >
        0;
    if (!any) return 'continue';
    let description = '';
    try {
      description = state.render(c.ami_description, buildInfo(state));
    } catch (err) {
      throw new Error(`Error interpolating AMI description: ${(err as Error).message}`); // parity:
    }
    for (const [region, ami] of Object.entries(state.amis)) {
      const ec2 = await state.ec2For(region);
      ui.say(`Modifying attributes on AMI (${ami})...`); // parity:
      const mods: [string, object][] = [];
      if (c.ami_description !== '') mods.push(['description', { Description: { Value: description } }]);
      if (c.ami_groups.length > 0) {
        mods.push([
          'groups',
          { UserGroups: c.ami_groups, LaunchPermission: { Add: c.ami_groups.map((Group) => ({ Group })) } },
        ]);
      }
      if (c.ami_users.length > 0) {
        mods.push([
          'users',
          { UserIds: c.ami_users, LaunchPermission: { Add: c.ami_users.map((UserId) => ({ UserId })) } },
        ]);
      }
      if (c.ami_product_codes.length > 0) mods.push(['product codes', { ProductCodes: c.ami_product_codes }]);
      for (const [what, input] of mods) {
        ui.message(`Modifying: ${what}`); // parity:
        try {
          await ec2.client.send(new ec2.sdk.ModifyImageAttributeCommand({ ImageId: ami, ...input }), {
            abortSignal: signal,
          });
        } catch (err) {
          throw new Error(`Error modify AMI attributes: ${awsErrorText(err)}`); // parity:
        }
      }
      const smods: [string, object][] = [];
      if (c.snapshot_users.length > 0) {
        smods.push([
          'users',
          {
            UserIds: c.snapshot_users,
            CreateVolumePermission: { Add: c.snapshot_users.map((UserId) => ({ UserId })) },
          },
        ]);
      }
      if (c.snapshot_groups.length > 0) {
        smods.push([
          'groups',
          {
            GroupNames: c.snapshot_groups,
            CreateVolumePermission: { Add: c.snapshot_groups.map((Group) => ({ Group })) },
          },
        ]);
      }
      if (smods.length === 0) continue;
      for (const snap of state.snapshots[region] ?? []) {
        ui.say(`Modifying attributes on snapshot (${snap})...`); // parity:
        for (const [what, input] of smods) {
          ui.message(`Modifying: ${what}`); // parity:
          try {
            await ec2.client.send(
              new ec2.sdk.ModifySnapshotAttributeCommand({ SnapshotId: snap, ...input }),
              { abortSignal: signal },
            );
          } catch (err) {
            throw new Error(`Error modify snapshot attributes: ${awsErrorText(err)}`); // parity:
          }
        }
      }
    }
    return 'continue';
  },
};

export const stepCreateTags: Step<S> = {
  name: 'StepCreateTags',
  async run(state, { ui, signal }) {
    const c = state.config;
    if (Object.keys(c.tags).length === 0 && Object.keys(c.snapshot_tags).length === 0) return 'continue';
    const amiTags = renderTags(state, c.tags);
    const snapTags = renderTags(state, c.snapshot_tags);
    for (const [region, ami] of Object.entries(state.amis)) {
      const ec2 = await state.ec2For(region);
      ui.say(`Adding tags to AMI (${ami})...`); // parity:
      // The image was described when it became available; 1.6.6 described it once more here.
      let img = state.images[region];
      if (!img || img.ImageId !== ami) {
        try {
          img = (
            await ec2.client.send(new ec2.sdk.DescribeImagesCommand({ ImageIds: [ami] }), {
              abortSignal: signal,
            })
          ).Images?.[0] as Image;
        } catch (err) {
          throw new Error(`Error retrieving details for AMI (${ami}): ${awsErrorText(err)}`); // parity:
        }
        if (!img) throw new Error(`Error retrieving details for AMI (${ami}), no images found`); // parity:
      }
      const snaps = snapshotIds(img);
      for (const s of snaps) ui.say(`Tagging snapshot: ${s}`); // parity:
      ui.say('Creating AMI tags'); // parity:
      echoTags(ui, amiTags);
      ui.say('Creating snapshot tags'); // parity:
      echoTags(ui, snapTags);
      // The run id rides along (no extra call), so `kiln cleanup` can relate the snapshots to the run.
      const send = async (resources: string[], tags: [string, string][]) => {
        const all = [...tags.filter(([k]) => k !== RUN_ID_TAG), [RUN_ID_TAG, state.runId]];
        try {
          // The image made moments ago may not be visible to CreateTags yet (eventual consistency).
          await eventually(
            () =>
              ec2.client.send(
                new ec2.sdk.CreateTagsCommand({
                  Resources: resources,
                  Tags: all.map(([Key, Value]) => ({ Key, Value })),
                }),
                {
                  abortSignal: signal,
                },
              ),
            ['InvalidAMIID.NotFound', 'InvalidSnapshot.NotFound'],
            signal,
          );
        } catch (err) {
          throw new Error(
            `Error adding tags to Resources (${JSON.stringify(resources)}): ${awsErrorText(err)}`,
          ); // parity:
        }
      };
      if (amiTags.length > 0) await send([ami, ...snaps], amiTags);
      if (snapTags.length > 0 && snaps.length > 0) await send(snaps, snapTags);
    }
    return 'continue';
  },
};

/**
 * kiln's own last step: the images are finished, so the `kiln-state=incomplete` mark goes (one
 * DeleteTags per region). If that fails the build fails and the AMIs are removed: an AMI still
 * marked incomplete must never outlive a build that reported success.
 */
export const stepMarkImagesComplete: Step<S> = {
  name: 'StepMarkImagesComplete',
  async run(state, { signal }) {
    for (const [region, ami] of Object.entries(state.amis)) {
      if (state.intermediaryImage?.ImageId === ami) continue;
      try {
        // The AMI and its snapshots in one call: a finished AMI's snapshot left marked would be
        // taken for an orphan by `kiln cleanup` once the AMI is deregistered.
        await markImagesComplete(
          await state.ec2For(region),
          [ami, ...(state.snapshots[region] ?? [])],
          signal,
        );
      } catch (err) {
        throw new Error(`Cannot mark AMI ${ami} (${region}) as complete: ${awsErrorText(err)}`);
      }
    }
    return 'continue';
  },
};
