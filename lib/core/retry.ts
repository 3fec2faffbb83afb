// Backoff between retries of a failed call, shared by the use cases, the adapters and the publisher client.

/**
 * Full-jitter exponential backoff in ms: a uniform draw below min(capMs, baseMs · 2^n). The use cases
 * and adapters pass the retry number (1 for the first retry); MetricPublisher passes retry − 1, so its
 * first delay is drawn below its configured base.
 */
export function backoffMs(n: number, baseMs = 25, capMs = 1000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** n);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
