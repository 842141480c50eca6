/** The usage-text exit every command may end with. */

/** Ends a command with its usage text (and the flag error after it, as Packer's output shows). */
export class UsageExit extends Error {
  constructor(
    readonly usage: string,
    readonly flagMessage: string | undefined,
    readonly exitCode: number,
  ) {
    super(flagMessage ?? 'usage');
    this.name = 'UsageExit';
  }
}
