// The demo's HTML report as data for lib/report/html-report.ts: for one camera of each scenario,
// the metric as sent and the detector's own statistic (replayed with the pure core detectors)
// against its threshold, with the triggers the real pipeline published; plus fleet totals.
import { detectorConfig, DETECTORS, type DetectorSpec } from '../core/policy.js';
import { idTag, insertEntry, type WindowEntry } from '../core/stream-window.js';
import type { MetricEvent, MetricKind } from '../core/metric-event.js';
import type {
  ChartBand,
  ChartMarker,
  ChartSeries,
  ReportChart,
  ReportDocument,
  SeriesPoint,
} from '../report/html-report.js';
import { NIGHT, type FleetSimulator, type SimCamera } from '../sim/fleet-simulator.js';
import { SCENARIOS, type ScenarioId } from '../sim/scenarios.js';
import type { MonitorPolicy } from './policy.js';
import { closedLoopReport, type ClosedLoopResult } from './closed-loop.js';
import { hhmm, nightLine, type DemoSummary, type ObservedTrigger } from './summary.js';

/** The run's nights as grey shading on every time axis. */
const nightBands = (sim: FleetSimulator): ChartBand[] =>
  sim.nights().map((n) => ({ from: n.from, to: n.to, label: 'night', color: 'rgba(73, 80, 87, 0.14)' }));

/** The metric each scenario is about, drawn for its example camera. */
const SCENARIO_METRIC: Record<ScenarioId, MetricKind> = {
  healthy: 'DriftScore',
  drift: 'DriftScore',
  'drift-recovers': 'DriftScore',
  'accuracy-regression': 'Accuracy',
  'latency-regression': 'LatencyMs',
  'model-rollout': 'Accuracy',
  malformed: 'LatencyMs',
  'flaky-storage': 'DriftScore',
  'poison-storage': 'DriftScore',
};

