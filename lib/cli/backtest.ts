// `vmon backtest`: replays a history of metric events through the production core with the streaming
// replay engine (lib/replay: parseBody / validateEvent, applyEvents per camera with the policy, cohort
// decisions through the live use case), on one core or on worker threads, and reports the triggers it
// would have fired.
import type { CameraState } from '../core/camera-state.js';
import type { MetricEvent, MetricKind, Modality } from '../core/metric-event.js';
import type { CohortHead, CohortKey } from '../core/cohort.js';
import { isModelScope, triggerSubject, type Trigger, type TriggerDetail } from '../core/trigger.js';
import {
  replay,
  replayCameras,
  ShardReplayer,
  type PolicyFor,
  type ReplayPolicies,
  type ReplayResult,
} from '../replay/engine.js';
import { eventSource, fileSource } from '../replay/sources.js';
import { defaultWorkers, replayParallel } from '../replay/parallel.js';
import type { ReportChart, ReportDocument } from '../report/html-report.js';
import { detectorLines, type StreamPoint } from '../report/detector-lines.js';
import { readEventFile, type EventFileFormat, type SeriesOptions } from './event-file.js';
import { iso, num } from './format.js';
import type { Labels } from './labels.js';
import { SCORE_COLUMNS, scoreRow, type DetectorScore } from './backtest-score.js';

export type { PolicyFor, RejectedLine, ReplayTotals as BacktestTotals } from '../replay/engine.js';
import type { RejectedLine, ReplayTotals } from '../replay/engine.js';

export interface BacktestResult {
  totals: ReplayTotals;
  /** In order of the event time that decided them (detail.lastEventAt), then camera. */
  triggers: Trigger[];
  rejected: RejectedLine[];
  firstEventMs: number | null;
  lastEventMs: number | null;
  /** Final state per camera. */
  states: Map<string, CameraState>;
  /** Every cohort the history touched, with its final head. */
  cohorts: { cohort: CohortKey; head: CohortHead }[];
  /** Valid events per camera. */
  eventCounts: Map<string, number>;
  /** The valid events per camera, when kept (charts, label scoring); empty otherwise. */
  eventsByCamera: Map<string, MetricEvent[]>;
  /** Events later than the reorder window behind their camera's newest (applied as live applies a late event). */
  reordered: number;
  elapsedMs: number;
}

/** The engine's result with maps, as the CLI and the report use it. */
export function backtestResultOf(r: ReplayResult, elapsedMs: number): BacktestResult {
  return {
    totals: r.totals,
    triggers: r.triggers,
    rejected: r.rejected,
    firstEventMs: r.firstEventMs,
    lastEventMs: r.lastEventMs,
    states: new Map(r.states ?? []),
    cohorts: r.cohorts,
    eventCounts: new Map(r.eventCounts),
    eventsByCamera: new Map(r.events ?? []),
    reordered: r.reordered,
    elapsedMs,
  };
}

/** Events per camera a report's charts show at most (its first ones): memory stays bounded per camera. */
export const REPORT_EVENTS_PER_CAMERA = 100_000;

/** Under this much file per worker, threads cost more than they save: fewer workers (at least one). */
export const MIN_BYTES_PER_WORKER = 4 << 20;

/**
 * Backtests a whole file, streamed. `workers` (default: the core count, fewer for a small file) shards
 * the cameras over worker threads; the result is the same with any count. `onBytes` reports progress. `keepEventsPerCamera`: events kept for charts and label scoring.
 */
export async function backtestFile(
  path: string,
  format: EventFileFormat,
  policies: ReplayPolicies,
  opts: {
    nowMs?: number;
    onBytes?: (n: number) => void;
    workers?: number;
    fileBytes?: number;
    keepEventsPerCamera?: number;
    series?: SeriesOptions;
    /** The replay engine's `reorderMs` (default 1 h). */
    reorderMs?: number | undefined;
  } = {},
): Promise<BacktestResult & { workers: number }> {
  const started = performance.now();
  const nowMs = opts.nowMs ?? Date.now();
  const workers = Math.max(
    1,
    Math.min(opts.workers ?? Number.POSITIVE_INFINITY, workerCount(opts.workers, opts.fileBytes)),
  );
  const o = {
    policies,
    nowMs,
    keepEventsPerCamera: opts.keepEventsPerCamera ?? 0,
    ...(opts.reorderMs !== undefined ? { reorderMs: opts.reorderMs } : {}),
  };
  const r =
    workers === 1
      ? await replay(fileSource(path, format, opts.onBytes, opts.series), o)
      : await replayParallel(
          { file: path, format, ...(opts.series ? { series: opts.series } : {}) },
          { ...o, workers, ...(opts.onBytes ? { onBytes: opts.onBytes } : {}) },
        );
  return { ...backtestResultOf(r, performance.now() - started), workers };
}

