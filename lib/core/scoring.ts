// Scoring detections against labelled incident windows. Pure: takes event times, windows and
// detection times, returns counts, delays and a NAB-style score (Numenta Anomaly Benchmark v1.1,
// nab/sweeper.py; rules in docs/detectors-and-policies.md#scoring-against-labelled-incidents).

/** A labelled incident: [start, end] in ms, both inclusive. */
export interface LabelWindow {
  start: number;
  end: number;
}

export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}
export const NAB_PROFILES = {
  standard: { tp: 1.0, fp: 0.11, fn: 1.0 },
  reward_low_FP_rate: { tp: 1.0, fp: 0.22, fn: 1.0 },
  reward_low_FN_rate: { tp: 1.0, fp: 0.11, fn: 2.0 },
} as const satisfies Record<string, NabProfile>;

/** One series (a camera's metric stream): its event times in order, its windows, its detections. */
export interface ScoredSeries {
  /** event times (ms), in the order the events were processed */
  times: readonly number[];
  windows: readonly LabelWindow[];
  /** times (ms) of the events at which the detector fired */
  detections: readonly number[];
}

export interface SeriesScore {
  windows: number;
  /** windows with a detection inside */
  detected: number;
  /** windows with no detection inside */
  missed: number;
  /** missed windows with a detection within one window length after their end */
  late: number;
  /** window start → first detection inside (ms), per detected window */
  delaysMs: number[];
  /** detections outside every window */
  falseAlarms: number;
  /** events outside every window */
  eventsOutside: number;
  /** first to last event (ms) */
  spanMs: number;
  /** NAB raw score, and the perfect and null detectors' on the same series */
  nab: { raw: number; perfect: number; null: number };
}

/** NAB's scaled sigmoid: 1 at y = -1 (window's left edge), ~0 at its right edge, -1 from y = 3 on. */
export const scaledSigmoid = (y: number) => (y > 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1);

/** NAB's probationary period: the first 15 % of the rows, at most 750, are not scored. */
export const probationRows = (rows: number) => Math.min(Math.floor(0.15 * rows), 750);

/** Index of the first time ≥ t (times sorted ascending), or times.length. */
function lowerBound(times: readonly number[], t: number): number {
  let lo = 0,
    hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Scores one series. Detections are mapped to rows (the first event at or after their time).
 * NAB rules: rows of the probationary period are not scored; in each window only the earliest
 * detection counts, scoring tp · sigmoid(position) / sigmoid(-1); a window without one scores
 * -fn; every detection outside a window scores fp · sigmoid(distance past the previous window's
 * end, in window widths) (negative), or -fp before the first window.
 */
export function scoreSeries(s: ScoredSeries, profile: NabProfile = NAB_PROFILES.standard): SeriesScore {
  const { times } = s;
  const n = times.length;
  const probation = probationRows(n);
  const spans = s.windows
    .map((w) => ({ w, left: lowerBound(times, w.start), right: lowerBound(times, w.end + 1) - 1 }))
    .filter((x) => x.right >= x.left)
    .sort((a, b) => a.left - b.left);
  const detectedRows = [...new Set(s.detections.map((t) => lowerBound(times, t)).filter((i) => i < n))].sort(
    (a, b) => a - b,
  );
  const maxTp = scaledSigmoid(-1);
  const firstIn = new Map<number, number>();
  let raw = 0,
    falseAlarms = 0;
  const inWindow = (i: number) => spans.findIndex((x) => i >= x.left && i <= x.right);
  for (const i of detectedRows) {
    const k = inWindow(i);
    if (k >= 0) {
      if (!firstIn.has(k)) firstIn.set(k, i);
      continue;
    }
    falseAlarms++;
    if (i < probation) continue;
    let prev = -1;
    for (let j = 0; j < spans.length && spans[j]!.right < i; j++) prev = j;
    if (prev < 0) raw -= profile.fp;
    else {
      const p = spans[prev]!;
      const width = p.right - p.left + 1;
      raw += profile.fp * scaledSigmoid(Math.abs(p.right - i) / Math.max(width - 1, 1));
    }
  }
  let detected = 0,
    late = 0;
  const delaysMs: number[] = [];
  spans.forEach((x, k) => {
    const i = firstIn.get(k);
    const width = x.right - x.left + 1;
    if (i !== undefined && i >= probation) {
      detected++;
      delaysMs.push(times[i]! - times[x.left]!);
      raw += (profile.tp * scaledSigmoid(-(x.right - i + 1) / width)) / maxTp;
      return;
    }
    if (i !== undefined) {
      // detected inside the probationary period: not scored, as NAB
      detected++;
      delaysMs.push(times[i]! - times[x.left]!);
      raw -= profile.fn;
      return;
    }
    raw -= profile.fn;
    const after = detectedRows.find((d) => d > x.right);
    if (after !== undefined && after <= x.right + width) late++;
  });
  let eventsOutside = n;
  for (const x of spans) eventsOutside -= x.right - x.left + 1;
  return {
    windows: spans.length,
    detected,
    missed: spans.length - detected,
    late,
    delaysMs,
    falseAlarms,
    eventsOutside,
    spanMs: n > 1 ? times[n - 1]! - times[0]! : 0,
    nab: { raw, perfect: spans.length * profile.tp, null: -spans.length * profile.fn },
  };
}

export interface ScoreSummary {
  series: number;
  windows: number;
  detected: number;
  missed: number;
  late: number;
  delayMedianMs: number | null;
  delayP90Ms: number | null;
  falseAlarms: number;
  /** false alarms per camera (series) per day of history */
  falseAlarmsPerDay: number;
  /** false alarms per 1,000 events outside the windows */
  falseAlarmsPer1k: number;
  /** 100 · (raw − null) / (perfect − null): 0 never fires, 100 detects each window at its left edge */
  nabScore: number;
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Sums series scores; NAB's normalisation is over the sums, as its runner does. */
export function summarize(scores: readonly SeriesScore[]): ScoreSummary {
  const sum = (f: (s: SeriesScore) => number) => scores.reduce((a, s) => a + f(s), 0);
  const delays = scores.flatMap((s) => s.delaysMs).sort((a, b) => a - b);
  const raw = sum((s) => s.nab.raw),
    perfect = sum((s) => s.nab.perfect),
    nul = sum((s) => s.nab.null);
  const days = sum((s) => s.spanMs) / 86_400_000;
  const outside = sum((s) => s.eventsOutside);
  const falseAlarms = sum((s) => s.falseAlarms);
  return {
    series: scores.length,
    windows: sum((s) => s.windows),
    detected: sum((s) => s.detected),
    missed: sum((s) => s.missed),
    late: sum((s) => s.late),
    delayMedianMs: quantile(delays, 0.5),
    delayP90Ms: quantile(delays, 0.9),
    falseAlarms,
    falseAlarmsPerDay: days > 0 ? falseAlarms / days : 0,
    falseAlarmsPer1k: outside > 0 ? (1000 * falseAlarms) / outside : 0,
    nabScore: perfect > nul ? (100 * (raw - nul)) / (perfect - nul) : 0,
  };
}
