// One camera's monitoring state and the pure step that applies a batch of its events: windows,
// detectors, and the alert lifecycle (episodes, cooldown, silences, retrain-in-flight suppression).
// The handler loads this, calls applyEvents, and writes it back with one conditional write.
import { METRICS, MODALITIES, type MetricEvent, type MetricKind, type Modality } from './metric-event.js';
import {
  appliesTo,
  detectorConfig,
  DETECTORS,
  windowSizes,
  type ActionType,
  type DetectorSpec,
  type Policy,
} from './policy.js';
import { idTag, insertEntry, type WindowEntry } from './stream-window.js';
import { cadenceOf, fillGap, gapAt, GAP_CADENCES, isGap, pruneGaps, type Gaps } from './lateness.js';
import {
  episodeId,
  isoTime,
  triggerId,
  TRIGGER_SCHEMA_VERSION,
  UNKNOWN_MODEL_VERSION,
  type Trigger,
} from './trigger.js';
import type { DetectorInput, Evaluation } from './detectors/detector.js';
import { AFFECTED_REFRESH_MS, COHORT_BUCKET_MS, type CohortSignal, type MemberRecord } from './cohort.js';
import { adaptiveConfig, cameraBaselines, type MetricBaselines } from './cohort-prior.js';
import type { BaselinePrior } from './detectors/adaptive-baseline.js';
import type { SequentialBaselineState } from './detectors/standardizer.js';

/**
 * Every stream keeps at least this many newest entries so that redelivered events are recognised
 * exactly. An event older than all of them is 'too-late' (see stream-window.ts) and changes nothing.
 */
export const DEDUP_DEPTH = 8;

export interface AlertState {
  /** Currently firing. */
  f: boolean;
  /** Episodes opened so far (the current one when firing). */
  e: number;
  /** When the current episode fired (event time, ms). */
  at?: number;
  /** The current episode's trigger was published (so its resolution will be too). */
  p?: boolean;
  /** The action the current episode asked for. */
  a?: ActionType;
  /**
   * Outcomes of the newest episodes (at most EPISODE_HISTORY), oldest first, one letter each, the
   * last one being episode `e`: P published, C cooldown, S silenced, R retrain in flight.
   */
  h?: string;
}

export interface Silence {
  /** Mute only this metric; all of the camera's alerts when absent. */
  metric?: MetricKind;
  /** Epoch ms (compared with event time). */
  until: number;
  reason?: string;
}

export interface CameraState {
  /** Stream entries by `${modality}.${metric}`, oldest first. */
  streams: Record<string, WindowEntry[]>;
  /** Detector state by alert key `${detectorId}@${modality}`. */
  det: Record<string, unknown>;
  alerts: Record<string, AlertState>;
  /** Last model_version seen, by modality. */
  mv: Partial<Record<Modality, string>>;
  /** Event time (ms) the current model was first seen or reset, by modality: where a trigger's reference window starts. */
  ms?: Partial<Record<Modality, number>>;
  /** Per action: no new trigger of that action before this event time (ms). */
  cooldown: Partial<Record<ActionType, number>>;
  /** A retrain asked for and not yet reported complete. */
  inFlight?: { triggerId: string; since: number };
  silences: Silence[];
  /** Window detectors ignore entries at or before this time (ms), by modality: set by a model reset. */
  reset: Partial<Record<Modality, number>>;
  /** Triggers decided by a committed write and not yet known to be published (the outbox). */
  outbox: Trigger[];
  /** Member records for cohorts, committed with the state and not yet known to be applied (the outbox). */
  signals?: CohortSignal[];
  /** The cohort reset epoch (event ms) applied, by modality: a newer cohort epoch resets the baselines lazily. */
  ce?: Partial<Record<Modality, number>>;
  /** The cohort watermark wanted (CohortHead.wait) this camera has reported past, by modality (~25 bytes). */
  cw?: Partial<Record<Modality, number>>;
  /**
   * Gaps by stream key (lateness.ts): spans within the allowed lateness where no event was applied yet,
   * kept only while an upload is missing (~47 bytes a gap). Before `ms` (the modality's first event) is a
   * gap of every stream of the modality, unless `mo` says `ms` moved (a new model or a reset).
   */
  gp?: Record<string, Gaps>;
  /** By modality: `ms` moved after the first event (so events before it may have been applied). */
  mo?: Partial<Record<Modality, 1>>;
  /** By stream key: events at or before this time are too late (gaps forgotten past MAX_GAPS). */
  lf?: Record<string, number>;
  /** Events too late to apply (older than the allowed lateness, or than the stream's floor), ever. */
  tl?: number;
}

export type SuppressionReason = 'silenced' | 'retrain-in-flight' | 'cooldown' | 'model-scope';
/** What became of an episode's trigger: published, or suppressed and why. */
export type EpisodeOutcome = 'published' | SuppressionReason;

