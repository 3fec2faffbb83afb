// Allowed lateness measured in time (docs/delivery-guarantees.md#allowed-lateness). A stream's exact dedup
// memory is its newest N entries (stream-window.ts); for older events, up to the policy's allowedLatenessMs
// behind the stream's newest, the stream keeps its *gaps*: spans of event time where no event was applied
// though one may still come (an upload not arrived yet). An event older than every held entry is new iff it
// falls in a gap (applied once, the gap split around it); elsewhere it was applied before (a duplicate).
// In order, a stream has no gaps once older than the allowed lateness: nothing is stored. Pure.

/** The default allowed lateness: an hourly upload retried once arrives up to 2 h behind, plus an hour. */
export const DEFAULT_ALLOWED_LATENESS_MS = 3 * 3600_000;
/** Gaps kept per stream; past that the oldest is forgotten and the stream's floor moves up to its end. */
export const MAX_GAPS = 32;
/**
 * A span narrower than this many cadences (the stream's median spacing between events) holds no event
 * the producer sent: it is not a gap. This is the one assumption: a stream's events come at a roughly
 * regular cadence, so a missing upload leaves a gap wider than 1.5 spacings.
 */
export const GAP_CADENCES = 1.5;

/** Gaps of one stream: open intervals (from, to) of event ms, flat and ascending; `from` 0 = since ever. */
export type Gaps = number[];

/** The stream's cadence from its held entries before `end` (ascending): the median positive spacing, Infinity under 2. */
export function cadenceOf(entries: readonly { ts: number }[], end = entries.length): number {
  const spacings: number[] = [];
  for (let i = 1; i < end; i++) {
    const d = entries[i]!.ts - entries[i - 1]!.ts;
    if (d > 0) spacings.push(d);
  }
  if (spacings.length === 0) return Infinity;
  spacings.sort((a, b) => a - b);
  return spacings[spacings.length >> 1]!;
}

/**
 * Whether `span` is a gap for a stream with these held entries (before `end`): wider than GAP_CADENCES
 * cadences, i.e. than GAP_CADENCES times the median spacing (cadenceOf), without a sort.
 */
export function isGap(entries: readonly { ts: number }[], span: number, end = entries.length): boolean {
  // Not a gap iff the median spacing covers it, i.e. iff at least half (rounded up) of the positive
  // spacings do: counted from the newest, it is settled as soon as half of all spacings do.
  const half = end - 1 - ((end - 1) >> 1);
  let covering = 0,
    positive = 0;
  for (let i = end - 1; i >= 1; i--) {
    const d = entries[i]!.ts - entries[i - 1]!.ts;
    if (d <= 0) continue;
    positive++;
    if (span <= GAP_CADENCES * d && ++covering >= half) return false;
  }
  return covering < positive - (positive >> 1);
}

/** Index (of its `from`) of the gap holding `ts`, or -1. */
export function gapAt(gaps: Gaps, ts: number): number {
  for (let i = 0; i < gaps.length; i += 2) if (gaps[i]! < ts && ts < gaps[i + 1]!) return i;
  return -1;
}

/** An event applied at `ts` inside gap `i`: splits it, dropping the parts narrower than `minGap`. */
export function fillGap(gaps: Gaps, i: number, ts: number, minGap: number): void {
  const from = gaps[i]!,
    to = gaps[i + 1]!;
  const parts: number[] = [];
  if (from === 0 || ts - from > minGap) parts.push(from, ts);
  if (to - ts > minGap) parts.push(ts, to);
  gaps.splice(i, 2, ...parts);
}

/**
 * Drops the gaps wholly beyond the horizon (events there are too late anyway) and, past MAX_GAPS, the
 * oldest ones; returns the new floor (events at or below it are too late) when gaps were forgotten.
 */
export function pruneGaps(gaps: Gaps, horizon: number): number | undefined {
  let drop = 0;
  while (drop < gaps.length && gaps[drop + 1]! <= horizon) drop += 2;
  let floor: number | undefined;
  if (gaps.length - drop > 2 * MAX_GAPS) {
    const extra = gaps.length - drop - 2 * MAX_GAPS;
    drop += extra;
    floor = gaps[drop - 1];
  }
  gaps.splice(0, drop);
  return floor;
}
