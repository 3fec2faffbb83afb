// The demo's HTML report as data for lib/report/html-report.ts: for one camera of each scenario,
// the metric as sent and the detector's own statistic (replayed with the pure core detectors)
// against its threshold, with the triggers the real pipeline published; plus fleet totals.
import type { MetricKind } from '../core/metric-event.js';
import { detectorLines } from '../report/detector-lines.js';
import type { ChartBand, ReportChart, ReportDocument, SeriesPoint } from '../report/html-report.js';
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

/**
 * One camera's chart: the metric as sent and, for every detector of the policy on that metric, its own
 * statistic against its own threshold (lib/report/detector-lines.ts); each trigger is pinned on the line
 * of the detector that fired it, at that detector's statistic when it fired.
 */
function cameraChart(
  cam: SimCamera,
  sim: FleetSimulator,
  policy: MonitorPolicy,
  triggers: readonly ObservedTrigger[],
): ReportChart {
  const metric = SCENARIO_METRIC[cam.scenario];
  const sent = sim.sent.get(cam.id)?.[metric] ?? [];
  const specs = policy.detectors.filter(
    (d) => d.metric === metric && (!d.modalities || d.modalities.includes(cam.modality)),
  );
  const lines = detectorLines(
    { cameraId: cam.id, modality: cam.modality, metric },
    specs,
    sent,
    triggers
      .filter((t) => t.cameraId === cam.id)
      .map((t) => ({
        t: t.firedAtMs,
        ...(t.detector !== undefined ? { detector: t.detector } : {}),
        label: `${t.detailType} · ${t.detector ?? '?'}${t.statistic !== undefined ? ` · statistic ${t.statistic.toPrecision(4)}` : ''}`,
      })),
  );
  const events = cam.onsetMs !== null ? [{ t: cam.onsetMs, label: 'onset' }] : [];
  return {
    title: `${cam.id} · ${cam.modality} · ${cam.scenario}`,
    yName: metric,
    ...(lines.rightName ? { rightName: lines.rightName } : {}),
    series: [{ name: `${metric} sent`, points: sent.map((p) => ({ t: p.ts, value: p.value })) }, ...lines.series],
    thresholds: lines.thresholds,
    markers: lines.markers,
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
    ? closedLoopReport(
        input.closedLoop,
        driftThreshold?.kind === 'window-mean' ? driftThreshold.threshold : 0.7,
        input.policy.detectors.filter(
          (d) => d.metric === 'DriftScore' && (!d.modalities || d.modalities.includes('Rgb')),
        ),
      )
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
