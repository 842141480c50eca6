export async function runFix(): Promise<number> {
  return 0;
}
