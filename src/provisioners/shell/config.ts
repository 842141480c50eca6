/**
 * The `shell` provisioner's options and validation (Packer's provisioner/shell/provisioner.go
 * Prepare, spec §6.1). `execute_command` is not rendered at prepare time; it is rendered to a fixed
 * point per script at run time (run.ts).
 */
import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import type { GeneratedData, PackerConfig, RawConfig } from '../../core/types.js';
import { decodeConfig, f, type DecodedConfig } from '../../config/decode.js';
import { ConfigError } from '../../util/errors.js';
import { goPathError } from '../../util/go-os-error.js';

/** The option table of `shell`. */
export const shellFields = {
  inline: f.strings('inline', 'Commands written to one temporary script, run in order.'),
  script: f.string('script', 'A local script to upload and run.'),
  scripts: f.strings('scripts', 'Local scripts to upload and run, in order.'),
  environmentVars: f.strings('environment_vars', 'KEY=value pairs set for the scripts.'),
  envVarFormat: f.string('env_var_format', 'Go Sprintf format of one variable, applied as (key, value).'),
  executeCommand: f.string('execute_command', 'The remote command line running each script.'),
  inlineShebang: f.string('inline_shebang', 'Shebang of the inline script.', { default: '/bin/sh -e' }),
  remoteFolder: f.string('remote_folder', 'Remote folder for the script and the env var file.', {
    default: '/tmp',
  }),
  remoteFile: f.string('remote_file', 'Remote file name of the script (default script_<n>.sh).'),
  remotePath: f.string('remote_path', 'Full remote path of the script; overrides remote_folder/remote_file.'),
  skipClean: f.bool('skip_clean', 'Keep the remote script and env var file.'),
  startRetryTimeout: f.duration('start_retry_timeout', 'How long to retry uploading and starting a script.', {
    default: 5 * 60_000,
  }),
  expectDisconnect: f.bool('expect_disconnect', 'Accept the connection dropping while a script runs.'),
  validExitCodes: f.ints('valid_exit_codes', 'Exit statuses counted as success.', { default: [0] }),
  binary: f.bool('binary', 'Upload scripts as they are (no line-ending normalisation).'),
  useEnvVarFile: f.bool('use_env_var_file', 'Put the variables in a remote file sourced by execute_command.'),
  pauseAfter: f.duration('pause_after', 'Wait this long after the last script.'),
};

/** A decoded and validated shell config (defaults applied). */
export type ShellConfig = DecodedConfig<typeof shellFields> & {
  /** The random n of script_<n>.sh / varfile_<n>.sh, chosen once per provisioner instance. */
  varFileName: string;
};

/**
 * The n of the default script_<n>.sh / varfile_<n>.sh. Packer draws it from 0–9998, so on a shared
 * /tmp one build in ~60 met another user's leftover script_<n>.sh ("Permission denied", /tmp is
 * sticky) and parallel builds on one host could overwrite each other's script; kiln draws from 0–2³¹.
 */
function remoteNumber(): number {
  return randomInt(0, 2 ** 31 - 1);
}

/** Decodes and validates; throws ConfigError with every problem (Packer's texts). No side effects. */
export function prepareShell(raws: RawConfig[], pc: PackerConfig, placeholder: GeneratedData): ShellConfig {
  const decoded = decodeConfig(shellFields, raws, { pc, placeholder, exclude: ['execute_command'] });
  const cfg: ShellConfig = { ...decoded, varFileName: `varfile_${remoteNumber()}.sh` };
  if (cfg.envVarFormat === '') cfg.envVarFormat = cfg.useEnvVarFile ? "export %s='%s'\n" : "%s='%s' ";
  if (cfg.executeCommand === '') {
    cfg.executeCommand = cfg.useEnvVarFile
      ? 'chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}'
      : 'chmod +x {{.Path}}; {{.Vars}} {{.Path}}';
  }
  if (cfg.remoteFile === '') cfg.remoteFile = `script_${remoteNumber()}.sh`;
  if (cfg.remotePath === '') cfg.remotePath = `${cfg.remoteFolder}/${cfg.remoteFile}`;

  const problems: string[] = [];
  if (cfg.script !== '' && cfg.scripts.length > 0) {
    problems.push('Only one of script or scripts can be specified.'); // parity:
  }
  if (cfg.script !== '') cfg.scripts = [cfg.script];
  if (cfg.scripts.length === 0 && cfg.inline.length === 0) {
    problems.push('Either a script file or inline script must be specified.'); // parity:
  } else if (cfg.scripts.length > 0 && cfg.inline.length > 0) {
    problems.push('Only a script file or an inline script can be specified, not both.'); // parity:
  }
  for (const path of cfg.scripts) {
    try {
      statSync(path);
    } catch (e) {
      problems.push(`Bad script '${path}': ${goStatError(path, e)}`); // parity:
    }
  }
  for (const kv of cfg.environmentVars) {
    if (kv.indexOf('=') <= 0) problems.push(`Environment variable not in format 'key=value': ${kv}`); // parity:
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

function goStatError(path: string, e: unknown): string {
  return goPathError('stat', path, e);
}
