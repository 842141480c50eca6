/**
 * `kiln cleanup [-region r[,r2]] [-older-than=1h] [-run-id=ID] [-dry-run] [-endpoint URL] [-profile P]`:
 * finds what dead kiln runs left in EC2 (resources tagged `kiln-run-id`) and removes it.
 * kiln's own command (Packer has none); the logic is in src/cleanup, the SDK is loaded lazily.
 */
import type { CliIo } from '../io.js';
import { FlagError, HelpRequested, parseFlags, type FlagSpec, type ParsedFlags } from '../flags.js';
import { UsageExit } from '../usage.js';
import { parseGoDuration } from '../../util/go-duration.js';

export const CLEANUP_USAGE = `Usage: kiln cleanup [options]

  Finds the temporary resources (instances, AMIs and snapshots of unfinished
  builds, volumes, security groups, key pairs, spot launch templates) that kiln
  runs which died left behind, recognised by their kiln-run-id tag, and removes
  them: instances first, launch templates last. Finished AMIs are never touched.

  Exits 0 when everything found was removed, 1 when something could not be.

Options:

  -region=r1,r2          Regions to clean (repeatable). Default: AWS_REGION or AWS_DEFAULT_REGION.
  -older-than=1h         Only resources of runs at least this old (Go duration). 0s takes every run.
  -run-id=ID             Only the resources of this run.
  -dry-run               List what would be removed; remove nothing.
  -endpoint=URL          EC2 endpoint. Default: AWS_ENDPOINT_URL_EC2, then AWS_ENDPOINT_URL.
  -profile=NAME          Shared credentials profile.
  -skip-iam              Do not look for temporary IAM roles and instance profiles.
                         IAM is global; its endpoint: AWS_ENDPOINT_URL_IAM, else
                         the EC2 endpoint (-endpoint, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL).`;

/** Flag parsing as meta.ts does it, without loading the template machinery this command never needs. */
function parseCommandFlags(args: string[], specs: FlagSpec[], usage: string): ParsedFlags {
  try {
    return parseFlags(args, specs);
  } catch (e) {
    if (e instanceof HelpRequested) throw new UsageExit(usage, undefined, 0);
    if (e instanceof FlagError) throw new UsageExit(usage, e.message, 1);
    throw e;
  }
}

/** Runs `kiln cleanup`; returns the exit code. */
export async function runCleanup(args: string[], io: CliIo): Promise<number> {
  const f = parseCommandFlags(
    args,
    [
      { name: 'region', kind: 'list' },
      { name: 'older-than', kind: 'string' },
      { name: 'run-id', kind: 'string' },
      { name: 'dry-run', kind: 'bool' },
      { name: 'endpoint', kind: 'string' },
      { name: 'profile', kind: 'string' },
      { name: 'skip-iam', kind: 'bool' },
    ],
    CLEANUP_USAGE,
  );
  if (f.args.length !== 0) throw new UsageExit(CLEANUP_USAGE, `Cannot clean up: unexpected argument ${f.args[0]}`, 1);
  const err = (line: string) => void io.stderr.write(line + '\n');
  const out = (line: string) => void io.stdout.write(line + '\n');

  const regions = [...new Set((f.lists.region ?? []).map((r) => r.trim()).filter((r) => r !== ''))];
  if (regions.length === 0) {
    const r = io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || '';
    if (r === '') {
      err('Cannot clean up: no region; give -region or set AWS_REGION');
      return 1;
    }
    regions.push(r);
  }
  const olderThanText = f.strings['older-than'] ?? '1h';
  let olderThanMs: number;
  try {
    olderThanMs = parseGoDuration(olderThanText);
  } catch (e) {
    err(`Cannot clean up: -older-than: ${(e as Error).message}`);
    return 1;
  }
  if (olderThanMs < 0) {
    err(`Cannot clean up: -older-than must not be negative, got ${olderThanText}`);
    return 1;
  }
  const runId = f.strings['run-id'];
  if (runId !== undefined && runId.trim() === '') {
    err('Cannot clean up: -run-id is empty');
    return 1;
  }
  const dryRun = f.bools['dry-run'] === true;

  // The SDK and the builder's client factory (credentials, endpoint chain, retries) load only here.
  const [{ createEc2 }, { ec2CleanupApi }, cleanup] = await Promise.all([
    import('../../builders/amazon/common/aws.js'),
    import('../../cleanup/ec2-api.js'),
    import('../../cleanup/index.js'),
  ]);
  const access = {
    access_key: '',
    secret_key: '',
    token: '',
    region: '',
    profile: f.strings.profile ?? '',
    shared_credentials_file: '',
    custom_endpoint_ec2: f.strings.endpoint ?? '',
    insecure_skip_tls_verify: false,
    max_retries: 10,
    mfa_code: '',
    skip_metadata_api_check: false,
    skip_credential_validation: false,
    decode_authorization_messages: false,
  };
  const apis = [];
  for (const region of regions) {
    const ec2 = await createEc2(access, region);
    apis.push(ec2CleanupApi(ec2.sdk, ec2.client, region));
  }
  // IAM last: a profile goes once the instances using it are terminated.
  if (f.bools['skip-iam'] !== true) {
    const [{ createIam }, { iamCleanupApi }] = await Promise.all([
      import('../../builders/amazon/common/iam.js'),
      import('../../cleanup/iam-api.js'),
    ]);
    const iam = await createIam(access, regions[0], undefined);
    apis.push(iamCleanupApi(iam.sdk, iam.client));
  }
  const report = await cleanup.runCleanup(apis, {
    olderThanMs,
    runId,
    dryRun,
    now: io.now(),
    say: out,
  });
  for (const line of cleanup.summarize(report, { dryRun, olderThanMs, regions })) out(line);
  const failures = cleanup.failureLines(report);
  for (const line of failures) err(line);
  return failures.length === 0 ? 0 : 1;
}
