// The streaming replay engine: metric events through the production decision path (parseBody /
// validateEvent, applyEvents per camera with the policy, cohort decisions through the live use case on
// an in-memory store), as `vmon backtest`, `vmon tune`, the bench, the workers and the tests run it.
//
// Two steps with JSON-serialisable inputs and outputs, so they run in one process, in worker threads or
// in Lambda workers alike:
// - replayCameraShard: the cameras of one shard (camera id hash), streamed; per camera only its state and
//   the events of its open slices (AFFECTED_REFRESH_MS) are held. Out: camera triggers, the member records
//   each slice made, and the cohort priors each slice read.
// - mergeShards: the member records of every shard in event-time order (slice, then the live sort) through
//   applyCohortSignals, as `Backtest.run` did; checks every prior a camera read against the cohort head at
//   that slice. A camera reads its cohort's prior only while its sequential charts warm up; when a read
//   differs, the merge returns the true priors and the shards that must run again (replayFleet loops until
//   none). The first wrong slice moves strictly later each round, so this ends, and the result is the
//   single-process one (docs/performance.md "Replay engine").
import { applyCohortSignals, emptyCohortOutcome, shardOf } from '../app/cohort-signals.js';
import { InMemoryCohortStore } from '../adapters/cohort-memory.js';
import { applyEvents, emptyState, type CameraState, type CohortContext } from '../core/camera-state.js';
import {
  AFFECTED_REFRESH_MS,
  cohortPriorOf,
  type CohortHead,
  type CohortKey,
  type CohortSignal,
} from '../core/cohort.js';
import type { BaselinePrior } from '../core/detectors/adaptive-baseline.js';
import { parseBody, validateEvent, type MetricEvent, type MetricKind, type Modality } from '../core/metric-event.js';
import { resolvePolicy, type Policy } from '../core/policy.js';
import { triggerSubject, type Trigger } from '../core/trigger.js';
import type { EventLine } from '../cli/event-file.js';

/** The policy for a camera + modality. */
export type PolicyFor = (cameraId: string, modality: Modality) => Policy;

/** Policies as data (what workers receive): one policy, or scoped ones resolved as the Lambda does. */
export interface ReplayPolicies {
  policy: Policy;
  /** `fleet`, `modality:<m>`, `camera:<id>` → policy (resolvePolicy). */
  scoped?: Record<string, Policy>;
}

export function policyForOf(p: ReplayPolicies | PolicyFor): PolicyFor {
  if (typeof p === 'function') return p;
  if (!p.scoped || Object.keys(p.scoped).length === 0) return () => p.policy;
  const scoped = new Map(Object.entries(p.scoped));
  return (cameraId, modality) => resolvePolicy(scoped, cameraId, modality, p.policy);
}

