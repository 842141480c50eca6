/**
 * Building the UIs of a `kiln build` run the way Packer's command/build.go layers them:
 * basic (or machine-readable) → coloured (per build) → timestamped → targeted (by the build).
 */
import type { Ui } from './ui.js';
import { ColoredUi, buildColor } from './colored.js';
import { TimestampedUi } from './timestamped.js';
import { TargetedUi } from './targeted.js';

/** Options of `buildUi`. */
export interface BuildUiOptions {
  /** Index of the build in sorted order (picks its colour). */
  index: number;
  /** `-color` and not machine-readable. */
  color: boolean;
  /** False when PACKER_NO_COLOR is set: the layer stays but prints no escape codes. */
  colorSupported: boolean;
  /** `-timestamp-ui`. */
  timestamp: boolean;
  now?: () => Date;
}

/** The per-build UI (not yet targeted): used for `Build 'x' finished …` and wrapped by TargetedUi. */
export function buildUi(base: Ui, opts: BuildUiOptions): Ui {
  let ui = base;
  if (opts.color) ui = new ColoredUi(ui, buildColor(opts.index), opts.colorSupported);
  if (opts.timestamp) ui = new TimestampedUi(ui, opts.now);
  return ui;
}

/** Targets a UI at a build (`==> name: `) or a post-processor (`==> name (type): `). */
export function targetUi(ui: Ui, target: string): Ui {
  return new TargetedUi(ui, target);
}
