// What a detector saw, as chart lines: each detector of a policy on one stream replayed with the core's
// own detector code, its statistic against its own threshold (window statistics in the metric's units on
// the left axis; CUSUM and EWMA in standard deviations on the right, with their limit), and a trigger
// pinned on the line of the detector that fired it. Used by the demo report and `vmon backtest --report`.
import type { MetricEvent, MetricKind, Modality } from '../core/metric-event.js';
import { detectorConfig, DETECTORS, type DetectorSpec } from '../core/policy.js';
import { idTag, insertEntry, type WindowEntry } from '../core/stream-window.js';
import type { ChartMarker, ChartSeries, SeriesPoint, ThresholdLine } from './html-report.js';

export interface StreamPoint {
  ts: number;
  value: number;
  sampleCount?: number;
  modelVersion?: string;
}

/** The detector's statistic (and limit) after each value, replayed with the core's own detector code. */
export function detectorTrace(
  stream: { cameraId: string; modality: Modality },
  spec: DetectorSpec,
  points: readonly StreamPoint[],
): { statistic: SeriesPoint[]; alarmLevel: SeriesPoint[]; limit: SeriesPoint[] } {
  const detector = DETECTORS[spec.kind];
  const config = detectorConfig(spec);
  const capacity = Math.max(8, detector.windowSize(config));
  const window: WindowEntry[] = [];
  let state: unknown;
  let firing = false;
  const statistic: SeriesPoint[] = [];
  const alarmLevel: SeriesPoint[] = [];
  /** CUSUM / EWMA: the limit the statistic is compared with, after each value (it can vary in time). */
  const limit: SeriesPoint[] = [];
  points.forEach((p, i) => {
    const event: MetricEvent = {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      timestamp: new Date(p.ts).toISOString(),
      ts: p.ts,
      camera_id: stream.cameraId,
      modality: stream.modality,
      metric: spec.metric,
      value: p.value,
      ...(p.sampleCount !== undefined ? { sample_count: p.sampleCount } : {}),
      ...(p.modelVersion !== undefined ? { model_version: p.modelVersion } : {}),
    };
    insertEntry(window, { ts: p.ts, tag: idTag(event.id), value: Math.fround(p.value) }, capacity);
    const r = detector.update(state, { event, outcome: 'newest', window, firing }, config);
    state = r.state;
    const ev = r.evaluation;
    if (!ev) return;
    if (!firing && ev.breach) firing = true;
    else if (firing && ev.clear) firing = false;
    const d = ev.details as { baseline?: number; current?: number } | undefined;
    if (spec.kind === 'regression' && d?.baseline !== undefined && d.current !== undefined) {
      // Drawn in Accuracy units: the current level against baseline − drop.
      statistic.push({ t: p.ts, value: d.current });
      alarmLevel.push({ t: p.ts, value: d.baseline - ev.threshold });
    } else {
      statistic.push({ t: p.ts, value: ev.statistic });
      if (spec.kind === 'cusum' || spec.kind === 'ewma') limit.push({ t: p.ts, value: ev.threshold });
    }
  });
  return { statistic, alarmLevel, limit };
}

/** The last point at or before `t` (the statistic as it stood when a trigger was decided). */
export function valueAt(points: readonly SeriesPoint[], t: number): number | undefined {
  let lo = 0,
    hi = points.length - 1,
    found: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]!.t <= t) {
      found = points[mid]!.value;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

const DETECTOR_LABEL: Record<DetectorSpec['kind'], string> = {
  'window-mean': 'window mean',
  'latency-quantile': 'window quantile',
  regression: 'current (sample-weighted)',
  cusum: 'CUSUM',
  ewma: 'EWMA',
};

/** A trigger to pin: when it was decided, by which detector, and its label. */
export interface FiredAt {
  t: number;
  detector?: string;
  label: string;
}

/**
 * Lines for every detector in `specs` (those of the policy on this stream's metric) and a pin per
 * trigger on the line of its detector at its time; a trigger whose detector has no line here (another
 * metric's, or before its first value) becomes a vertical line (no value).
 */
export function detectorLines(
  stream: { cameraId: string; modality: Modality; metric: MetricKind },
  specs: readonly DetectorSpec[],
  points: readonly StreamPoint[],
  fired: readonly FiredAt[],
): { series: ChartSeries[]; thresholds: ThresholdLine[]; markers: ChartMarker[]; rightName?: string } {
  const series: ChartSeries[] = [];
  const thresholds: ThresholdLine[] = [];
  const lines = new Map<string, { points: SeriesPoint[]; right: boolean }>();
  let rightName: string | undefined;
  for (const spec of specs) {
    const trace = detectorTrace(stream, spec, points);
    const right = spec.kind === 'cusum' || spec.kind === 'ewma';
    series.push({
      name: `${spec.id}: ${DETECTOR_LABEL[spec.kind]}${right ? ' (σ)' : ''}`,
      points: trace.statistic,
      ...(right ? { axis: 'right' as const } : {}),
    });
    lines.set(spec.id, { points: trace.statistic, right });
    if (right) {
      rightName = rightName ? 'statistic (σ)' : `${spec.id} (σ)`;
      series.push({ name: `${spec.id} limit`, points: trace.limit, axis: 'right' });
    }
    if (trace.alarmLevel.length)
      series.push({
        name: `${spec.id} alarm level (baseline − ${(spec as { drop: number }).drop})`,
        points: trace.alarmLevel,
      });
    if (spec.kind === 'window-mean') thresholds.push({ value: spec.threshold, label: `${spec.id} threshold` });
    if (spec.kind === 'latency-quantile')
      thresholds.push({ value: spec.slaMs, label: `${spec.id} SLA (p${Math.round(spec.quantile * 100)}, ms)` });
  }
  const markers: ChartMarker[] = fired.map((f) => {
    const line = f.detector !== undefined ? lines.get(f.detector) : undefined;
    const value = line ? valueAt(line.points, f.t) : undefined;
    return value === undefined
      ? { t: f.t, label: f.label }
      : { t: f.t, value, label: f.label, ...(line!.right ? { axis: 'right' as const } : {}) };
  });
  return { series, thresholds, markers, ...(rightName ? { rightName } : {}) };
}
