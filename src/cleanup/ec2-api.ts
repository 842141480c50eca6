/**
 * The cleanup calls over the AWS SDK (loaded by the caller, lazily). Listing asks EC2 for
 * resources carrying the `kiln-run-id` tag, so untagged resources are never even seen.
 */
import type { EC2Client, Filter, Tag } from '@aws-sdk/client-ec2';
import type { CleanupApi } from './execute.js';
import type { Found } from './plan.js';
import { markSnapshotsIncomplete, RUN_ID_TAG, STATE_INCOMPLETE, STATE_TAG } from './tags.js';

type Sdk = typeof import('@aws-sdk/client-ec2');

function tag(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

function date(v: Date | string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Collects every page of a paginated Describe call. */
async function pages<T>(
  call: (token: string | undefined) => Promise<{ NextToken?: string; items: T[] }>,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await call(token);
    out.push(...page.items);
    token = page.NextToken || undefined;
  } while (token !== undefined);
  return out;
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && /\.NotFound$/.test((err as { Code?: string }).Code ?? err.name);
}

export function ec2CleanupApi(sdk: Sdk, client: EC2Client, region: string): CleanupApi {
  const tagged: Filter[] = [{ Name: 'tag-key', Values: [RUN_ID_TAG] }];
  return {
    region,
    async list() {
      const found: Found[] = [];
      const reservations = await pages(async (NextToken) => {
        const o = await client.send(
          new sdk.DescribeInstancesCommand({
            Filters: [
              ...tagged,
              // Terminated instances stay visible for a while; they are not leaks.
              {
                Name: 'instance-state-name',
                Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'],
              },
            ],
            NextToken,
          }),
        );
        return { NextToken: o.NextToken, items: o.Reservations ?? [] };
      });
      for (const r of reservations) {
        for (const i of r.Instances ?? []) {
          if (!i.InstanceId || i.State?.Name === 'terminated') continue;
          found.push({
            kind: 'instance',
            id: i.InstanceId,
            region,
            runId: tag(i.Tags, RUN_ID_TAG) ?? '',
            created: date(i.LaunchTime),
            instanceState: i.State?.Name,
          });
        }
      }
      const images = await client.send(new sdk.DescribeImagesCommand({ Owners: ['self'], Filters: tagged }));
      for (const i of images.Images ?? []) {
        if (!i.ImageId || i.State === 'deregistered') continue;
        found.push({
          kind: 'AMI',
          id: i.ImageId,
          region,
          runId: tag(i.Tags, RUN_ID_TAG) ?? '',
          created: date(i.CreationDate),
          state: tag(i.Tags, STATE_TAG) ?? '',
          snapshots: (i.BlockDeviceMappings ?? [])
            .map((m) => m.Ebs?.SnapshotId ?? '')
            .filter((s) => s !== ''),
        });
      }
      const snapshots = await pages(async (NextToken) => {
        const o = await client.send(
          new sdk.DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: tagged, NextToken }),
        );
        return { NextToken: o.NextToken, items: o.Snapshots ?? [] };
      });
      for (const s of snapshots) {
        if (!s.SnapshotId) continue;
        found.push({
          kind: 'snapshot',
          id: s.SnapshotId,
          region,
          runId: tag(s.Tags, RUN_ID_TAG) ?? '',
          created: date(s.StartTime),
          state: tag(s.Tags, STATE_TAG) ?? '',
        });
      }
      // A snapshot marked incomplete that no kiln AMI lists looks orphaned; make sure no other AMI
      // of the account (untagged, or its tags removed) still uses it. One more call, only then.
      const listedUse = new Set(found.flatMap((f) => (f.kind === 'AMI' ? (f.snapshots ?? []) : [])));
      const orphans = found.filter(
        (f) => f.kind === 'snapshot' && f.state === STATE_INCOMPLETE && !listedUse.has(f.id),
      );
      if (orphans.length > 0) {
        const users = new Map<string, string[]>();
        const all = await client.send(new sdk.DescribeImagesCommand({ Owners: ['self'] }));
        for (const i of all.Images ?? []) {
          if (!i.ImageId || i.State === 'deregistered') continue;
          for (const m of i.BlockDeviceMappings ?? []) {
            const s = m.Ebs?.SnapshotId;
            if (s) users.set(s, [...(users.get(s) ?? []), i.ImageId]);
          }
        }
        for (const o of orphans) if (users.has(o.id)) o.usedBy = users.get(o.id);
      }
      const volumes = await pages(async (NextToken) => {
        const o = await client.send(new sdk.DescribeVolumesCommand({ Filters: tagged, NextToken }));
        return { NextToken: o.NextToken, items: o.Volumes ?? [] };
      });
      for (const v of volumes) {
        if (!v.VolumeId || v.State === 'deleting' || v.State === 'deleted') continue;
        found.push({
          kind: 'volume',
          id: v.VolumeId,
          region,
          runId: tag(v.Tags, RUN_ID_TAG) ?? '',
          created: date(v.CreateTime),
        });
      }
      const groups = await pages(async (NextToken) => {
        const o = await client.send(new sdk.DescribeSecurityGroupsCommand({ Filters: tagged, NextToken }));
        return { NextToken: o.NextToken, items: o.SecurityGroups ?? [] };
      });
      for (const g of groups) {
        if (!g.GroupId) continue;
        // Security groups carry no creation time: the run's other resources date them.
        found.push({ kind: 'security group', id: g.GroupId, region, runId: tag(g.Tags, RUN_ID_TAG) ?? '' });
      }
      const keys = await client.send(new sdk.DescribeKeyPairsCommand({ Filters: tagged }));
      for (const k of keys.KeyPairs ?? []) {
        if (!k.KeyName) continue;
        found.push({
          kind: 'key pair',
          id: k.KeyName,
          region,
          runId: tag(k.Tags, RUN_ID_TAG) ?? '',
          created: date(k.CreateTime),
        });
      }
      const templates = await pages(async (NextToken) => {
        const o = await client.send(new sdk.DescribeLaunchTemplatesCommand({ Filters: tagged, NextToken }));
        return { NextToken: o.NextToken, items: o.LaunchTemplates ?? [] };
      });
      for (const t of templates) {
        if (!t.LaunchTemplateName) continue;
        found.push({
          kind: 'launch template',
          id: t.LaunchTemplateName,
          region,
          runId: tag(t.Tags, RUN_ID_TAG) ?? '',
          created: date(t.CreateTime),
        });
      }
      return found;
    },
    async terminateInstance(id) {
      await client.send(new sdk.TerminateInstancesCommand({ InstanceIds: [id] }));
    },
    async instanceStates(ids) {
      const states = new Map<string, string>();
      const describe = async (InstanceIds: string[]) => {
        const o = await client.send(new sdk.DescribeInstancesCommand({ InstanceIds }));
        for (const r of o.Reservations ?? [])
          for (const i of r.Instances ?? []) if (i.InstanceId) states.set(i.InstanceId, i.State?.Name ?? '');
      };
      try {
        await describe(ids);
      } catch (err) {
        if (!isNotFound(err) || ids.length === 1) throw err;
        // One unknown id fails the whole call: ask one by one, an unknown one is gone.
        for (const id of ids)
          await describe([id]).catch((e: unknown) => {
            if (!isNotFound(e)) throw e;
          });
      }
      return states;
    },
    async deregisterImage(id) {
      await client.send(new sdk.DeregisterImageCommand({ ImageId: id }));
    },
    async markSnapshots(ids, runId) {
      await markSnapshotsIncomplete({ client, sdk }, ids, runId);
    },
    async deleteSnapshot(id) {
      await client.send(new sdk.DeleteSnapshotCommand({ SnapshotId: id }));
    },
    async volume(id) {
      const o = await client.send(new sdk.DescribeVolumesCommand({ VolumeIds: [id] }));
      const v = o.Volumes?.[0];
      if (!v) return undefined;
      return {
        state: v.State ?? '',
        attachedTo: (v.Attachments ?? []).map((a) => a.InstanceId ?? '').filter((i) => i !== ''),
      };
    },
    async deleteVolume(id) {
      await client.send(new sdk.DeleteVolumeCommand({ VolumeId: id }));
    },
    async deleteSecurityGroup(id) {
      await client.send(new sdk.DeleteSecurityGroupCommand({ GroupId: id }));
    },
    async deleteKeyPair(name) {
      await client.send(new sdk.DeleteKeyPairCommand({ KeyName: name }));
    },
    async deleteLaunchTemplate(name) {
      try {
        await client.send(new sdk.DeleteLaunchTemplateCommand({ LaunchTemplateName: name }));
      } catch (err) {
        const code = err instanceof Error ? ((err as { Code?: string }).Code ?? err.name) : '';
        if (!/^InvalidLaunchTemplate(Name|Id)\.NotFound/.test(code)) throw err;
      }
    },
  };
}