export interface ReplayTotals {
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

/** Where events come from. A factory, because a shard may have to read its source again (priors). */
export type ReplaySource =
  /** Lines of an event file (lib/cli/event-file.ts), parsed here the way the ingest function parses a body. */
  | { lines: () => AsyncIterable<EventLine[]> | Iterable<EventLine[]> }
  /** Events already valid (S3/local history, the simulator, memory): one by one or in batches. */
  | { events: () => AsyncIterable<MetricEvent | MetricEvent[]> | Iterable<MetricEvent | MetricEvent[]> };

export interface ReplayOptions {
  policies: ReplayPolicies | PolicyFor;
  /** The receiver's clock for validation (future skew); the same in every shard. Default: now. */
  nowMs?: number;
  /** Cohort decisions and cohort priors (default true); false: every camera alone (tune, NAB scoring). */
  cohorts?: boolean;
  /**
   * A camera's slice is applied once the camera's newest event time is this far past the slice's end
   * (default 1 h). An event older than that is applied with the next slice, as live would apply a late
   * event (counted in `reordered`). Memory per camera: about this much of its events.
   */
  reorderMs?: number;
  /** Rejected lines kept (all are counted). Default 1000. */
  keepRejected?: number;
  /** Valid events kept per camera, for charts and label scoring. Default 0: none kept. */
  keepEventsPerCamera?: number;
  /** Final camera states in the result (default true). */
  keepStates?: boolean;
}

/** The cohort prior a slice read, per cohort and metric: [slice, prior or null (none)]. */
export interface PriorSeries {
  modelVersion: string;
  modality: Modality;
  metric: MetricKind;
  values: [slice: number, prior: BaselinePrior | null][];
}
export type PriorTimeline = PriorSeries[];

export interface ShardSpec {
  index: number;
  count: number;
}

export interface ShardOptions extends ReplayOptions {
  /** This shard of `count` (cameras by FNV-1a of their id). Default: the only one. */
  shard?: ShardSpec;
  /** The cohort priors to answer reads with (from the previous mergeShards); absent slices read none. */
  priors?: PriorTimeline;
}

/** One shard's cameras, replayed. Plain data (JSON). */
export interface ShardResult {
  shard: ShardSpec;
  totals: ReplayTotals;
  /** Camera triggers, each camera's in decision order. */
  triggers: Trigger[];
  /** Member records, with the slice that made them. */
  signals: [slice: number, signal: CohortSignal][];
  /** The priors the shard's cameras read. */
  priorReads: PriorTimeline;
  rejected: RejectedLine[];
  firstEventMs: number | null;
  lastEventMs: number | null;
  /** Valid events per camera. */
  eventCounts: [cameraId: string, events: number][];
  /** Events older than the reorder window, applied with a later slice. */
  reordered: number;
  states?: [cameraId: string, state: CameraState][];
  events?: [cameraId: string, events: MetricEvent[]][];
}

/** The replay's result. Plain data (JSON). */
export interface ReplayResult {
  totals: ReplayTotals;
  /** In order of the event time that decided them (detail.lastEventAt), then subject, then detector. */
  triggers: Trigger[];
  rejected: RejectedLine[];
  firstEventMs: number | null;
  lastEventMs: number | null;
  eventCounts: [cameraId: string, events: number][];
  reordered: number;
  /** Every cohort the history touched, with its final head. */
  cohorts: { cohort: CohortKey; head: CohortHead }[];
  states?: [cameraId: string, state: CameraState][];
  events?: [cameraId: string, events: MetricEvent[]][];
}

export interface MergeOutcome {
  /** Final when `rerun` is empty. */
  result: ReplayResult;
  /** Shards that read a prior other than the cohort's at that slice: run them again with `priors`. */
  rerun: number[];
  /** The cohort priors at every slice any shard read one. */
  priors: PriorTimeline;
}

export const DEFAULT_REORDER_MS = 3600_000;
const SLICE_MS = AFFECTED_REFRESH_MS;

const emptyTotals = (): ReplayTotals => ({
  events: 0,
  applied: 0,
  duplicates: 0,
  late: 0,
  tooLate: 0,
  suppressed: 0,
  rejected: 0,
  cameras: 0,
  triggers: 0,
  detectorErrors: 0,
});

const priorKey = (mv: string, modality: Modality, metric: MetricKind) => `${modality}\u0000${metric}\u0000${mv}`;
const splitPriorKey = (key: string) => {
  const [modality, metric, ...mv] = key.split('\u0000');
  return { modelVersion: mv.join('\u0000'), modality: modality as Modality, metric: metric as MetricKind };
};

function timelineMap(t: PriorTimeline | undefined): Map<string, Map<number, BaselinePrior | null>> {
  const out = new Map<string, Map<number, BaselinePrior | null>>();
  for (const s of t ?? []) out.set(priorKey(s.modelVersion, s.modality, s.metric), new Map(s.values));
  return out;
}

function timelineOf(m: Map<string, Map<number, BaselinePrior | null>>): PriorTimeline {
  return [...m].map(([key, values]) => ({ ...splitPriorKey(key), values: [...values].sort((a, b) => a[0] - b[0]) }));
}

const samePrior = (a: BaselinePrior | null, b: BaselinePrior | null) =>
  a === b || (a !== null && b !== null && a.mean === b.mean && a.sigma === b.sigma && a.n === b.n);

/**
 * The camera id of a JSONL line without parsing it, when every `"camera_id"` key in it names the same plain
 * id (one event, or an array of one camera's events: the producers' usual body): then the whole line (its
 * events and its rejections) belongs to that camera's shard. Otherwise undefined: every shard parses the
 * line and keeps its own cameras' events, and shard 0 reports its rejections. Exact: in JSON text an
 * unescaped `"camera_id"` followed by `:` is a key, and a string without backslashes is its own text.
 */
export function lineCameraId(text: string): string | undefined {
  let id: string | undefined;
  for (let i = text.indexOf('"camera_id"'); i >= 0; i = text.indexOf('"camera_id"', i + 11)) {
    let j = i + 11;
    while (text.charCodeAt(j) <= 32) j++;
    if (text.charCodeAt(j) !== 58 /* : */) return undefined;
    j++;
    while (text.charCodeAt(j) <= 32) j++;
    if (text.charCodeAt(j) !== 34 /* " */) return undefined;
    const end = text.indexOf('"', j + 1);
    if (end < 0) return undefined;
    if (id === undefined) {
      id = text.slice(j + 1, end);
      if (id.includes('\\')) return undefined;
    } else if (end - j - 1 !== id.length || !text.startsWith(id, j + 1)) return undefined;
  }
  return id;
}

interface CameraSlot {
  id: string;
  state: CameraState;
  /** Slice index → events not yet applied; keys ascending in `keys`. */
  pending: Map<number, MetricEvent[]>;
  keys: number[];
  /** Newest event time seen. */
  newest: number;
  /** Last slice applied. */
  done: number;
  events: number;
  kept?: MetricEvent[];
}

/** Replays the cameras of one shard. Streaming: memory is per camera (state + open slices), not per event. */
export class ShardReplayer {
  private readonly cameras = new Map<string, CameraSlot>();
  private readonly policyFor: PolicyFor;
  private readonly nowMs: number;
  private readonly reorderMs: number;
  private readonly keepRejected: number;
  private readonly keepEvents: number;
  private readonly shard: ShardSpec;
  private readonly context: CohortContext | undefined;
  private readonly priors: Map<string, Map<number, BaselinePrior | null>>;
  private readonly reads = new Map<string, Map<number, BaselinePrior | null>>();
  private slice = 0;
  private readonly totals = emptyTotals();
  private readonly triggers: Trigger[] = [];
  private readonly signals: [number, CohortSignal][] = [];
  private readonly rejected: RejectedLine[] = [];
  private first = Infinity;
  private last = -Infinity;
  private reordered = 0;

