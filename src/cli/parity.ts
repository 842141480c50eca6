/**
 * KILN_PACKER_PARITY=1 turns off kiln's additions to Packer's output (the success line of
 * validate, the list of known component types), for byte-identical output (docs/compatibility.md).
 */

/** Whether strict Packer-output parity was requested. */
export function parityMode(env: Record<string, string | undefined>): boolean {
  const v = env.KILN_PACKER_PARITY;
  return v !== undefined && v !== '' && v !== '0';
}
