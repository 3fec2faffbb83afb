// `vmon backtest`: replays a history of metric events through the production core (parseBody /
// validateEvent, then applyEvents per camera with the policy) and reports the triggers it would
// have fired. State stays in memory per camera: no encode/decode between events.
import { applyEvents, emptyState, type CameraState, type CohortContext } from '../core/camera-state.js';
import { parseBody, validateEvent, type MetricEvent } from '../core/metric-event.js';
import type { MetricKind, Modality } from '../core/metric-event.js';
import type { Policy } from '../core/policy.js';
import { isModelScope, triggerSubject, type Trigger, type TriggerDetail } from '../core/trigger.js';
import {
  AFFECTED_REFRESH_MS,
  cohortPriorOf,
  type CohortHead,
  type CohortKey,
  type CohortSignal,
} from '../core/cohort.js';
import { applyCohortSignals, emptyCohortOutcome } from '../app/cohort-signals.js';
import { InMemoryCohortStore } from '../adapters/cohort-memory.js';
import type { ReportChart, ReportDocument } from '../report/html-report.js';
import { detectorLines, type StreamPoint } from '../report/detector-lines.js';
import { readEventFile, type EventFileFormat, type EventLine, type SeriesOptions } from './event-file.js';
import { iso, num } from './format.js';
import type { Labels } from './labels.js';
import { SCORE_COLUMNS, scoreRow, type DetectorScore } from './backtest-score.js';

/** The policy for a camera + modality (a fixed policy, or scoped policies resolved as the Lambda does). */
export type PolicyFor = (cameraId: string, modality: Modality) => Policy;

export interface BacktestTotals {
  events: number;
  applied: number;
  duplicates: number;
  late: number;
  tooLate: number;
  /** Breaches held back by the alert lifecycle (cooldown, silences, retrain in flight). */
  suppressed: number;
  rejected: number;
  cameras: number;
  triggers: number;
  detectorErrors: number;
}

export interface RejectedLine {
  /** the file, when the input is a folder */
  file?: string;
  line: number;
  index: number | null;
  reason: string;
}

export interface BacktestResult {
  totals: BacktestTotals;
  /** In order of the event time that decided them (detail.lastEventAt), then camera. */
  triggers: Trigger[];
  rejected: RejectedLine[];
  firstEventMs: number | null;
  lastEventMs: number | null;
  /** Final state per camera. */
  states: Map<string, CameraState>;
  /** Every cohort the history touched, with its final head. */
  cohorts: { cohort: CohortKey; head: CohortHead }[];
  /** The valid events per camera, kept for charts. */
  eventsByCamera: Map<string, MetricEvent[]>;
  elapsedMs: number;
}

/** Collects events per camera, then runs each camera's history through applyEvents once. */
export class Backtest {
  private readonly byCamera = new Map<string, MetricEvent[]>();
  private readonly rejected: RejectedLine[] = [];
  private events = 0;
  private rejectedCount = 0;
  private readonly started = performance.now();

  constructor(
    private readonly policyFor: PolicyFor,
    private readonly nowMs: number = Date.now(),
    private readonly keepRejected = 1000,
  ) {}

  add(event: MetricEvent): void {
    let list = this.byCamera.get(event.camera_id);
    if (!list) this.byCamera.set(event.camera_id, (list = []));
    list.push(event);
    this.events++;
  }

  reject(r: RejectedLine): void {
    this.rejectedCount++;
    if (this.rejected.length < this.keepRejected) this.rejected.push(r);
  }

  /** One line of an event file, read the way the Lambda reads a message body. */
  addLine(l: EventLine): void {
    const file = l.file ? { file: l.file } : {};
    if ('error' in l) {
      this.reject({ ...file, line: l.line, index: null, reason: l.error });
      return;
    }
    if ('text' in l) {
      const parsed = parseBody(l.text, this.nowMs);
      for (const e of parsed.events) this.add(e);
      for (const r of parsed.rejections) this.reject({ ...file, line: l.line, index: r.index, reason: r.reason });
      return;
    }
    const r = validateEvent(l.object, this.nowMs);
    if ('event' in r) this.add(r.event);
    else
      this.reject({
        ...file,
        line: l.line,
        index: null,
        reason: r.errors
          .map((e) => (e.path && !e.message.startsWith(e.path) ? `${e.path}: ${e.message}` : e.message))
          .join('; '),
      });
  }

