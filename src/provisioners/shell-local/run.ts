/**
 * Running shell-local (Packer SDK `shell-local/run.go` + `communicator.go`, spec §8.5): the inline
 * commands become a temporary `packer-shell<digits>` script; for each script the `execute_command`
 * elements are rendered and run directly (no extra shell), output streamed to the UI, killed when
 * the signal aborts; the exit status is checked against `valid_exit_codes`.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Ui } from '../../ui/ui.js';
import type { GeneratedData, PackerConfig } from '../../core/types.js';
import { interpolationContext } from '../../config/decode.js';
import { renderFixedPoint, type InterpolateContext } from '../../interpolate/index.js';
import { uiOutputStreams } from '../../ui/output-lines.js';
import { debugLog } from '../../util/log.js';
import type { ShellLocalConfig } from './config.js';

const HOST_OS = process.platform === 'win32' ? 'windows' : process.platform;

/** Packer's ErrorInvalidExitCode text (no space after the period). */
export function invalidExitCodeError(code: number, allowed: number[]): Error {
  return new Error(`Script exited with non-zero exit status: ${code}.Allowed exit codes are: [${allowed.join(' ')}]`); // parity
}

/** Runs the configured scripts; rejects with Packer's error texts. */
export async function runShellLocal(
  cfg: ShellLocalConfig,
  pc: PackerConfig,
  ui: Ui,
  data: GeneratedData,
  signal: AbortSignal,
): Promise<void> {
  if (cfg.onlyOn.length && !cfg.onlyOn.includes(HOST_OS)) {
    ui.say('Skipping shell-local due to runtime OS'); // parity
    return;
  }
  const base = interpolationContext(pc, data);
  let scripts = [...cfg.scripts];
  let tempScript: string | undefined;
  if (!scripts.length && cfg.inline.length) {
    tempScript = await writeInlineScript(cfg, { ...base, data: { ...data } });
    scripts = [tempScript];
  }
  try {
    const vars = flattenEnvVars(cfg, pc, data, base);
    for (const script of scripts) {
      const abs = resolve(script);
      const argv = cfg.executeCommand.map((c) => {
        try {
          return renderFixedPoint(c, { ...base, data: { ...data, Vars: vars, Script: abs, Command: abs } });
        } catch (e) {
          throw new Error(`Error processing command: ${(e as Error).message}`); // parity
        }
      });
      ui.say(`Running local shell script: ${script}`); // parity
      debugLog(`[INFO] (shell-local): starting local command: ${argv.join(' ')}`);
      let status: number;
      try {
        status = await runLocal(argv, ui, signal, pc.runUuid);
      } catch (e) {
        debugLog(`[ERROR] (shell-local): ${(e as Error).message}`);
        // parity: shell-local/run.go
        throw new Error(`Error executing script: ${abs}\n\nPlease see output above for more information.`);
      }
      if (!cfg.validExitCodes.includes(status)) throw invalidExitCodeError(status, cfg.validExitCodes);
    }
  } finally {
    if (tempScript) await fsp.rm(tempScript, { force: true });
  }
}

/** Creates `<TMPDIR>/packer-shell<digits>[.<ext>]` with the shebang and the rendered commands, mode 0700. */
async function writeInlineScript(cfg: ShellLocalConfig, ctx: InterpolateContext): Promise<string> {
  let text = cfg.inlineShebang ? `#!${cfg.inlineShebang}\n` : '';
  for (const cmd of cfg.inline) text += renderFixedPoint(cmd, ctx) + '\n';
  const dir = tmpdir();
  for (;;) {
    let path = join(dir, `packer-shell${randomInt(1, 2 ** 32)}`);
    if (cfg.tempfileExtension) path += `.${cfg.tempfileExtension}`;
    try {
      await fsp.writeFile(path, text, { flag: 'wx', mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(`Error preparing shell script: ${(e as Error).message}`); // parity
    }
    await fsp.chmod(path, 0o700);
    return path;
  }
}

/** `{{.Vars}}`: Packer's variables plus the user's, sorted, each in `env_var_format`. */
function flattenEnvVars(cfg: ShellLocalConfig, pc: PackerConfig, data: GeneratedData, ctx: InterpolateContext): string {
  const env: Record<string, string> = {
    PACKER_BUILD_NAME: pc.buildName,
    PACKER_BUILDER_TYPE: pc.builderType,
  };
  const http: Array<[string, string, string]> = [
    ['PackerHTTPAddr', 'PACKER_HTTP_ADDR', 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER'],
    ['PackerHTTPIP', 'PACKER_HTTP_IP', 'ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER'],
    ['PackerHTTPPort', 'PACKER_HTTP_PORT', 'ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER'],
  ];
  for (const [key, name, missing] of http) {
    const v = data[key];
    if (v !== undefined && v !== missing) env[name] = v;
  }
  for (const item of cfg.vars) {
    const rendered = renderFixedPoint(item, { ...ctx, data: { ...data } });
    const eq = rendered.indexOf('=');
    const key = eq >= 0 ? rendered.slice(0, eq) : rendered;
    const value = eq >= 0 ? rendered.slice(eq + 1) : '';
    env[key] = value.replaceAll("'", `'"'"'`);
  }
  return Object.keys(env)
    .sort()
    .map((k) => goSprintf2(cfg.envVarFormat, k, env[k]))
    .join('');
}

/** Go's Sprintf for a format with two `%s` verbs (env_var_format); `%%` is a literal percent. */
export function goSprintf2(format: string, a: string, b: string): string {
  const args = [a, b];
  let i = 0;
  let out = format.replace(/%(%|s)/g, (_m, v: string) => (v === '%' ? '%' : i < 2 ? args[i++] : '%!s(MISSING)'));
  if (i < 2) out += `%!(EXTRA string=${args.slice(i).join(', string=')})`;
  return out;
}

/**
 * Runs argv locally with the process environment (plus PACKER_RUN_UUID), stdout lines → message,
 * stderr lines → error. Resolves with the exit status (-1 when killed by a signal); rejects when
 * the command cannot start or the signal aborts.
 */
export function runLocal(argv: string[], ui: Ui, signal: AbortSignal, runUuid: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    if (signal.aborted) return reject(new Error('context canceled'));
    const out = uiOutputStreams(ui);
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PACKER_RUN_UUID: runUuid, PACKER_LOG: '', PACKER_LOG_PATH: '' },
    });
    child.stdout.pipe(out.stdout);
    child.stderr.pipe(out.stderr);
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
      out.stdout.end();
      out.stderr.end();
      reject(new Error('context canceled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code, sig) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      const ended = Promise.all([
        new Promise((r) => (out.stdout.writableFinished ? r(null) : out.stdout.on('finish', r))),
        new Promise((r) => (out.stderr.writableFinished ? r(null) : out.stderr.on('finish', r))),
      ]);
      void ended.then(() => resolvePromise(sig ? -1 : (code ?? -1)));
    });
  });
}
