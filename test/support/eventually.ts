/**
 * Asks `probe` until it returns true, for at most `boundMs` (60 s: the loaded CI machine), pausing
 * 100 ms between tries: for changes another instance sees within a bound, without measuring time.
 */
export async function eventually(probe: () => Promise<boolean>, boundMs = 60_000): Promise<boolean> {
  const giveUp = Date.now() + boundMs;
  while (Date.now() < giveUp) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