/** Episodes whose outcome an alert keeps (the newest); bounded so the item stays within 1 KB. */
export const EPISODE_HISTORY = 8;
const OUTCOME_LETTER: Record<EpisodeOutcome, string> = {
  published: 'P',
  cooldown: 'C',
  silenced: 'S',
  'retrain-in-flight': 'R',
  'model-scope': 'M',
};
const OUTCOME_OF_LETTER = Object.fromEntries(
  Object.entries(OUTCOME_LETTER).map(([outcome, letter]) => [letter, outcome as EpisodeOutcome]),
);

/** The recorded outcomes of an alert's newest episodes, oldest first (none for states written before them). */
export function episodeOutcomes(alert: AlertState): { episode: number; outcome: EpisodeOutcome }[] {
  const letters = alert.h ?? '';
  const first = alert.e - letters.length + 1;
  return [...letters].map((letter, i) => {
    const outcome = OUTCOME_OF_LETTER[letter];
    if (!outcome) throw new Error(`bad episode outcome letter ${JSON.stringify(letter)} in ${JSON.stringify(letters)}`);
    return { episode: first + i, outcome };
  });
}

function recordOutcome(alert: AlertState, outcome: EpisodeOutcome): void {
  alert.h = ((alert.h ?? '') + OUTCOME_LETTER[outcome]).slice(-EPISODE_HISTORY);
}

/** A closed alert keeps only its episode count and outcome history. */
const closedAlert = (alert: AlertState): AlertState =>
  alert.h === undefined ? { f: false, e: alert.e } : { f: false, e: alert.e, h: alert.h };

/**
 * The camera's lifecycle clock: the newest event time applied to it (-Infinity before any). Derived
 * from the streams, whose newest entry is never evicted. Cooldown, silences and the in-flight
 * timeout are read on this clock rather than on each event's own time, so a late, older event
 * cannot land inside a window that has already passed. For in-order input both are the same.
 */
export function cameraClock(state: CameraState): number {
  let clock = -Infinity;
  for (const entries of Object.values(state.streams)) {
    const newest = entries[entries.length - 1];
    if (newest && newest.ts > clock) clock = newest.ts;
  }
  return clock;
}

/** What a camera's step needs to know of its cohorts: reset epochs (the model-scope closed loop) and priors. */
export interface CohortContext {
  /** The cohort's reset epoch (event ms), when known. */
  epochOf(modelVersion: string, modality: Modality): number | undefined;
  /** The cohort's baseline of a metric (cohort-prior.ts), when known: a chart with no baseline yet arms on it. */
  priorOf?(modelVersion: string, modality: Modality, metric: MetricKind): BaselinePrior | undefined;
  /** The watermark the cohort waits for (CohortHead.wait), when known: passing it sends a record once. */
  waitOf?(modelVersion: string, modality: Modality): number | undefined;
}

/** Detectors that count for cohorts: drift and accuracy regression (SLA breaches stay per camera). */
export const countsForCohort = (spec: DetectorSpec) => spec.action !== 'SlaBreached' && spec.metric !== 'LatencyMs';

export interface ApplyStats {
  applied: number;
  late: number;
  duplicates: number;
  tooLate: number;
  suppressed: Partial<Record<SuppressionReason, number>>;
  detectorErrors: { detector: string; message: string }[];
}

export const emptyState = (): CameraState => ({
  streams: {},
  det: {},
  alerts: {},
  mv: {},
  cooldown: {},
  silences: [],
  reset: {},
  outbox: [],
});

// Every stream key made once: a key built per event (a template string) costs an allocation, a hash
// and a string-table lookup on each property access, which was most of the apply loop's own time.
const STREAM_KEYS = Object.fromEntries(
  MODALITIES.map((m) => [m, Object.fromEntries(METRICS.map((k) => [k, `${m}.${k}`]))]),
) as Record<Modality, Record<MetricKind, string>>;
const STREAM_KEY_PARTS = new Map<string, { readonly modality: Modality; readonly metric: MetricKind }>(
  MODALITIES.flatMap((modality) => METRICS.map((metric) => [STREAM_KEYS[modality][metric], { modality, metric }])),
);

/** Each known stream's key and a bit of its own (for sets of streams as an int), by modality and metric. */
const STREAMS = Object.fromEntries(
  MODALITIES.map((m, i) => [
    m,
    Object.fromEntries(METRICS.map((k, j) => [k, { key: STREAM_KEYS[m][k], bit: 1 << (i * METRICS.length + j) }])),
  ]),
) as Record<Modality, Record<MetricKind, { readonly key: string; readonly bit: number }>>;

export const streamKey = (modality: Modality, metric: MetricKind): string =>
  STREAM_KEYS[modality]?.[metric] ?? `${modality}.${metric}`;
export const alertKey = (detectorId: string, modality: Modality) => `${detectorId}@${modality}`;

export function parseStreamKey(key: string): { modality: Modality; metric: MetricKind } {
  const parts = STREAM_KEY_PARTS.get(key);
  if (!parts) throw new Error(`bad stream key ${key}`);
  return { modality: parts.modality, metric: parts.metric };
}

