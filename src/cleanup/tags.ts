/**
 * The tags `kiln cleanup` recognises kiln's resources by, and the two helpers the amazon builder
 * calls so that a half-made AMI can be told from a finished one.
 *
 * - `kiln-run-id=<run uuid>` on every temporary resource (key pair, security group, instance,
 *   volumes) and on every AMI and snapshot the run makes.
 * - `kiln-state=incomplete` on an AMI and its snapshots from the moment CreateImage/CopyImage
 *   makes them (TagSpecifications of ResourceType `image` and `snapshot`) until the build has
 *   finished with them; the builder then deletes that tag from both in one call
 *   ({@link markImagesComplete}). An AMI or snapshot carrying the run id without `kiln-state` is a
 *   product and cleanup never touches it; one with `kiln-state=incomplete` whose run is old enough
 *   is a leftover — a snapshot even when no AMI uses it any more (its AMI deregistered by a
 *   build's cleanup that died before deleting it), unless an AMI that stays still uses it.
 *
 * No SDK import here: the builder passes its client and SDK module in.
 */
import type { EC2Client, TagSpecification } from '@aws-sdk/client-ec2';

import { RUN_ID_TAG } from '../builders/amazon/common/state.js';

export { RUN_ID_TAG };

/** The tag marking an AMI or snapshot the build has not finished with. */
export const STATE_TAG = 'kiln-state';
/** The value of {@link STATE_TAG} while the image is half made. */
export const STATE_INCOMPLETE = 'incomplete';

/**
 * TagSpecifications for CreateImage and CopyImage: the image (and, with `snapshot`, the snapshots
 * the call makes) carries the run id and `kiln-state=incomplete` from its first moment. (moto 5.2.1
 * answers 500 to a `snapshot` specification on CreateImage — the tests' moto adds it, see
 * test/env/moto/server.py — and ignores CopyImage's specifications.)
 */
export function incompleteImageTagSpecifications(
  runId: string,
  resourceTypes: Array<'image' | 'snapshot'> = ['image'],
): TagSpecification[] {
  return resourceTypes.map((ResourceType) => ({ ResourceType, Tags: incompleteImageTags(runId) }));
}

/** The tags of a half-made AMI or snapshot, for CreateTags. */
export function incompleteImageTags(runId: string): Array<{ Key: string; Value: string }> {
  return [
    { Key: RUN_ID_TAG, Value: runId },
    { Key: STATE_TAG, Value: STATE_INCOMPLETE },
  ];
}

/**
 * Marks snapshots half-made (`kiln-run-id`, `kiln-state=incomplete`) in one CreateTags: whatever
 * deregisters a kiln AMI (the builder's cleanup, `kiln cleanup`) calls this first, so that
 * snapshots outliving their AMI are recognised as orphans.
 */
export async function markSnapshotsIncomplete(
  ec2: { client: EC2Client; sdk: typeof import('@aws-sdk/client-ec2') },
  snapshotIds: string[],
  runId: string,
): Promise<void> {
  if (snapshotIds.length === 0) return;
  await ec2.client.send(
    new ec2.sdk.CreateTagsCommand({ Resources: snapshotIds, Tags: incompleteImageTags(runId) }),
  );
}

/**
 * Marks AMIs and snapshots as finished (the build's product): removes `kiln-state` and keeps the
 * run id. The builder calls this once per region after the last image step succeeded.
 */
export async function markImagesComplete(
  ec2: { client: EC2Client; sdk: typeof import('@aws-sdk/client-ec2') },
  resourceIds: string[],
  signal?: AbortSignal,
): Promise<void> {
  if (resourceIds.length === 0) return;
  await ec2.client.send(
    new ec2.sdk.DeleteTagsCommand({ Resources: resourceIds, Tags: [{ Key: STATE_TAG }] }),
    { abortSignal: signal },
  );
}
