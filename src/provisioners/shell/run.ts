/**
 * Running the `shell` provisioner (Packer's provisioner/shell/provisioner.go Provision, spec
 * §6.2–6.4): optional env var file, then per script — upload to remote_path, `chmod 0755`, run the
 * rendered execute_command (these three retried every 2 s within start_retry_timeout), check the
 * exit status, `rm -f` the script — then `rm -f` the env var file and pause_after.
 */
import { randomInt } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DISCONNECT_EXIT_STATUS,
  type Communicator,
  type GeneratedData,
  type PackerConfig,
} from '../../core/types.js';
import type { Ui } from '../../ui/ui.js';
import { interpolationContext } from '../../config/decode.js';
import { renderFixedPoint, type InterpolateContext } from '../../interpolate/index.js';
import { uiOutputStreams } from '../../ui/output-lines.js';
import { formatGoDuration } from '../../util/go-duration.js';
import { debugLog } from '../../util/log.js';
import { retry, sleep } from '../../util/retry.js';
import type { ShellConfig } from './config.js';
import { flattenEnvVars } from './env.js';
import { toUnixLines } from './unix-reader.js';

const RETRY_DELAY_MS = 2000;

// parity:
const DISCONNECTED =
  'Script disconnected unexpectedly. If you expected your script to disconnect, i.e. from a restart, you can try adding `"expect_disconnect": true` or `"valid_exit_codes": [0, 2300218]` to the shell provisioner parameters.';

/** Packer's ErrorInvalidExitCode text (no space after the period). */
export function invalidExitCodeError(code: number, allowed: number[]): Error {
  return new Error(
    `Script exited with non-zero exit status: ${code}.Allowed exit codes are: [${allowed.join(' ')}]`,
  ); // parity:
}

export interface ShellRunContext {
  ui: Ui;
  comm: Communicator;
  data: GeneratedData;
  signal: AbortSignal;
}

/** Runs every script of the provisioner; rejects with Packer's error texts. */
export async function runShell(cfg: ShellConfig, pc: PackerConfig, ctx: ShellRunContext): Promise<void> {
  const { ui, comm, data, signal } = ctx;
  const base = interpolationContext(pc, data);
  let scripts = cfg.scripts;
  let inlineFile: string | undefined;
  if (cfg.inline.length > 0) {
    inlineFile = await writeInlineScript(cfg, { ...base, data: { ...data } });
    scripts = [inlineFile];
  }
  const retryOpts = { startTimeoutMs: cfg.startRetryTimeout, delayMs: RETRY_DELAY_MS, signal };
  try {
    const vars = flattenEnvVars(
      {
        buildName: pc.buildName,
        builderType: pc.builderType,
        environmentVars: cfg.environmentVars,
        envVarFormat: cfg.envVarFormat,
      },
      data,
    );
    let envVarFile = '';
    if (cfg.useEnvVarFile) {
      envVarFile = `${cfg.remoteFolder}/${cfg.varFileName}`;
      await uploadEnvVarFile(comm, envVarFile, vars, retryOpts);
    }
    for (const script of scripts) {
      ui.say(`Provisioning with shell script: ${script}`); // parity:
      const raw = await fsp.readFile(script);
      let command: string;
      try {
        command = renderFixedPoint(cfg.executeCommand, {
          ...base,
          data: { ...data, Vars: vars, EnvVarFile: envVarFile, Path: cfg.remotePath },
        });
      } catch (e) {
        throw new Error(`Error processing command: ${(e as Error).message}`); // parity:
      }
      let status = 0;
      await retry(
        { ...retryOpts, onRetry: (e) => debugLog(`Retryable error: ${(e as Error).message}`) },
        async () => {
          try {
            await comm.upload(cfg.remotePath, cfg.binary ? raw : toUnixLines(raw));
          } catch (e) {
            throw new Error(`Error uploading script: ${(e as Error).message}`); // parity:
          }
          try {
            await comm.start({ command: `chmod 0755 ${cfg.remotePath}` }, signal);
          } catch (e) {
            throw new Error(`Error chmodding script file to 0755 in remote machine: ${(e as Error).message}`); // parity:
          }
          status = await runWithUi(comm, command, ui, signal);
        },
      );
      if (status === DISCONNECT_EXIT_STATUS) {
        if (!cfg.expectDisconnect) throw new Error(DISCONNECTED);
      } else if (!cfg.validExitCodes.includes(status)) {
        throw invalidExitCodeError(status, cfg.validExitCodes);
      }
      if (!cfg.skipClean) await cleanupRemoteFile(comm, cfg.remotePath, cfg.startRetryTimeout);
    }
    if (!cfg.skipClean) await cleanupRemoteFile(comm, envVarFile, cfg.startRetryTimeout);
  } finally {
    if (inlineFile) await fsp.rm(inlineFile, { force: true });
  }
  if (cfg.pauseAfter > 0) {
    ui.say(`Pausing ${formatGoDuration(cfg.pauseAfter)} after this provisioner...`); // parity:
    await sleep(cfg.pauseAfter); // not cancellable, as in Packer
  }
}