/** What the apply loop needs of a policy's detector, derived once per policy (parsed policies are never mutated). */
interface DetectorPlan {
  spec: DetectorSpec;
  detector: (typeof DETECTORS)[DetectorSpec['kind']];
  config: unknown;
  /** The alert key by modality; absent for a modality the detector does not apply to. */
  alertKeys: Partial<Record<Modality, string>>;
  forCohort: boolean;
}
interface PolicyPlan {
  /** The policy's detectors by metric, in policy order. */
  byMetric: Record<MetricKind, DetectorPlan[]>;
  /** The detectors that count for cohorts (countsForCohort), in policy order. */
  forCohort: DetectorPlan[];
  windowSize: Record<MetricKind, number>;
}
const plans = new WeakMap<Policy, PolicyPlan>();
function planOf(policy: Policy): PolicyPlan {
  let plan = plans.get(policy);
  if (plan) return plan;
  const sizes = windowSizes(policy);
  plan = {
    byMetric: Object.fromEntries(METRICS.map((m) => [m, []])) as unknown as Record<MetricKind, DetectorPlan[]>,
    forCohort: [],
    windowSize: Object.fromEntries(METRICS.map((m) => [m, sizes[m] ?? 0])) as Record<MetricKind, number>,
  };
  for (const spec of policy.detectors) {
    const alertKeys: Partial<Record<Modality, string>> = {};
    for (const m of MODALITIES) if (appliesTo(spec, m)) alertKeys[m] = alertKey(spec.id, m);
    const planned: DetectorPlan = {
      spec,
      detector: DETECTORS[spec.kind],
      config: detectorConfig(spec),
      alertKeys,
      forCohort: countsForCohort(spec),
    };
    plan.byMetric[spec.metric].push(planned);
    if (planned.forCohort) plan.forCohort.push(planned);
  }
  plans.set(policy, plan);
  return plan;
}

export type PolicySource = Policy | ((modality: Modality) => Policy);

/**
 * Indices of `events` in (event time, id tag) order. Tags sit in a side array rather than on copies
 * of the events: copying every event was the largest allocation on the ingest path.
 */
/** The events' indexes in time order, or null when they already are (the usual case: no array made). */
function timeOrder(events: readonly MetricEvent[], tags: readonly number[]): number[] | null {
  let sorted = true;
  for (let i = 1; i < events.length && sorted; i++)
    sorted = (events[i - 1]!.ts - events[i]!.ts || tags[i - 1]! - tags[i]!) <= 0;
  if (sorted) return null;
  return events.map((_, i) => i).sort((a, b) => events[a]!.ts - events[b]!.ts || tags[a]! - tags[b]!);
}

function suppression(
  state: CameraState,
  action: ActionType,
  metric: MetricKind,
  /** The camera's lifecycle clock (cameraClock). */
  at: number,
  policy: Policy,
): SuppressionReason | null {
  if (state.silences.some((s) => s.until > at && (s.metric === undefined || s.metric === metric))) return 'silenced';
  if (action === 'RetrainingRequested' && state.inFlight) {
    if (at < state.inFlight.since + policy.inFlightTimeoutSeconds * 1000) return 'retrain-in-flight';
    delete state.inFlight; // timed out: the retrain never reported back
  }
  if ((state.cooldown[action] ?? -Infinity) > at) return 'cooldown';
  return null;
}

function chooseAction(spec: DetectorSpec, ev: Evaluation, state: CameraState, modality: Modality): ActionType {
  if (spec.kind === 'regression' && spec.severeDrop !== undefined && ev.statistic >= spec.severeDrop)
    return spec.severeAction;
  if (spec.escalate?.ifFiring.some((id) => state.alerts[alertKey(id, modality)]?.f)) return spec.escalate.action;
  return spec.action;
}

function detail(
  state: CameraState,
  event: MetricEvent,
  spec: DetectorSpec,
  policy: Policy,
  ev: Evaluation,
  episode: string,
  type: string,
) {
  const { firstEventMs, lastEventMs, changePointMs, ...rest } = (ev.details ?? {}) as {
    firstEventMs?: number;
    lastEventMs?: number;
    changePointMs?: number;
    baselineModelVersion?: string;
  };
  const fromMs = firstEventMs ?? changePointMs ?? event.ts;
  const toMs = lastEventMs ?? event.ts;
  return {
    schemaVersion: TRIGGER_SCHEMA_VERSION,
    triggerId: triggerId(episode, type),
    episodeId: episode,
    cameraId: event.camera_id,
    modality: event.modality,
    metric: event.metric,
    detector: spec.id,
    detectorKind: spec.kind,
    policyId: policy.id,
    statistic: ev.statistic,
    threshold: ev.threshold,
    sampleCount: ev.n,
    firstEventAt: isoTime(fromMs),
    lastEventAt: isoTime(toMs),
    ...(changePointMs !== undefined ? { changePointAt: isoTime(changePointMs) } : {}),
    ...(state.mv[event.modality] !== undefined ? { modelVersion: state.mv[event.modality] } : {}),
    scope: 'camera' as const,
    currentWindow: { from: isoTime(fromMs), to: isoTime(toMs) },
    referenceWindow: {
      from: isoTime(Math.min(state.ms?.[event.modality] ?? fromMs, fromMs)),
      to: isoTime(fromMs),
      modelVersion: rest.baselineModelVersion ?? state.mv[event.modality] ?? UNKNOWN_MODEL_VERSION,
    },
    ...rest,
  };
}

