/**
 * `kiln version`: kiln's own version line, and Packer's machine-readable lines with the Packer
 * version kiln is compatible with (tools parse those to check features).
 */
import { CORE_VERSION } from '../../core/version.js';
import type { CliIo } from '../io.js';
import { commandUi } from '../output.js';
import { KILN_VERSION } from '../version-info.js';

/** The human version line. */
export function versionLine(): string {
  return `kiln v${KILN_VERSION} (Packer v${CORE_VERSION} compatible)`;
}

/** Runs `kiln version` (arguments are ignored, as Packer does); returns 0. */
export async function runVersion(_args: string[], io: CliIo): Promise<number> {
  const ui = commandUi(io);
  // parity: command/version.go machine lines (values: the Packer version kiln implements)
  ui.machine('version', CORE_VERSION);
  ui.machine('version-prelease', '');
  ui.machine('version-commit', '');
  ui.machine('kiln-version', KILN_VERSION);
  ui.say(versionLine());
  return 0;
}