function workerCount(asked: number | undefined, bytes: number | undefined): number {
  if (asked !== undefined) return asked;
  const cores = defaultWorkers();
  return bytes === undefined ? cores : Math.min(cores, Math.floor(bytes / MIN_BYTES_PER_WORKER));
}

/** A replayer used only for its parsing: it collects the valid events in file order instead of replaying them. */
class EventCollector extends ShardReplayer {
  readonly events: MetricEvent[] = [];
  constructor() {
    super({
      policies: () => {
        throw new Error('no policy: reading only');
      },
    });
  }
  override add(e: MetricEvent): void {
    this.events.push(e);
  }
}

/** Reads and validates a whole event file without running any policy (vmon tune). */
export async function readHistory(
  path: string,
  format: EventFileFormat,
  series?: SeriesOptions,
): Promise<{ events: MetricEvent[]; rejected: number }> {
  const c = new EventCollector();
  for await (const batch of readEventFile(path, format, undefined, series)) for (const l of batch) c.addLine(l);
  return { events: c.events, rejected: c.rejectedCount };
}

/** Backtests events already in memory, camera decisions only (tune, NAB scoring, the bench). */
export function backtestEvents(events: Iterable<MetricEvent>, policyFor: PolicyFor): BacktestResult {
  const started = performance.now();
  return backtestResultOf(
    replayCameras(events, { policies: policyFor, keepEventsPerCamera: Number.POSITIVE_INFINITY }),
    performance.now() - started,
  );
}

/** Backtests events already in memory with cohort decisions (the fleet tests compare it with live). */
export async function backtestEventsWithCohorts(
  events: Iterable<MetricEvent>,
  policyFor: PolicyFor,
): Promise<BacktestResult> {
  const started = performance.now();
  const list = [...events];
  return backtestResultOf(
    await replay(
      eventSource(() => [list]),
      { policies: policyFor, keepEventsPerCamera: Number.POSITIVE_INFINITY },
    ),
    performance.now() - started,
  );
}

const TRIGGER_COLUMNS = [
  'AT (EVENT TIME)',
  'ACTION',
  'CAMERA',
  'MODALITY',
  'METRIC',
  'DETECTOR',
  'STATISTIC',
  'THRESHOLD',
  'TRIGGER ID',
];
/** Model-scope rows show `model:<version>/<modality>` as the subject, the share as statistic, minShare as threshold. */
export const triggerRow = (t: Trigger): string[] => {
  const d = t.detail;
  if (isModelScope(d))
    return [
      d.lastEventAt,
      t.detailType,
      triggerSubject(d),
      d.modality,
      '-',
      Array.isArray(d.detectors) ? d.detectors.join(',') || '-' : '-',
      typeof d.share === 'number' ? num(d.share) : '-',
      typeof d.threshold === 'number' ? num(d.threshold) : '-',
      d.triggerId,
    ];
  return [
    d.lastEventAt,
    t.detailType,
    d.cameraId,
    d.modality,
    d.metric,
    d.detector,
    // Resolved by a reset (closed loop): statistic and threshold are 0 placeholders.
    'resolvedBy' in d && d.resolvedBy ? `resolvedBy ${String(d.resolvedBy)}` : num(d.statistic),
    'resolvedBy' in d && d.resolvedBy ? '-' : num(d.threshold),
    d.triggerId,
  ];
};
export const TRIGGER_TABLE_COLUMNS = TRIGGER_COLUMNS;

/** The totals as the report's table names them. */
const TOTAL_LABELS: Record<keyof ReplayTotals, string> = {
  events: 'events read',
  applied: 'applied',
  duplicates: 'duplicates (same id, dropped)',
  late: 'late (older than the stream newest, applied to windows only)',
  tooLate: 'too late (older than the oldest window entry, dropped)',
  suppressed: 'breaches held back by the lifecycle',
  rejected: 'rejected lines or events',
  cameras: 'cameras',
  triggers: 'triggers',
  detectorErrors: 'detector errors',
};