/**
 * Applies one camera's events to its state, in event-time order, and returns the triggers decided.
 * Mutates and returns `state`. Deterministic: same state + same events + same policy → same result;
 * all lifecycle clocks (cooldown, silences, in-flight timeout) run on the camera's clock, the newest
 * event time applied (cameraClock). Each episode records whether its trigger was published or why not.
 */
export function applyEvents(
  state: CameraState,
  events: readonly MetricEvent[],
  source: PolicySource,
  cohorts?: CohortContext,
  /** The events' id tags when the caller has them (parseBody hashes ids as it checks them). */
  idTags?: readonly number[],
): { state: CameraState; triggers: Trigger[]; stats: ApplyStats } {
  const stats: ApplyStats = { applied: 0, late: 0, duplicates: 0, tooLate: 0, suppressed: {}, detectorErrors: [] };
  const triggers: Trigger[] = [];
  const policyFor = typeof source === 'function' ? source : () => source;
  const tags = idTags ?? events.map((e) => idTag(e.id));
  const lastStat: Partial<Record<Modality, Record<string, number>>> = {};
  // Modalities with an applied event, in order (a camera mostly has one: the set is only asked on a change).
  const touched = new Set<Modality>();
  let lastTouched: Modality | undefined;
  const left = new Map<Modality, string>();
  // What the cohorts last heard is derived from the state before the batch (no extra bytes per camera).
  const before = new Map<Modality, CohortView>();
  let lastModality: Modality | undefined;
  for (const e of events) {
    if (e.modality === lastModality) continue;
    lastModality = e.modality;
    if (!before.has(e.modality)) before.set(e.modality, cohortView(state, e.modality, policyFor(e.modality)));
  }
  const cameraId = events[0]?.camera_id;
  if (cohorts && cameraId !== undefined) applyCohortEpochs(state, cameraId, cohorts, policyFor, triggers);
  let clock = cameraClock(state);
  // Streams with an applied event, in order: a bit per stream (streamIndex) spares a hash per event.
  const gapsTouched: string[] = [];
  let gapsTouchedBits = 0;

  let planFor: Policy | undefined;
  let plan: PolicyPlan | undefined;
  // One detector input for the batch, refilled per call (detectors never keep it): no object per call.
  const input: DetectorInput = { event: events[0]!, outcome: 'newest', window: [], firing: false };
  const order = timeOrder(events, tags);
  for (let k = 0; k < events.length; k++) {
    const index = order === null ? k : order[k]!;
    const event = events[index]!;
    const policy = policyFor(event.modality);
    if (policy !== planFor) {
      planFor = policy;
      plan = planOf(policy);
    }
    // One lookup for the stream's key and bit (0 for a stream outside the known ones).
    const stream = STREAMS[event.modality]?.[event.metric];
    const key = stream?.key ?? streamKey(event.modality, event.metric);
    const entries = (state.streams[key] ??= []);
    const windowSize = plan!.windowSize[event.metric] ?? 0;
    const capacity = Math.max(DEDUP_DEPTH, windowSize);
    // Stored as float32 so that encode/decode is lossless and results never depend on batch splits;
    // streams no window detector reads keep only keys (NaN value) for dedup.
    const value = windowSize > 0 ? Math.fround(event.value) : NaN;
    const prevNewest = entries.length > 0 ? entries[entries.length - 1]!.ts : undefined;
    const inserted = insertEntry(entries, { ts: event.ts, tag: tags[index]!, value }, capacity);
    // Older than every held entry: new iff in one of the stream's gaps within the allowed lateness.
    const outcome = inserted === 'too-late' ? beyondWindow(state, key, event.ts, entries, policy) : inserted;
    if (outcome === 'duplicate') {
      stats.duplicates++;
      continue;
    }
    if (outcome === 'too-late') {
      stats.tooLate++;
      state.tl = (state.tl ?? 0) + 1;
      continue;
    }
    stats.applied++;
    if (event.modality !== lastTouched) {
      touched.add(event.modality);
      lastTouched = event.modality;
    }
    trackGaps(state, key, event.ts, outcome, prevNewest, entries);
    const bit = stream?.bit ?? 0;
    if (bit === 0 || (gapsTouchedBits & bit) === 0) {
      if (!gapsTouched.includes(key)) gapsTouched.push(key);
      gapsTouchedBits |= bit;
    }
    if (event.ts > clock) clock = event.ts;
    if (outcome !== 'newest') stats.late++;
    // Applied once, and older than every entry the window holds (it would have left it by now in order):
    // no window changes, and sequential charts only take events newer than their stream's newest.
    if (outcome === 'backfill') continue;
    // A version change needs an event newer than the current model's start: an old-model event at or
    // before a deployment (the same minute, or another metric's stream still behind) does not undo it.
    if (
      event.model_version !== undefined &&
      outcome === 'newest' &&
      state.mv[event.modality] !== event.model_version &&
      (state.mv[event.modality] === undefined || event.ts > (state.ms?.[event.modality] ?? Number.NEGATIVE_INFINITY))
    ) {
      if (state.mv[event.modality] !== undefined) {
        (state.ms ??= {})[event.modality] = event.ts; // a new model starts
        (state.mo ??= {})[event.modality] = 1;
      }
      // The camera leaves its old cohort (a record for it at the end of the batch).
      const old = state.mv[event.modality];
      if (old !== undefined) left.set(event.modality, old);
      state.mv[event.modality] = event.model_version;
    }
    if (state.ms?.[event.modality] === undefined) (state.ms ??= {})[event.modality] = event.ts;
    const resetAt = state.reset[event.modality];
    const window = resetAt === undefined ? entries : entries.filter((e) => e.ts > resetAt);
    if (window.length === 0) continue;

    const metricPlans = plan!.byMetric[event.metric];
    for (let p = 0; p < metricPlans.length; p++) {
      const planned = metricPlans[p]!;
      const akey = planned.alertKeys[event.modality];
      if (akey === undefined) continue;
      const spec = planned.spec;
      // Made when it first fires, not as a placeholder per value: deleting the unused ones at the end
      // turned the alerts into a slow dictionary object (for the encode and every later lookup).
      const existing = state.alerts[akey];
      try {
        const config = chartConfig(state, spec, planned.config, akey, event.modality, cohorts);
        input.event = event;
        input.outcome = outcome;
        input.window = window;
        input.firing = existing?.f ?? false;
        const r = planned.detector.update(state.det[akey], input, config);
        if (r.state === null || r.state === undefined) {
          if (state.det[akey] !== undefined) delete state.det[akey]; // stateless detectors: nothing to delete
        } else state.det[akey] = r.state;
        const ev = r.evaluation;
        if (!ev) continue;
        if (planned.forCohort) (lastStat[event.modality] ??= {})[spec.id] = ev.statistic;
        if (!existing?.f && ev.breach) {
          const alert = (state.alerts[akey] ??= { f: false, e: 0 });
          const actionType = chooseAction(spec, ev, state, event.modality);
          alert.f = true;
          alert.e += 1;
          alert.at = event.ts;
          alert.a = actionType;
          const modelScope =
            policy.retrainScope === 'model' && state.mv[event.modality] !== undefined && planned.forCohort;
          const why = modelScope ? 'model-scope' : suppression(state, actionType, event.metric, clock, policy);
          recordOutcome(alert, why ?? 'published');
          if (why) {
            alert.p = false;
            stats.suppressed[why] = (stats.suppressed[why] ?? 0) + 1;
            continue;
          }
          alert.p = true;
          // A name-based UUID (SHA-1): only made for a trigger that is published.
          const epi = episodeId(event.camera_id, event.modality, spec.id, alert.e);
          const d = detail(state, event, spec, policy, ev, epi, actionType);
          triggers.push({ detailType: actionType, detail: d });
          if (policy.cooldownSeconds > 0) state.cooldown[actionType] = clock + policy.cooldownSeconds * 1000;
          if (actionType === 'RetrainingRequested') state.inFlight = { triggerId: d.triggerId, since: clock };
        } else if (existing?.f && ev.clear) {
          const alert = existing;
          if (alert.p) {
            const epi = episodeId(event.camera_id, event.modality, spec.id, alert.e);
            triggers.push({
              detailType: 'AlertResolved',
              detail: {
                ...detail(state, event, spec, policy, ev, epi, 'AlertResolved'),
                resolvedAction: alert.a,
                firedAt: isoTime(alert.at ?? event.ts),
              },
            });
          }
          state.alerts[akey] = closedAlert(alert);
        }
      } catch (err) {
        // One failing detector never blocks the others (the original's error isolation).
        stats.detectorErrors.push({ detector: spec.id, message: (err as Error).message });
      }
    }
  }
  for (const key of gapsTouched) pruneStreamGaps(state, key, policyFor(parseStreamKey(key).modality));
  for (const k of Object.keys(state.alerts)) {
    const a = state.alerts[k]!;
    if (!a.f && a.e === 0) delete state.alerts[k];
  }
  if (cameraId !== undefined)
    for (const m of touched)
      cohortSignal(
        state,
        cameraId,
        m,
        policyFor(m),
        lastStat[m],
        stats.applied > 0,
        left.get(m),
        before.get(m),
        cohorts,
      );
  return { state, triggers, stats };
}

