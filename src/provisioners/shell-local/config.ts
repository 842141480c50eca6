/**
 * shell-local's options and validation, shared by the provisioner and the post-processor (Packer
 * SDK `shell-local/config.go`, spec §8.5). Unix defaults: `execute_command`
 * `["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]`, `inline_shebang` `/bin/sh -e`, `env_var_format`
 * `%s='%s' `.
 */
import { statSync } from 'node:fs';
import type { GeneratedData, PackerConfig, RawConfig } from '../../core/types.js';
import { decodeConfig, DecodeError, f, type DecodedConfig } from '../../config/decode.js';
import { ConfigError, UserError } from '../../util/errors.js';
import { goPathError } from '../../util/go-os-error.js';

/** The option table of shell-local. */
export const shellLocalFields = {
  command: f.string('command', 'Deprecated: a single command to run (use inline).', { errorName: 'Command' }),
  inline: f.strings('inline', 'Commands run in one local shell script.', { errorName: 'Inline' }),
  inlineShebang: f.string('inline_shebang', 'Shebang line of the inline script.', { default: '/bin/sh -e' }),
  onlyOn: f.strings('only_on', 'Run only on these host operating systems (Go GOOS names).'),
  tempfileExtension: f.string('tempfile_extension', 'Extension of the temporary inline script file.'),
  script: f.string('script', 'A local script to run.', { errorName: 'Script' }),
  scripts: f.strings('scripts', 'Local scripts to run, in order.', { errorName: 'Scripts' }),
  vars: f.strings('environment_vars', 'KEY=value pairs set for the scripts.'),
  envVarFormat: f.string('env_var_format', 'Format of one environment variable in {{.Vars}}.', { default: "%s='%s' " }),
  useLinuxPathing: f.bool('use_linux_pathing', 'Windows Subsystem for Linux paths (Windows only).'),
  executeCommand: f.strings('execute_command', 'The command line running each script.', {
    default: ['/bin/sh', '-c', '{{.Vars}} {{.Script}}'],
  }),
  validExitCodes: f.ints('valid_exit_codes', 'Exit codes counted as success.', { default: [0] }),
};

/** A decoded and validated shell-local config. */
export type ShellLocalConfig = DecodedConfig<typeof shellLocalFields>;

const SUPPORTED_OS = ['darwin', 'freebsd', 'linux', 'openbsd', 'solaris', 'windows'];

// parity: shell-local/config.go
const TOO_MANY =
  'You may only specify one of the following options: Command, Inline, Script or Scripts. Please consolidate these options in your config.';

/**
 * Decodes (`execute_command` is rendered only at run time) and validates. `postProcessor` applies
 * the post-processor's one-element `execute_command` compatibility (`sh -c <cmd>`).
 * Throws ConfigError with Packer's texts.
 */
export function prepareShellLocal(
  raws: RawConfig[],
  pc: PackerConfig,
  placeholder: GeneratedData,
  postProcessor: boolean,
): ShellLocalConfig {
  let cfg: ShellLocalConfig;
  try {
    cfg = decodeConfig(shellLocalFields, raws, { pc, placeholder, exclude: ['execute_command'] });
  } catch (e) {
    if (e instanceof DecodeError) throw e.withPrefix('Error decoding config: '); // parity
    throw e;
  }
  if (postProcessor && cfg.executeCommand.length === 1) cfg.executeCommand = ['sh', '-c', cfg.executeCommand[0]];
  const problems: string[] = [];
  if (cfg.command === '' && cfg.inline.length === 0 && cfg.scripts.length === 0 && cfg.script === '') {
    problems.push('Command, Inline, Script and Scripts options cannot all be empty.'); // parity
  }
  if (cfg.command !== '') {
    if (cfg.inline.length || cfg.scripts.length || cfg.script !== '') problems.push(TOO_MANY);
    else cfg.inline = [cfg.command];
  }
  if (cfg.script !== '') {
    if (cfg.scripts.length || cfg.inline.length) problems.push(TOO_MANY);
    else cfg.scripts = [cfg.script];
  }
  if (cfg.scripts.length && cfg.inline.length) problems.push(TOO_MANY);
  for (const path of cfg.scripts) {
    try {
      statSync(path);
    } catch (e) {
      problems.push(`Bad script '${path}': ${goStatError(path, e)}`); // parity
    }
  }
  for (const os of cfg.onlyOn) {
    if (!SUPPORTED_OS.includes(os)) {
      // parity: returned alone, without the other problems
      throw new UserError(`Invalid OS specified in only_on: '${os}'\nSupported OS names: ${SUPPORTED_OS.join(', ')}`);
    }
  }
  for (const kv of cfg.vars) {
    const eq = kv.indexOf('=');
    if (eq <= 0) problems.push(`Environment variable not in format 'key=value': ${kv}`); // parity
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/** Go's os.Stat error text: `stat <path>: no such file or directory`. */
export function goStatError(path: string, e: unknown): string {
  return goPathError('stat', path, e);
}