  /** The valid events collected so far, and how many lines or events were rejected. */
  collected(): { events: MetricEvent[]; rejected: number } {
    return { events: [...this.byCamera.values()].flat(), rejected: this.rejectedCount };
  }

  private newTotals(): BacktestTotals {
    return {
      events: this.events,
      applied: 0,
      duplicates: 0,
      late: 0,
      tooLate: 0,
      suppressed: 0,
      rejected: this.rejectedCount,
      cameras: this.byCamera.size,
      triggers: 0,
      detectorErrors: 0,
    };
  }

  /**
   * Each camera's events in event-time order, cut in slices of AFFECTED_REFRESH_MS as batches arrive live
   * (cohort member records are made per slice): slice index → events.
   */
  private slices(): Map<string, Map<number, MetricEvent[]>> {
    const out = new Map<string, Map<number, MetricEvent[]>>();
    for (const [cameraId, events] of this.byCamera) {
      // Event-time order once, up front; applyEvents sorts too, and a sorted input is its cheap case.
      events.sort((a, b) => a.ts - b.ts);
      const bySlice = new Map<number, MetricEvent[]>();
      for (const e of events) {
        const k = Math.floor(e.ts / AFFECTED_REFRESH_MS);
        const list = bySlice.get(k);
        if (list) list.push(e);
        else bySlice.set(k, [e]);
      }
      out.set(cameraId, bySlice);
    }
    return out;
  }

  /** One camera's slice through the production step; its member records go to `signals`. */
  private applySlice(
    cameraId: string,
    state: CameraState,
    events: readonly MetricEvent[],
    acc: { totals: BacktestTotals; triggers: Trigger[]; signals: CohortSignal[] },
    cohorts?: CohortContext,
  ): void {
    const r = applyEvents(state, events, (modality) => this.policyFor(cameraId, modality), cohorts);
    const { totals } = acc;
    acc.triggers.push(...r.triggers);
    totals.applied += r.stats.applied;
    totals.duplicates += r.stats.duplicates;
    totals.late += r.stats.late;
    totals.tooLate += r.stats.tooLate;
    for (const n of Object.values(r.stats.suppressed)) totals.suppressed += n ?? 0;
    totals.detectorErrors += r.stats.detectorErrors.length;
    if (state.signals) acc.signals.push(...state.signals);
    delete state.signals;
  }

  private finish(
    totals: BacktestTotals,
    triggers: Trigger[],
    states: Map<string, CameraState>,
  ): Omit<BacktestResult, 'cohorts'> {
    let first = Infinity,
      last = -Infinity;
    for (const events of this.byCamera.values())
      if (events.length) {
        first = Math.min(first, events[0]!.ts);
        last = Math.max(last, events[events.length - 1]!.ts);
      }
    triggers.sort(
      (x, y) =>
        x.detail.lastEventAt.localeCompare(y.detail.lastEventAt) ||
        triggerSubject(x.detail).localeCompare(triggerSubject(y.detail)) ||
        String(x.detail.detector ?? '').localeCompare(String(y.detail.detector ?? '')),
    );
    totals.triggers = triggers.length;
    return {
      totals,
      triggers,
      rejected: this.rejected,
      states,
      eventsByCamera: this.byCamera,
      firstEventMs: Number.isFinite(first) ? first : null,
      lastEventMs: Number.isFinite(last) ? last : null,
      elapsedMs: performance.now() - this.started,
    };
  }

  /** Every camera's history alone: camera decisions only, no cohort prior (tune and NAB scoring use this). */
  runCameras(): BacktestResult & { signals: CohortSignal[] } {
    const acc = { totals: this.newTotals(), triggers: [] as Trigger[], signals: [] as CohortSignal[] };
    const states = new Map<string, CameraState>();
    for (const [cameraId, bySlice] of this.slices()) {
      const state = emptyState();
      for (const events of bySlice.values()) this.applySlice(cameraId, state, events, acc);
      states.set(cameraId, state);
    }
    return { ...this.finish(acc.totals, acc.triggers, states), cohorts: [], signals: acc.signals };
  }