/** Before the modality's first event: no event of its streams was applied (while `ms` has not moved). */
const beforeFirst = (state: CameraState, modality: Modality, ts: number) =>
  !state.mo?.[modality] && state.ms?.[modality] !== undefined && ts < state.ms[modality]!;

/** An event older than every entry its stream holds: applied once if in a gap within the allowed lateness. */
function beyondWindow(
  state: CameraState,
  key: string,
  ts: number,
  entries: readonly WindowEntry[],
  policy: Policy,
): 'backfill' | 'duplicate' | 'too-late' {
  const newest = entries[entries.length - 1]!.ts;
  if (ts < newest - policy.allowedLatenessMs || ts <= (state.lf?.[key] ?? -Infinity)) return 'too-late';
  const gaps = state.gp?.[key];
  if (gaps && gapAt(gaps, ts) >= 0) return 'backfill';
  return beforeFirst(state, parseStreamKey(key).modality, ts) ? 'backfill' : 'duplicate';
}

/** Keeps the stream's gaps true: a jump past the newest opens one, an event applied in one fills it. */
function trackGaps(
  state: CameraState,
  key: string,
  ts: number,
  outcome: 'newest' | 'late' | 'backfill',
  prevNewest: number | undefined,
  entries: readonly WindowEntry[],
) {
  if (outcome === 'newest') {
    if (prevNewest === undefined) return;
    // Cadence from the entries before this one (it is the last held).
    if (isGap(entries, ts - prevNewest, entries.length - 1)) ((state.gp ??= {})[key] ??= []).push(prevNewest, ts);
    return;
  }
  const gaps = state.gp?.[key];
  const i = gaps ? gapAt(gaps, ts) : -1;
  if (i >= 0) {
    fillGap(gaps!, i, ts, GAP_CADENCES * cadenceOf(entries));
    return;
  }
  const { modality } = parseStreamKey(key);
  if (!beforeFirst(state, modality, ts)) return;
  // Older than the modality's first event: it becomes the first, and what lies between is a gap of
  // every stream of the modality (this one from this event on, the others from just before it).
  const first = state.ms![modality]!;
  for (const k of Object.keys(state.streams)) {
    if (!k.startsWith(`${modality}.`) || state.streams[k]!.length === 0) continue;
    const from = k === key ? ts : ts - 1;
    if (k === key && first - ts <= GAP_CADENCES * cadenceOf(entries)) continue;
    (state.gp ??= {})[k] = [from, first, ...(state.gp?.[k] ?? [])];
  }
  state.ms![modality] = ts;
}

