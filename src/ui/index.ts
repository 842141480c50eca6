/** The UI package: the Ui contract and its implementations/decorators. */
export type { Ui } from './ui.js';
export { BasicUi, type BasicUiOptions, type TextSink } from './basic.js';
export { ColoredUi, UiColor, buildColor, colorize } from './colored.js';
export { TimestampedUi, rfc3339Local } from './timestamped.js';
export { TargetedUi, prefixLines } from './targeted.js';
export { MachineReadableUi, escapeMachineData } from './machine.js';
export { LineEmitter, cleanOutputLine, uiOutputStreams } from './output-lines.js';
export { openTty, StreamLineReader, type LineReader } from './tty.js';
export { buildUi, targetUi, type BuildUiOptions } from './compose.js';
