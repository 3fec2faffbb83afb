/** Full-jitter exponential backoff delay for attempt `n` (0-based), in ms. */
export function backoffMs(n: number, baseMs = 25, capMs = 1000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** n);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