function pruneStreamGaps(state: CameraState, key: string, policy: Policy) {
  const gaps = state.gp?.[key];
  const entries = state.streams[key];
  if (!gaps || !entries?.length) return;
  const floor = pruneGaps(gaps, entries[entries.length - 1]!.ts - policy.allowedLatenessMs);
  if (floor !== undefined) (state.lf ??= {})[key] = Math.max(state.lf?.[key] ?? -Infinity, floor);
  if (gaps.length === 0) delete state.gp![key];
  if (state.gp && Object.keys(state.gp).length === 0) delete state.gp;
}

/**
 * The detector's config for this event. A sequential chart with an adaptive baseline still warming up
 * (a new camera, or after a reset) and no explicit `prior` in its spec takes its cohort's prior, when
 * the cohort has one (cohort-prior.ts): it is armed from its first value, and its own values take over
 * at the end of its warm-up. Nothing is stored in the camera item: the prior comes with the cohort head
 * the batch reads anyway. An explicit spec prior always wins.
 */
function chartConfig(
  state: CameraState,
  spec: DetectorSpec,
  config: unknown,
  akey: string,
  modality: Modality,
  cohorts: CohortContext | undefined,
): unknown {
  if (!cohorts?.priorOf) return config;
  const sequential = adaptiveConfig(spec);
  if (!sequential || sequential.prior) return config;
  const own = (state.det[akey] as SequentialBaselineState | undefined)?.a;
  const mv = state.mv[modality];
  if ((own && own.n >= sequential.warmup) || mv === undefined) return config;
  const prior = cohorts.priorOf(mv, modality, spec.metric);
  return prior ? { ...(config as Record<string, unknown>), prior } : config;
}

function streamNewest(state: CameraState, modality: Modality): number {
  let newest = -Infinity;
  // The modality's streams by their keys made once (no key string built per stream and call).
  const keys = STREAM_KEYS[modality];
  if (keys) {
    for (const metric of METRICS) {
      const entries = state.streams[keys[metric]];
      if (entries?.length) newest = Math.max(newest, entries[entries.length - 1]!.ts);
    }
    return newest;
  }
  for (const [key, entries] of Object.entries(state.streams))
    if (key.startsWith(`${modality}.`) && entries.length) newest = Math.max(newest, entries[entries.length - 1]!.ts);
  return newest;
}

/**
 * Adds the camera's member record for `modality` to its signal outbox when its cohort must hear of it:
 * the affected state changed, the camera entered a new activity bucket, it moved to another model
 * version (a "left" record to the old cohort), or, while affected, its newest time moved on
 * (AFFECTED_REFRESH_MS: confirms a lone camera). Cameras without a model version, and policies with
 * retrainScope "camera", have no cohort.
 */
interface CohortView {
  mv: string | undefined;
  affected: 0 | 1;
  newest: number;
  detectors: string[];
  firstAt: number;
  act: ActionType | undefined;
  /** The camera's own established baselines (cohort-prior.ts) and how many metrics have one. */
  baselines: MetricBaselines;
  baselineCount: number;
}