  constructor(private readonly opts: ShardOptions) {
    this.policyFor = policyForOf(opts.policies);
    this.nowMs = opts.nowMs ?? Date.now();
    this.reorderMs = opts.reorderMs ?? DEFAULT_REORDER_MS;
    this.keepRejected = opts.keepRejected ?? 1000;
    this.keepEvents = opts.keepEventsPerCamera ?? 0;
    this.shard = opts.shard ?? { index: 0, count: 1 };
    this.priors = timelineMap(opts.priors);
    this.context =
      opts.cohorts === false
        ? undefined
        : {
            epochOf: () => undefined, // a history holds no lifecycle events: nothing resets
            priorOf: (mv, modality, metric) => this.priorOf(mv, modality, metric),
          };
  }

  private priorOf(mv: string, modality: Modality, metric: MetricKind): BaselinePrior | undefined {
    const key = priorKey(mv, modality, metric);
    const p = this.priors.get(key)?.get(this.slice) ?? null;
    let r = this.reads.get(key);
    if (!r) this.reads.set(key, (r = new Map()));
    r.set(this.slice, p);
    return p ?? undefined;
  }

  /** Events held in open slices, over every camera (what streaming memory grows with). */
  heldEvents(): number {
    let n = 0;
    for (const c of this.cameras.values()) for (const list of c.pending.values()) n += list.length;
    return n;
  }

  /** Lines or events rejected so far. */
  get rejectedCount(): number {
    return this.totals.rejected;
  }

  /** Whether the camera belongs to this shard. */
  mine(cameraId: string): boolean {
    return this.shard.count === 1 || shardOf(cameraId, this.shard.count) === this.shard.index;
  }

  private reject(r: RejectedLine): void {
    this.totals.rejected++;
    if (this.rejected.length < this.keepRejected) this.rejected.push(r);
  }