/** Runs a command with its output streamed to the UI (Packer's RunWithUi); returns the exit status. */
export async function runWithUi(
  comm: Communicator,
  command: string,
  ui: Ui,
  signal: AbortSignal,
): Promise<number> {
  const out = uiOutputStreams(ui);
  try {
    return await comm.start({ command, stdout: out.stdout, stderr: out.stderr }, signal);
  } finally {
    await Promise.all([out.stdout, out.stderr].map((w) => new Promise((r) => w.end(r))));
  }
}

async function uploadEnvVarFile(
  comm: Communicator,
  remote: string,
  vars: string,
  retryOpts: { startTimeoutMs: number; delayMs: number; signal: AbortSignal },
): Promise<void> {
  // Packer writes the variables to a local temp file first; kept for parity of side effects.
  const local = await tempFile('packer-shell-vars', vars);
  try {
    const onRetry = (e: unknown) => debugLog(`Retryable error: ${(e as Error).message}`);
    await retry({ ...retryOpts, onRetry }, async () => {
      try {
        await comm.upload(remote, await fsp.readFile(local));
        await comm.start({ command: `chmod 0600 ${remote}` }, retryOpts.signal);
      } catch (e) {
        throw new Error(`Error uploading envVarFile: ${(e as Error).message}`); // parity:
      }
    });
  } finally {
    await fsp.rm(local, { force: true });
  }
}

/** `rm -f <path>` retried within the timeout (not cancellable, like Packer's context.TODO()). */
async function cleanupRemoteFile(comm: Communicator, path: string, timeoutMs: number): Promise<void> {
  const onRetry = (e: unknown) => debugLog(`Retryable error: ${(e as Error).message}`);
  await retry({ startTimeoutMs: timeoutMs, delayMs: RETRY_DELAY_MS, onRetry }, async () => {
    let status: number;
    try {
      status = await comm.start({ command: `rm -f ${path}` });
    } catch (e) {
      throw new Error(`Error removing temporary script at ${path}: ${(e as Error).message}`); // parity:
    }
    if (status === DISCONNECT_EXIT_STATUS) throw new Error('Disconnect while removing temporary script.'); // parity:
    if (status !== 0) throw new Error(`Error removing temporary script at ${path}!`); // parity:
  });
}

/** `<TMPDIR>/packer-shell<digits>`: `#!<inline_shebang>` then each inline command rendered. */
async function writeInlineScript(cfg: ShellConfig, ctx: InterpolateContext): Promise<string> {
  let text = `#!${cfg.inlineShebang}\n`;
  for (const cmd of cfg.inline) {
    try {
      text += renderFixedPoint(cmd, ctx) + '\n';
    } catch (e) {
      throw new Error(`Error interpolating Inline: ${(e as Error).message}`); // parity:
    }
  }
  return tempFile('packer-shell', text);
}

async function tempFile(prefix: string, content: string): Promise<string> {
  for (;;) {
    const path = join(tmpdir(), `${prefix}${randomInt(1, 2 ** 32)}`);
    try {
      await fsp.writeFile(path, content, { flag: 'wx', mode: 0o600 });
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