/** The camera as its cohort sees it: model version, drift/regression alerts firing, newest event time. */
function cohortView(state: CameraState, modality: Modality, policy: Policy): CohortView {
  const newest = streamNewest(state, modality);
  let firstAt = Infinity;
  let act: ActionType | undefined;
  const detectors: string[] = [];
  for (const { spec, alertKeys } of planOf(policy).forCohort) {
    const key = alertKeys[modality]; // absent where the detector does not apply
    if (key === undefined) continue;
    const alert = state.alerts[key];
    if (!alert?.f) continue;
    detectors.push(spec.id);
    if ((alert.at ?? newest) < firstAt) {
      firstAt = alert.at ?? newest;
    }
    if (!act || alert.a === 'RetrainingRequested') act = alert.a;
  }
  const baselines = cameraBaselines(state.det, modality, policy);
  return {
    mv: state.mv[modality],
    affected: detectors.length > 0 ? 1 : 0,
    newest,
    detectors,
    firstAt,
    act,
    baselines,
    baselineCount: Object.keys(baselines).length,
  };
}

/**
 * Adds the camera's member record for `modality` to its signal outbox when its cohort must hear of it,
 * comparing with the camera before this batch: the affected state changed, the camera entered a new
 * activity bucket or reported a model version for the first time, it moved to another model version (a
 * "left" record to the old cohort), or, while affected, it crossed an AFFECTED_REFRESH_MS boundary of event
 * time (confirms a lone camera). The record's sequence is 2 × its newest event time + affected, so no
 * counter is stored; a flip back to healthy at the same newest time is seen with the next newer record.
 * Cameras without a model version, and policies with retrainScope "camera", have no cohort.
 */
function cohortSignal(
  state: CameraState,
  cameraId: string,
  modality: Modality,
  policy: Policy,
  stats: Record<string, number> | undefined,
  applied: boolean,
  leftVersion: string | undefined,
  prev: CohortView | undefined,
  cohorts: CohortContext | undefined,
) {
  if (!applied || policy.retrainScope !== 'model') return;
  const now = cohortView(state, modality, policy);
  if (!Number.isFinite(now.newest)) return;
  const emit = (cohortMv: string, rec: Omit<MemberRecord, 'q'>, reg = false) =>
    (state.signals ??= []).push({
      cohort: { modelVersion: cohortMv, modality },
      cameraId,
      rec: { q: 2 * rec.l + rec.a, ...rec },
      ...(reg ? { reg: 1 as const } : {}),
    });
  const bucket = Math.floor(now.newest / COHORT_BUCKET_MS);
  if (leftVersion !== undefined) {
    emit(leftVersion, { a: 0, l: now.newest, b: bucket, r: state.ce?.[modality] ?? 0, x: 1 });
    delete state.ce?.[modality]; // the reset epoch and watermark belonged to the old cohort
    delete state.cw?.[modality];
  }
  if (now.mv === undefined) return;
  const before = prev && Number.isFinite(prev.newest) ? prev.newest : undefined;
  // The cohort waits for its members to pass a watermark (a lone camera's confirmation): report once past it.
  const wait = cohorts?.waitOf?.(now.mv, modality);
  const watermarkDue = wait !== undefined && now.newest >= wait && (state.cw?.[modality] ?? -Infinity) < wait;
  const due =
    watermarkDue ||
    before === undefined ||
    prev?.mv !== now.mv ||
    prev.affected !== now.affected ||
    // A chart finished its warm-up: the cohort hears of its baseline now rather than next bucket.
    now.baselineCount > prev.baselineCount ||
    bucket > Math.floor(before / COHORT_BUCKET_MS) ||
    (now.affected === 1 && Math.floor(now.newest / AFFECTED_REFRESH_MS) > Math.floor(before / AFFECTED_REFRESH_MS));
  if (!due) return;
  const rec: Omit<MemberRecord, 'q'> = { a: now.affected, l: now.newest, b: bucket, r: state.ce?.[modality] ?? 0 };
  if (now.affected) {
    rec.d = now.detectors;
    rec.f = now.firstAt;
    const first = now.detectors
      .map((id) => ({ id, alert: state.alerts[alertKey(id, modality)]! }))
      .sort((x, y) => (x.alert.at ?? 0) - (y.alert.at ?? 0))[0]!;
    rec.k = episodeId(cameraId, modality, first.id, first.alert.e);
    if (now.act) rec.act = now.act;
  }
  const known = Object.entries(stats ?? {}).filter(([, v]) => Number.isFinite(v));
  // Four significant digits (as the baselines): the peers' robust z needs no more (its MAD is floored at
  // minMad), and every write to the camera's cohort shard pays for the record's bytes.
  if (known.length) rec.s = Object.fromEntries(known.map(([k, v]) => [k, Number(v.toPrecision(4))]));
  if (now.baselineCount > 0) rec.p = now.baselines;
  if (wait !== undefined && now.newest >= wait) (state.cw ??= {})[modality] = wait;
  // A healthy record that answers no watermark and follows no move between cohorts: a plain registration.
  emit(now.mv, rec, now.affected === 0 && !watermarkDue && leftVersion === undefined);
}

/**
 * A healthy camera's registration made again from its state, for each of `modalities` where the camera
 * belongs to a cohort: what a plain registration, which is not stored with the state, may have lost when
 * the camera's messages come back (redelivered, or all duplicates). Its sequence is at least that of any
 * registration the committed state sent, so applying it again is a no-op or brings the shard up to date.
 * Without the detectors' last statistics (not kept in the state); an affected camera's records ride in its
 * outbox, so it gets none here. Not marked plain: a record applied again always writes its summary.
 */