  /** One valid event of this shard's cameras. */
  add(e: MetricEvent): void {
    let c = this.cameras.get(e.camera_id);
    if (!c) {
      c = {
        id: e.camera_id,
        state: emptyState(),
        pending: new Map(),
        keys: [],
        newest: -Infinity,
        done: -Infinity,
        events: 0,
      };
      if (this.keepEvents > 0) c.kept = [];
      this.cameras.set(e.camera_id, c);
    }
    c.events++;
    this.totals.events++;
    const ts = e.ts;
    if (ts < this.first) this.first = ts;
    if (ts > this.last) this.last = ts;
    let k = Math.floor(ts / SLICE_MS);
    if (k <= c.done) {
      this.reordered++;
      k = c.done + 1;
    }
    const list = c.pending.get(k);
    if (list) list.push(e);
    else {
      c.pending.set(k, [e]);
      const keys = c.keys;
      let i = keys.length;
      keys.push(k);
      while (i > 0 && keys[i - 1]! > k) {
        keys[i] = keys[i - 1]!;
        i--;
      }
      keys[i] = k;
    }
    if (ts > c.newest) {
      c.newest = ts;
      const horizon = ts - this.reorderMs;
      while (c.keys.length && (c.keys[0]! + 1) * SLICE_MS <= horizon) this.applySlice(c);
    }
  }

