export async function runConsole(): Promise<number> {
  return 0;
}