export function registrationsAgain(
  state: CameraState,
  cameraId: string,
  modalities: Iterable<Modality>,
  source: PolicySource,
): CohortSignal[] {
  const out: CohortSignal[] = [];
  for (const modality of new Set(modalities)) {
    const policy = typeof source === 'function' ? source(modality) : source;
    if (policy.retrainScope !== 'model') continue;
    const now = cohortView(state, modality, policy);
    if (now.mv === undefined || now.affected || !Number.isFinite(now.newest)) continue;
    if (state.signals?.some((s) => s.cohort.modality === modality && s.cohort.modelVersion === now.mv)) continue;
    const rec: MemberRecord = {
      q: 2 * now.newest,
      a: 0,
      l: now.newest,
      b: Math.floor(now.newest / COHORT_BUCKET_MS),
      r: state.ce?.[modality] ?? 0,
    };
    if (now.baselineCount > 0) rec.p = now.baselines;
    out.push({ cohort: { modelVersion: now.mv, modality }, cameraId, rec });
  }
  return out;
}

/**
 * The lazy half of the model-scope closed loop: a cohort whose reset epoch is newer than the one this
 * camera applied resets the camera's baselines for that modality, as a camera-scope RetrainingCompleted would.
 */
function applyCohortEpochs(
  state: CameraState,
  cameraId: string,
  cohorts: CohortContext,
  policyFor: (m: Modality) => Policy,
  triggers: Trigger[],
) {
  for (const [m, mv] of Object.entries(state.mv) as [Modality, string][]) {
    const epoch = cohorts.epochOf(mv, m);
    if (epoch === undefined || epoch <= (state.ce?.[m] ?? 0)) continue;
    const inFlight = state.inFlight;
    triggers.push(
      ...applyModelLifecycle(state, cameraId, { type: 'RetrainingCompleted', modality: m, at: epoch }, policyFor),
    );
    // A camera-scope retrain of another modality stays in flight.
    if (inFlight) state.inFlight = inFlight;
    (state.ce ??= {})[m] = epoch;
  }
}

/** A model lifecycle signal from the training pipeline (RetrainingCompleted or ModelDeployed). */
export interface ModelLifecycleSignal {
  type: 'RetrainingCompleted' | 'ModelDeployed';
  /** Limit the reset to one modality; all of the camera's when absent. */
  modality?: Modality;
  modelVersion?: string;
  /** When the pipeline says it happened (ms). */
  at: number;
}

/**
 * Closes the loop: resets the camera's baselines and window detectors (for one modality or all),
 * resolves its published alerts, and lifts the retrain-in-flight suppression.
 */
export function applyModelLifecycle(
  state: CameraState,
  cameraId: string,
  signal: ModelLifecycleSignal,
  policyFor: (m: Modality) => Policy,
): Trigger[] {
  const triggers: Trigger[] = [];
  const touches = (m: Modality) => signal.modality === undefined || signal.modality === m;
  for (const key of Object.keys(state.det)) {
    const modality = key.split('@')[1] as Modality;
    if (touches(modality)) delete state.det[key];
  }
  for (const [key, alert] of Object.entries(state.alerts)) {
    const [detectorId, m] = key.split('@') as [string, Modality];
    if (!touches(m) || !alert.f) continue;
    if (alert.p) {
      const policy = policyFor(m);
      const spec = policy.detectors.find((d) => d.id === detectorId);
      const epi = episodeId(cameraId, m, detectorId, alert.e);
      triggers.push({
        detailType: 'AlertResolved',
        detail: {
          schemaVersion: TRIGGER_SCHEMA_VERSION,
          triggerId: triggerId(epi, 'AlertResolved'),
          episodeId: epi,
          scope: 'camera',
          cameraId,
          modality: m,
          metric: spec?.metric ?? 'DriftScore',
          detector: detectorId,
          detectorKind: spec?.kind ?? 'unknown',
          policyId: policy.id,
          statistic: 0,
          threshold: 0,
          sampleCount: 0,
          firstEventAt: isoTime(alert.at ?? signal.at),
          lastEventAt: isoTime(signal.at),
          resolvedAction: alert.a,
          firedAt: isoTime(alert.at ?? signal.at),
          resolvedBy: signal.type,
          ...(signal.modelVersion !== undefined ? { modelVersion: signal.modelVersion } : {}),
        },
      });
    }
    state.alerts[key] = closedAlert(alert);
  }
  for (const m of MODALITIES) {
    if (!touches(m)) continue;
    if (Object.keys(state.streams).some((k) => k.startsWith(`${m}.`))) {
      state.reset[m] = signal.at;
      (state.ms ??= {})[m] = signal.at;
      (state.mo ??= {})[m] = 1;
    }
    if (signal.modelVersion !== undefined && state.mv[m] !== undefined) state.mv[m] = signal.modelVersion;
  }
  delete state.inFlight;
  return triggers;
}