  /**
   * Camera and cohort decisions as live: every camera's slices in event-time order across the fleet; after
   * each slice the member records made in it go through the live use case (an in-memory store), and a camera
   * whose chart has no baseline yet arms on its cohort's prior as the head then holds it (cohort-prior.ts).
   */
  async run(): Promise<BacktestResult> {
    const acc = { totals: this.newTotals(), triggers: [] as Trigger[], signals: [] as CohortSignal[] };
    const cohorts = new InMemoryCohortStore();
    const context: CohortContext = {
      epochOf: () => undefined, // a history holds no lifecycle events: nothing resets
      priorOf: (modelVersion, modality, metric) => {
        const p = cohortPriorOf(cohorts.headOf({ modelVersion, modality }))[metric];
        return p && { mean: p.mean, sigma: p.sigma, n: p.n };
      },
      // The cohort watermark a lone camera waits for, as live (docs/fleet-decisions.md#watermarks).
      waitOf: (modelVersion, modality) => cohorts.headOf({ modelVersion, modality }).wait,
    };
    const slices = this.slices();
    const order = [...new Set([...slices.values()].flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
    const states = new Map<string, CameraState>([...slices.keys()].map((id) => [id, emptyState()]));
    const published: Trigger[] = [];
    const outcome = emptyCohortOutcome();
    for (const k of order) {
      for (const [cameraId, bySlice] of slices) {
        const events = bySlice.get(k);
        if (events) this.applySlice(cameraId, states.get(cameraId)!, events, acc, context);
      }
      const signals = acc.signals.splice(0);
      signals.sort((a, b) => a.rec.l - b.rec.l || a.cameraId.localeCompare(b.cameraId) || a.rec.q - b.rec.q);
      await applyCohortSignals(
        signals,
        { cohorts, publisher: { publish: async (ts) => void published.push(...ts) }, policyFor: this.policyFor },
        this.nowMs,
        outcome,
      );
    }
    const { totals, triggers } = acc;
    totals.suppressed += outcome.suppressed;
    // A trigger republished from an outbox is one decision.
    const seen = new Set(triggers.map((t) => t.detail.triggerId));
    for (const t of published)
      if (!seen.has(t.detail.triggerId)) {
        seen.add(t.detail.triggerId);
        triggers.push(t);
      }
    return { ...this.finish(totals, triggers, states), cohorts: cohorts.cohorts() };
  }
}

/** Backtests a whole file. `onBytes` reports progress through the file. */
export async function backtestFile(
  path: string,
  format: EventFileFormat,
  policyFor: PolicyFor,
  opts: { nowMs?: number; onBytes?: (n: number) => void; series?: SeriesOptions } = {},
): Promise<BacktestResult> {
  const bt = new Backtest(policyFor, opts.nowMs);
  for await (const batch of readEventFile(path, format, opts.onBytes, opts.series))
    for (const line of batch) bt.addLine(line);
  return bt.run();
}

/** Reads and validates a whole event file without running any policy (vmon tune). */
export async function readHistory(
  path: string,
  format: EventFileFormat,
  series?: SeriesOptions,
): Promise<{ events: MetricEvent[]; rejected: number }> {
  const bt = new Backtest(() => {
    throw new Error('no policy: reading only');
  });
  for await (const batch of readEventFile(path, format, undefined, series)) for (const line of batch) bt.addLine(line);
  return bt.collected();
}

/** Backtests events already in memory, camera decisions only (tune, NAB scoring, the bench). */
export function backtestEvents(events: Iterable<MetricEvent>, policyFor: PolicyFor): BacktestResult {
  const bt = new Backtest(policyFor);
  for (const e of events) bt.add(e);
  const { signals: _signals, ...result } = bt.runCameras();
  return result;
}

/** Backtests events already in memory with cohort decisions (the fleet tests compare it with live). */
export function backtestEventsWithCohorts(
  events: Iterable<MetricEvent>,
  policyFor: PolicyFor,
): Promise<BacktestResult> {
  const bt = new Backtest(policyFor);
  for (const e of events) bt.add(e);
  return bt.run();
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
const TOTAL_LABELS: Record<keyof BacktestTotals, string> = {
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
    ...labelled.filter((c) => result.eventsByCamera.has(c)),
    ...triggersByCamera.keys(),
    ...[...result.eventsByCamera.keys()].filter((c) => !triggersByCamera.has(c)).sort(),
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
        rows: Object.entries(totals).map(([k, v]) => [TOTAL_LABELS[k as keyof BacktestTotals] ?? k, v]),
      },
      { title: 'Triggers by action', columns: ['action', 'count'], rows: [...byAction].map(([k, v]) => [k, v]) },
      {
        title: 'Triggers by camera',
        columns: ['camera', 'events', 'triggers'],
        rows: [...triggersByCamera].map(([c, ts]) => [c, result.eventsByCamera.get(c)?.length ?? 0, ts.length]),
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