/** The detector's statistic (and limit) after each event, replayed with the core's own detector code. */
function detectorTrace(
  cam: SimCamera,
  spec: DetectorSpec,
  points: readonly { ts: number; value: number; sampleCount?: number; modelVersion?: string }[],
) {
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
      camera_id: cam.id,
      modality: cam.modality,
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

const DETECTOR_LABEL: Record<DetectorSpec['kind'], string> = {
  'window-mean': 'window mean',
  'latency-quantile': 'window quantile',
  regression: 'current (sample-weighted)',
  cusum: 'CUSUM',
  ewma: 'EWMA',
};

/** The last point at or before `t` (the statistic as it stood when a trigger was decided). */
function valueAt(points: readonly SeriesPoint[], t: number): number | undefined {
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

/**
 * One camera's chart: the metric as sent and, for every detector of the policy on that metric, its own
 * statistic against its own threshold (window statistics in the metric's units on the left axis; CUSUM
 * and EWMA in standard deviations on the right, with their limit). Each trigger is pinned on the line of
 * the detector that fired it, at that detector's statistic when it fired.
 */
function cameraChart(
  cam: SimCamera,
  sim: FleetSimulator,
  policy: MonitorPolicy,
  triggers: readonly ObservedTrigger[],
): ReportChart {
  const metric = SCENARIO_METRIC[cam.scenario];
  const sent = sim.sent.get(cam.id)?.[metric] ?? [];
  const series: ChartSeries[] = [{ name: `${metric} sent`, points: sent.map((p) => ({ t: p.ts, value: p.value })) }];
  const thresholds: ReportChart['thresholds'] = [];
  const specs = policy.detectors.filter(
    (d) => d.metric === metric && (!d.modalities || d.modalities.includes(cam.modality)),
  );
  const drawn = new Map<string, { points: SeriesPoint[]; right: boolean }>();
  let rightName: string | undefined;
  for (const spec of specs) {
    const trace = detectorTrace(cam, spec, sent);
    const right = spec.kind === 'cusum' || spec.kind === 'ewma';
    series.push({
      name: `${spec.id}: ${DETECTOR_LABEL[spec.kind]}${right ? ' (σ)' : ''}`,
      points: trace.statistic,
      ...(right ? { axis: 'right' as const } : {}),
    });
    drawn.set(spec.id, { points: trace.statistic, right });
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
  const markers: ChartMarker[] = triggers
    .filter((t) => t.cameraId === cam.id)
    .map((t) => {
      const line = t.detector !== undefined ? drawn.get(t.detector) : undefined;
      const value = line ? valueAt(line.points, t.firedAtMs) : undefined;
      const label = `${t.detailType} · ${t.detector ?? '?'}${t.statistic !== undefined ? ` · statistic ${t.statistic.toPrecision(4)}` : ''}`;
      // Another metric's detector (or before its first value): a vertical line at the time, not a pin.
      return value === undefined
        ? { t: t.firedAtMs, label }
        : { t: t.firedAtMs, value, label, ...(line!.right ? { axis: 'right' as const } : {}) };
    });
  const events = cam.onsetMs !== null ? [{ t: cam.onsetMs, label: 'onset' }] : [];
  return {
    title: `${cam.id} · ${cam.modality} · ${cam.scenario}`,
    yName: metric,
    ...(rightName ? { rightName } : {}),
    series,
    thresholds,
    markers,
    events,
    bands: nightBands(sim),
  };
}

/** Cumulative triggers by type over simulated time: the fleet's totals at a glance. */
function fleetChart(triggers: readonly ObservedTrigger[], sim: FleetSimulator): ReportChart {
  const types = [...new Set(triggers.map((t) => t.detailType))].sort();
  const series = types.map((type) => {
    const times = triggers
      .filter((t) => t.detailType === type)
      .map((t) => t.firedAtMs)
      .sort((a, b) => a - b);
    const points: SeriesPoint[] = [{ t: sim.startMs, value: 0 }];
    for (const [i, t] of times.entries()) points.push({ t, value: i + 1 });
    points.push({ t: sim.endMs, value: times.length });
    return { name: type, points };
  });
  return {
    title: 'Fleet: events on the bus (cumulative, simulated time; night shaded)',
    yName: 'events',
    series,
    bands: nightBands(sim),
  };
}

export function demoReport(input: {
  summary: DemoSummary;
  sim: FleetSimulator;
  triggers: readonly ObservedTrigger[];
  policy: MonitorPolicy;
  wallMs: number;
  closedLoop?: ClosedLoopResult;
}): ReportDocument {
  const { summary: s, sim } = input;
  const driftThreshold = input.policy.detectors.find((d) => d.kind === 'window-mean' && d.metric === 'DriftScore');
  const loop = input.closedLoop
    ? closedLoopReport(input.closedLoop, driftThreshold?.kind === 'window-mean' ? driftThreshold.threshold : 0.7)
    : undefined;
  const examples = SCENARIOS.map((sc) => sim.cameras.find((c) => c.scenario === sc.id)).filter(
    (c): c is SimCamera => c !== undefined,
  );
  const e = s.events;
  const hours = (sim.endMs - sim.startMs) / 3600_000;
  return {
    title: 'VisuTility Monitor — local demo',
    subtitle:
      `${sim.cameras.length} simulated cameras, ${hours} simulated hours (${new Date(sim.startMs).toISOString()} → ${new Date(sim.endMs).toISOString()}, ` +
      `from ${hhmm(sim.options.startHourOfDay)} fleet-local time; night ${hhmm(NIGHT.dusk)}-${hhmm(NIGHT.dawn)} shaded grey), seed ${sim.options.seed}, ` +
      `through the real ingest handler on moto in ${(input.wallMs / 1000).toFixed(0)} s. Policy "${input.policy.policy.id}".` +
      (s.night ? ` ${nightLine(s.night)}.` : ''),
    summary: [
      { label: 'cameras', value: sim.cameras.length },
      { label: 'events sent', value: e.sent.toLocaleString('en-US') },
      { label: 'applied', value: e.applied.toLocaleString('en-US') },
      { label: 'lost', value: e.lost },
      // Beside the bus count: actions and AlertResolved apart, adding up to the events on the bus.
      { label: 'triggers (actions)', value: input.triggers.filter((t) => t.detailType !== 'AlertResolved').length },
      { label: 'AlertResolved', value: input.triggers.filter((t) => t.detailType === 'AlertResolved').length },
      { label: 'false triggers (healthy)', value: s.falseTriggersOnHealthy },
      ...(s.night
        ? [
            { label: 'healthy through a whole night', value: s.night.healthyThroughWholeNight },
            { label: 'false triggers at night', value: s.night.falseTriggersAtNight },
          ]
        : []),
      { label: 'dead letters', value: s.deadLetters.total },
      { label: 'verdict', value: s.ok ? 'ok' : 'FAIL' },
    ],
    tables: [
      {
        title: 'Expected vs detected, per scenario',
        columns: [
          'scenario',
          'what happens',
          'cameras',
          'expected',
          'detected',
          'delay p50 (sim min)',
          'delay max',
          'unexpected triggers',
          'status',
        ],
        rows: s.rows.map((r) => [
          r.scenario,
          r.description,
          r.cameras,
          r.expected,
          r.expected === 'no trigger' ? '-' : `${r.detected}/${r.cameras}`,
          r.delayMinutes ? Math.round(r.delayMinutes.median) : '-',
          r.delayMinutes ? Math.round(r.delayMinutes.max) : '-',
          r.unexpectedTriggers,
          r.status,
        ]),
      },
      {
        title: 'Events',
        columns: [
          'sent',
          'applied',
          'dead-lettered by redrive',
          'lost',
          'bad parts sent',
          'bad parts in DLQ with reason',
        ],
        rows: [[e.sent, e.applied, e.redriven, e.lost, e.badPartsSent, e.rejected]],
      },
      {
        title: 'Dead-letter queue, by reason',
        columns: ['count', 'reason'],
        rows: s.deadLetters.byReason.map((r) => [r.count, r.reason]),
      },
      ...(loop ? [loop.table] : []),
    ],
    charts: [
      fleetChart(input.triggers, sim),
      ...examples.map((c) => cameraChart(c, sim, input.policy, input.triggers)),
      ...(loop ? [loop.chart] : []),
    ],
  };
}
