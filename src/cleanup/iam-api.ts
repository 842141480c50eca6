/**
 * `kiln cleanup` for IAM (global, not per region): the temporary instance profiles and roles of
 * `temporary_iam_instance_profile_policy_document` (named `packer-<uuid>`, tagged `kiln-run-id`).
 *
 * IAM's list calls do not return tags (ListRoles, ListInstanceProfiles; moto behaves the same), so
 * listing takes the `packer-` names and asks GetRole / GetInstanceProfile for each one's tags; only
 * those carrying `kiln-run-id` are kiln's. Removal undoes what the builder did: a profile loses its
 * roles, then goes; a role loses its inline policies and profile memberships, then goes.
 */
import type { IAMClient, Tag } from '@aws-sdk/client-iam';
import type { CleanupApi } from './execute.js';
import type { Found } from './plan.js';
import { RUN_ID_TAG } from './tags.js';

type IamSdk = typeof import('@aws-sdk/client-iam');

/** The pseudo-region of IAM resources in plans and reports. */
export const IAM_REGION = 'IAM (global)';

const PREFIX = 'packer-';

function runIdOf(tags: Tag[] | undefined): string | undefined {
  return tags?.find((t) => t.Key === RUN_ID_TAG)?.Value;
}

function notIam(): Promise<never> {
  return Promise.reject(new Error('not an IAM resource'));
}

function isNoSuchEntity(err: unknown): boolean {
  return err instanceof Error && ((err as { Code?: string }).Code ?? err.name) === 'NoSuchEntity';
}

export function iamCleanupApi(sdk: IamSdk, client: IAMClient): CleanupApi {
  return {
    region: IAM_REGION,
    async list() {
      const found: Found[] = [];
      let marker: string | undefined;
      do {
        const page = await client.send(new sdk.ListInstanceProfilesCommand({ Marker: marker }));
        for (const p of page.InstanceProfiles ?? []) {
          const name = p.InstanceProfileName ?? '';
          if (!name.startsWith(PREFIX)) continue;
          let full;
          try {
            full = (await client.send(new sdk.GetInstanceProfileCommand({ InstanceProfileName: name })))
              .InstanceProfile;
          } catch (err) {
            if (isNoSuchEntity(err)) continue;
            throw err;
          }
          const runId = runIdOf(full?.Tags);
          if (runId === undefined) continue;
          found.push({
            kind: 'instance profile',
            id: name,
            region: IAM_REGION,
            runId,
            created: p.CreateDate,
          });
        }
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      do {
        const page = await client.send(new sdk.ListRolesCommand({ Marker: marker }));
        for (const r of page.Roles ?? []) {
          const name = r.RoleName ?? '';
          if (!name.startsWith(PREFIX)) continue;
          let full;
          try {
            full = (await client.send(new sdk.GetRoleCommand({ RoleName: name }))).Role;
          } catch (err) {
            if (isNoSuchEntity(err)) continue;
            throw err;
          }
          const runId = runIdOf(full?.Tags);
          if (runId === undefined) continue;
          found.push({ kind: 'role', id: name, region: IAM_REGION, runId, created: r.CreateDate });
        }
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      return found;
    },
    async deleteInstanceProfile(name) {
      const p = (await client.send(new sdk.GetInstanceProfileCommand({ InstanceProfileName: name })))
        .InstanceProfile;
      for (const role of p?.Roles ?? []) {
        if (!role.RoleName) continue;
        await client.send(
          new sdk.RemoveRoleFromInstanceProfileCommand({
            InstanceProfileName: name,
            RoleName: role.RoleName,
          }),
        );
      }
      await client.send(new sdk.DeleteInstanceProfileCommand({ InstanceProfileName: name }));
    },
    async deleteRole(name) {
      const policies = await client.send(new sdk.ListRolePoliciesCommand({ RoleName: name }));
      for (const policy of policies.PolicyNames ?? []) {
        await client.send(new sdk.DeleteRolePolicyCommand({ RoleName: name, PolicyName: policy }));
      }
      const profiles = await client.send(new sdk.ListInstanceProfilesForRoleCommand({ RoleName: name }));
      for (const p of profiles.InstanceProfiles ?? []) {
        if (!p.InstanceProfileName) continue;
        await client.send(
          new sdk.RemoveRoleFromInstanceProfileCommand({
            InstanceProfileName: p.InstanceProfileName,
            RoleName: name,
          }),
        );
      }
      await client.send(new sdk.DeleteRoleCommand({ RoleName: name }));
    },
    terminateInstance: notIam,
    instanceStates: () => Promise.resolve(new Map()),
    deregisterImage: notIam,
    deleteSnapshot: notIam,
    volume: () => Promise.resolve(undefined),
    deleteVolume: notIam,
    deleteSecurityGroup: notIam,
    deleteKeyPair: notIam,
  };
}