/** The report: totals, triggers, rejected lines, and charts of the cameras that triggered first. */
export function backtestReport(
  result: BacktestResult,
  opts: { source: string; policyFor: PolicyFor; maxCharts?: number; labels?: Labels; scores?: DetectorScore[] },
): ReportDocument {
  const { totals } = result;
  const triggersByCamera = new Map<string, Trigger[]>();
  for (const t of result.triggers) {
    if (isModelScope(t.detail)) continue;
    const list = triggersByCamera.get(t.detail.cameraId) ?? [];
    list.push(t);
    triggersByCamera.set(t.detail.cameraId, list);
  }
  const maxCharts = opts.maxCharts ?? 12;
  const charts: ReportChart[] = [];
  const labelled = [...(opts.labels?.entries() ?? [])].filter(([, w]) => w.length > 0).map(([c]) => c);
  const cameras = [
    ...labelled.filter((c) => result.eventCounts.has(c)),
    ...triggersByCamera.keys(),
    ...[...result.eventCounts.keys()].filter((c) => !triggersByCamera.has(c)).sort(),
  ];
  const charted = new Set<string>();
  for (const cameraId of cameras) {
    if (charts.length >= maxCharts) break;
    if (charted.has(cameraId)) continue;
    charted.add(cameraId);
    const events = result.eventsByCamera.get(cameraId) ?? [];
    const streams = new Map<string, StreamPoint[]>();
    for (const e of events) {
      if (!opts.policyFor(cameraId, e.modality).detectors.some((d) => d.metric === e.metric)) continue;
      const key = `${e.modality}\u0000${e.metric}`;
      let pts = streams.get(key);
      if (!pts) streams.set(key, (pts = []));
      pts.push({
        ts: e.ts,
        value: e.value,
        ...(e.sample_count !== undefined ? { sampleCount: e.sample_count } : {}),
        ...(e.model_version !== undefined ? { modelVersion: e.model_version } : {}),
      });
    }
    for (const [key, points] of streams) {
      if (charts.length >= maxCharts) break;
      const [modality, metric] = key.split('\u0000') as [Modality, MetricKind];
      // Every detector on the stream, each against its own threshold; each trigger on its detector's line.
      const specs = opts
        .policyFor(cameraId, modality)
        .detectors.filter((d) => d.metric === metric && (!d.modalities || d.modalities.includes(modality)));
      const lines = detectorLines(
        { cameraId, modality, metric },
        specs,
        points,
        (triggersByCamera.get(cameraId) ?? [])
          .filter((t) => t.detail.modality === modality && t.detail.metric === metric)
          .map((t) => t as Trigger & { detail: TriggerDetail })
          .map((t) => ({
            t: Date.parse(t.detail.lastEventAt),
            detector: t.detail.detector,
            label: `${t.detailType} · ${t.detail.detector} · statistic ${num(t.detail.statistic)}`,
          })),
      );
      const bands = (opts.labels?.get(cameraId) ?? [])
        .filter((w) => w.metric === undefined || w.metric === metric)
        .map((w) => ({ from: w.start, to: w.end, label: 'labelled incident' }));
      charts.push({
        title: `${cameraId} · ${modality} · ${metric}`,
        yName: metric,
        ...(lines.rightName ? { rightName: lines.rightName } : {}),
        series: [
          { name: `${cameraId} ${metric}`, points: points.map((p) => ({ t: p.ts, value: p.value })) },
          ...lines.series,
        ],
        thresholds: lines.thresholds,
        markers: lines.markers,
        ...(bands.length ? { bands } : {}),
      });
    }
  }
  const byAction = new Map<string, number>();
  for (const t of result.triggers) byAction.set(t.detailType, (byAction.get(t.detailType) ?? 0) + 1);
  return {
    title: 'vmon backtest',
    subtitle: `${opts.source} · ${result.firstEventMs !== null ? `${iso(result.firstEventMs)} → ${iso(result.lastEventMs!)}` : 'no events'}`,
    summary: [
      { label: 'events', value: totals.events },
      { label: 'applied', value: totals.applied },
      { label: 'rejected', value: totals.rejected },
      { label: 'cameras', value: totals.cameras },
      { label: 'triggers', value: totals.triggers },
    ],
    tables: [
      ...(opts.scores
        ? [
            {
              title: 'Scored against the labelled windows (NAB standard profile)',
              columns: SCORE_COLUMNS,
              rows: opts.scores.map(scoreRow),
            },
          ]
        : []),
      {
        title: 'Totals',
        columns: ['measure', 'count'],
        rows: Object.entries(totals).map(([k, v]) => [TOTAL_LABELS[k as keyof ReplayTotals] ?? k, v]),
      },
      { title: 'Triggers by action', columns: ['action', 'count'], rows: [...byAction].map(([k, v]) => [k, v]) },
      {
        title: 'Triggers by camera',
        columns: ['camera', 'events', 'triggers'],
        rows: [...triggersByCamera].map(([c, ts]) => [c, result.eventCounts.get(c) ?? 0, ts.length]),
      },
      {
        title: `Triggers${result.triggers.length > 500 ? ' (first 500)' : ''}`,
        columns: TRIGGER_COLUMNS,
        rows: result.triggers.slice(0, 500).map(triggerRow),
      },
      ...(result.rejected.length
        ? [
            {
              title: `Rejected lines${totals.rejected > 200 ? ' (first 200)' : ''}`,
              columns: ['line', 'index', 'reason'],
              rows: result.rejected
                .slice(0, 200)
                .map((r) => [r.file ? `${r.file}:${r.line}` : r.line, r.index ?? '', r.reason]),
            },
          ]
        : []),
    ],
    charts,
  };
}