  /** A line of an event file: parsed as the ingest function parses a message body. */
  addLine(l: EventLine): void {
    const sharded = this.shard.count > 1;
    const file = l.file ? { file: l.file } : {};
    if ('error' in l) {
      if (!sharded || this.shard.index === 0) this.reject({ ...file, line: l.line, index: null, reason: l.error });
      return;
    }
    if ('text' in l) {
      let owned = true;
      if (sharded) {
        const id = lineCameraId(l.text);
        if (id !== undefined && !this.mine(id)) return;
        owned = id !== undefined || this.shard.index === 0;
        if (id === undefined) {
          const parsed = parseBody(l.text, this.nowMs);
          for (const e of parsed.events) if (this.mine(e.camera_id)) this.add(e);
          if (owned)
            for (const r of parsed.rejections) this.reject({ ...file, line: l.line, index: r.index, reason: r.reason });
          return;
        }
      }
      const parsed = parseBody(l.text, this.nowMs);
      for (const e of parsed.events) this.add(e);
      for (const r of parsed.rejections) this.reject({ ...file, line: l.line, index: r.index, reason: r.reason });
      return;
    }
    const id = l.object.camera_id;
    if (sharded && (typeof id === 'string' ? !this.mine(id) : this.shard.index !== 0)) return;
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

  /** The camera's oldest open slice through the production step; its member records are kept with the slice. */
  private applySlice(c: CameraSlot): void {
    const k = c.keys.shift()!;
    const events = c.pending.get(k)!;
    c.pending.delete(k);
    c.done = k;
    this.slice = k;
    // Event-time order (stable: ties keep arrival order, as the whole-history sort did).
    events.sort((a, b) => a.ts - b.ts);
    if (c.kept && c.kept.length < this.keepEvents) {
      const room = this.keepEvents - c.kept.length;
      for (let i = 0; i < events.length && i < room; i++) c.kept.push(events[i]!);
    }
    const id = c.id;
    const r = applyEvents(c.state, events, (modality) => this.policyFor(id, modality), this.context);
    const t = this.totals;
    for (const trig of r.triggers) this.triggers.push(trig);
    t.applied += r.stats.applied;
    t.duplicates += r.stats.duplicates;
    t.late += r.stats.late;
    t.tooLate += r.stats.tooLate;
    for (const n of Object.values(r.stats.suppressed)) t.suppressed += n ?? 0;
    t.detectorErrors += r.stats.detectorErrors.length;
    if (c.state.signals) {
      if (this.context) for (const s of c.state.signals) this.signals.push([k, s]);
      delete c.state.signals;
    }
  }

  /** Applies every open slice and returns the shard's result. */
  finish(): ShardResult {
    for (const c of this.cameras.values()) while (c.keys.length) this.applySlice(c);
    this.totals.cameras = this.cameras.size;
    this.totals.triggers = this.triggers.length;
    const cams = [...this.cameras.values()];
    return {
      shard: this.shard,
      totals: this.totals,
      triggers: this.triggers,
      signals: this.signals,
      priorReads: timelineOf(this.reads),
      rejected: this.rejected,
      firstEventMs: Number.isFinite(this.first) ? this.first : null,
      lastEventMs: Number.isFinite(this.last) ? this.last : null,
      eventCounts: cams.map((c) => [c.id, c.events]),
      reordered: this.reordered,
      ...(this.opts.keepStates === false ? {} : { states: cams.map((c) => [c.id, c.state] as [string, CameraState]) }),
      ...(this.keepEvents > 0 ? { events: cams.map((c) => [c.id, c.kept!] as [string, MetricEvent[]]) } : {}),
    };
  }
}

/** Feeds a source to a replayer. */
export async function feed(r: ShardReplayer, source: ReplaySource): Promise<void> {
  if ('lines' in source) {
    for await (const batch of source.lines()) for (const l of batch) r.addLine(l);
    return;
  }
  for await (const item of source.events())
    if (Array.isArray(item)) {
      for (const e of item) if (r.mine(e.camera_id)) r.add(e);
    } else if (r.mine(item.camera_id)) r.add(item);
}

/** The shard step: one shard's cameras of the source, replayed. */
export async function replayCameraShard(source: ReplaySource, opts: ShardOptions): Promise<ShardResult> {
  const r = new ShardReplayer(opts);
  await feed(r, source);
  return r.finish();
}

/** Order of a backtest's triggers: event time that decided them, then subject, then detector (stable). */
export function sortTriggers(triggers: Trigger[]): Trigger[] {
  return triggers.sort(
    (x, y) =>
      x.detail.lastEventAt.localeCompare(y.detail.lastEventAt) ||
      triggerSubject(x.detail).localeCompare(triggerSubject(y.detail)) ||
      String(x.detail.detector ?? '').localeCompare(String(y.detail.detector ?? '')),
  );
}

/**
 * The merge step: cohort decisions from every shard's member records in event-time order, the checks of
 * the priors the shards read, and the result. `results` in shard order (any order works; it is sorted).
 */
export async function mergeShards(
  results: readonly ShardResult[],
  opts: Pick<ReplayOptions, 'policies' | 'nowMs' | 'cohorts' | 'keepRejected'>,
): Promise<MergeOutcome> {
  const shards = [...results].sort((a, b) => a.shard.index - b.shard.index);
  const policyFor = policyForOf(opts.policies);
  const nowMs = opts.nowMs ?? Date.now();
  // Cohorts: per slice, first the priors the cameras read (the head after the slices before), then the
  // member records the slice made, sorted as live (Backtest.run).
  const bySlice = new Map<number, CohortSignal[]>();
  const readsBySlice = new Map<number, { key: string; used: BaselinePrior | null; shard: number }[]>();
  if (opts.cohorts !== false)
    for (const s of shards) {
      for (const [k, signal] of s.signals) {
        const list = bySlice.get(k);
        if (list) list.push(signal);
        else bySlice.set(k, [signal]);
      }
      for (const series of s.priorReads) {
        const key = priorKey(series.modelVersion, series.modality, series.metric);
        for (const [k, used] of series.values) {
          const list = readsBySlice.get(k) ?? [];
          list.push({ key, used, shard: s.shard.index });
          readsBySlice.set(k, list);
        }
      }
    }
  const cohorts = new InMemoryCohortStore();
  const outcome = emptyCohortOutcome();
  const published: Trigger[] = [];
  const truth = new Map<string, Map<number, BaselinePrior | null>>();
  const rerun = new Set<number>();
  const order = [...new Set([...bySlice.keys(), ...readsBySlice.keys()])].sort((a, b) => a - b);
  for (const k of order) {
    for (const read of readsBySlice.get(k) ?? []) {
      const { modelVersion, modality, metric } = splitPriorKey(read.key);
      const p = cohortPriorOf(cohorts.headOf({ modelVersion, modality }))[metric];
      const actual = p ? { mean: p.mean, sigma: p.sigma, n: p.n } : null;
      let m = truth.get(read.key);
      if (!m) truth.set(read.key, (m = new Map()));
      m.set(k, actual);
      if (!samePrior(actual, read.used)) rerun.add(read.shard);
    }
    const signals = bySlice.get(k);
    if (!signals) continue;
    signals.sort((a, b) => a.rec.l - b.rec.l || a.cameraId.localeCompare(b.cameraId) || a.rec.q - b.rec.q);
    await applyCohortSignals(
      signals,
      { cohorts, publisher: { publish: async (ts) => void published.push(...ts) }, policyFor },
      nowMs,
      outcome,
    );
  }
  return {
    result: combine(shards, published, outcome.suppressed, cohorts.cohorts(), opts.keepRejected),
    rerun: [...rerun].sort((a, b) => a - b),
    priors: timelineOf(truth),
  };
}

/** The result from the shards' and the cohorts' parts. */
function combine(
  shards: readonly ShardResult[],
  published: readonly Trigger[],
  cohortSuppressed: number,
  cohorts: ReplayResult['cohorts'],
  keepRejected = 1000,
): ReplayResult {
  const totals = emptyTotals();
  const triggers: Trigger[] = [];
  let reordered = 0;
  for (const s of shards) {
    for (const [k, v] of Object.entries(s.totals) as [keyof ReplayTotals, number][]) totals[k] += v;
    for (const t of s.triggers) triggers.push(t);
    reordered += s.reordered;
  }
  totals.suppressed += cohortSuppressed;
  // A trigger republished from an outbox is one decision.
  const seen = new Set(triggers.map((t) => t.detail.triggerId));
  for (const t of published)
    if (!seen.has(t.detail.triggerId)) {
      seen.add(t.detail.triggerId);
      triggers.push(t);
    }
  sortTriggers(triggers);
  totals.triggers = triggers.length;
  const rejected = shards
    .flatMap((s) => s.rejected)
    .sort((a, b) => a.line - b.line)
    .slice(0, keepRejected);
  const firsts = shards.map((s) => s.firstEventMs).filter((x): x is number => x !== null);
  const lasts = shards.map((s) => s.lastEventMs).filter((x): x is number => x !== null);
  return {
    totals,
    triggers,
    rejected,
    firstEventMs: firsts.length ? Math.min(...firsts) : null,
    lastEventMs: lasts.length ? Math.max(...lasts) : null,
    eventCounts: shards.flatMap((s) => s.eventCounts),
    reordered,
    cohorts,
    ...(shards.every((s) => s.states) ? { states: shards.flatMap((s) => s.states!) } : {}),
    ...(shards.every((s) => s.events) ? { events: shards.flatMap((s) => s.events!) } : {}),
  };
}

/** Every camera alone, synchronously, from events in memory: no cohort decisions, no priors (tune, NAB scoring). */
export function replayCameras(events: Iterable<MetricEvent>, opts: Omit<ReplayOptions, 'cohorts'>): ReplayResult {
  const r = new ShardReplayer({ ...opts, cohorts: false });
  for (const e of events) r.add(e);
  return combine([r.finish()], [], 0, [], opts.keepRejected);
}

/** Rounds of shard runs before giving up (each round fixes at least one more slice; in practice 1–2). */
export const MAX_PRIOR_ROUNDS = 50;

/** Runs one shard (in process, in a worker thread, in a Lambda): the driver's one dependency. */
export type ShardRunner = (shard: ShardSpec, priors: PriorTimeline | undefined) => Promise<ShardResult>;

/** The driver: every shard, the merge, and the rounds the priors need. */
export async function replayShards(
  count: number,
  run: ShardRunner,
  opts: Pick<ReplayOptions, 'policies' | 'nowMs' | 'cohorts' | 'keepRejected'>,
): Promise<ReplayResult & { rounds: number }> {
  const results = await Promise.all(Array.from({ length: count }, (_, index) => run({ index, count }, undefined)));
  for (let round = 1; ; round++) {
    const m = await mergeShards(results, opts);
    if (m.rerun.length === 0) return { ...m.result, rounds: round };
    if (round >= MAX_PRIOR_ROUNDS)
      throw new Error(`replay: cohort priors still changing after ${round} rounds (shards ${m.rerun.join(', ')})`);
    await Promise.all(
      m.rerun.map(async (index) => {
        results[index] = await run({ index, count }, m.priors);
      }),
    );
  }
}

/** Replays a source in this process (one shard, or `shards` shards one after the other: the tests' check). */
export function replay(
  source: ReplaySource,
  opts: ReplayOptions & { shards?: number },
): Promise<ReplayResult & { rounds: number }> {
  const nowMs = opts.nowMs ?? Date.now();
  const o = { ...opts, nowMs };
  return replayShards(opts.shards ?? 1, (shard, priors) => replayCameraShard(source, { ...o, shard, priors }), o);
}
