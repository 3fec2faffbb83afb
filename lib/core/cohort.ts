// Fleet decisions, pure: cohorts (model_version, modality), the member record a camera reports to its
// cohort, shard summaries, the model-scope decision, the lone-camera test and deterministic ids.
// No AWS imports: the DynamoDB adapter and the in-memory store (backtest) both call these.
import { v5 as uuidv5 } from 'uuid';
import type { MetricKind, Modality } from './metric-event.js';
import type { ActionType, CohortPolicy, Policy } from './policy.js';
import { isoTime, TRIGGER_SCHEMA_VERSION, type Trigger } from './trigger.js';
import {
  cohortPriors,
  summarizePrior,
  type CohortPrior,
  type MetricBaselines,
  type ShardPrior,
} from './cohort-prior.js';

const ID_NAMESPACE = '0b6f4a8e-5d4c-4f3e-9a57-7b1d2c3e4f50';

/** Activity buckets of event time: a camera registers once per bucket; active = newest bucket or the one before. */
export const COHORT_BUCKET_MS = 3600_000;
/** While affected, a camera re-reports at most this often (event time): carries its newest time for confirmation. */
export const AFFECTED_REFRESH_MS = 5 * 60_000;

export interface CohortKey {
  modelVersion: string;
  modality: Modality;
}

export const cohortName = (c: CohortKey) => `${c.modelVersion}#${c.modality}`;

/** What a camera last told its cohort. Compact: one is stored per camera in a shard item. */
export interface MemberRecord {
  /** The camera's signal sequence: a record is applied only over an older one (idempotent). */
  q: number;
  /** 1 when a drift or regression alert fires on the camera for this modality. */
  a: 0 | 1;
  /** The action the camera's alerts would ask for (when affected). */
  act?: ActionType;
  /** Detectors firing. */
  d?: string[];
  /** Episode id of the camera's first firing alert (its CameraAnomalyDetected triggerId derives from it). */
  k?: string;
  /** When the camera became affected (event ms). */
  f?: number;
  /** The camera's newest event time (ms). */
  l: number;
  /** Activity bucket of `l`. */
  b: number;
  /** Newest statistic of each drift/regression detector, by detector id (peer comparison). */
  s?: Record<string, number>;
  /** The cohort reset epoch the camera had applied when it made this record. */
  r: number;
  /** 1: the camera left the cohort (its model version changed). */
  x?: 1;
  /** The camera's own established baseline per metric its sequential charts watch (the cohort prior's input). */
  p?: MetricBaselines;
}

/** A member record on its way from the camera's outbox to its cohort. */
export interface CohortSignal {
  cohort: CohortKey;
  cameraId: string;
  rec: MemberRecord;
  /**
   * 1: a plain activity registration (healthy, not a watermark answer, not a "left" record): the cohort
   * head hears of it only when the shard's summary moves in a way decisions read (`summaryMoved`). Not
   * stored with the outbox: a record applied again from a stored outbox always writes its summary.
   */
  reg?: 1;
}

export interface ShardSummary {
  /** The shard item's version (summaries are written over older ones only). */
  v: number;
  /** Affected active members made under epoch `r`. */
  n: number;
  /** Active members. */
  a: number;
  /** Newest bucket in the shard. */
  b: number;
  /** Newest reset epoch among the shard's members. */
  r: number;
  /** Newest event time in the shard (ms). */
  t: number;
  /** Oldest newest-event time among the shard's active members (its part of the cohort's watermark). */
  w?: number;
  /** Per metric, the median baseline of the shard's healthy active members (cohort-prior.ts). */
  p?: ShardPrior;
}

const isActive = (m: MemberRecord, newestBucket: number) => !m.x && m.b >= newestBucket - 1;

/**
 * Whether a shard's summary changed in what the cohort's decisions read from the head: affected and
 * active counts, newest bucket, reset epoch, and how many cameras back each metric's prior. The
 * watermark part (`w`), newest time (`t`) and the prior's levels may lag until the next such change (at
 * the latest the shard's next activity bucket): a lower `w` only delays the watermark hint, exact counts
 * come from the members before any decision, and the prior is a median of slowly moving baselines.
 */
export function summaryMoved(before: ShardSummary, after: ShardSummary): boolean {
  if (before.n !== after.n || before.a !== after.a || before.b !== after.b || before.r !== after.r) return true;
  const metrics = new Set([...Object.keys(before.p ?? {}), ...Object.keys(after.p ?? {})]) as Set<MetricKind>;
  for (const m of metrics) if (before.p?.[m]?.[2] !== after.p?.[m]?.[2]) return true;
  return false;
}

/** The summary of one shard's members (they come back with the shard update). */
export function summarizeShard(members: Iterable<MemberRecord>, version: number): ShardSummary {
  const list = [...members];
  let b = -Infinity,
    r = 0,
    t = 0;
  for (const m of list) {
    if (!m.x) b = Math.max(b, m.b);
    r = Math.max(r, m.r);
    t = Math.max(t, m.l);
  }
  let n = 0,
    a = 0,
    w = Infinity;
  const healthy: MemberRecord[] = [];
  for (const m of list) {
    if (!isActive(m, b)) continue;
    a++;
    w = Math.min(w, m.l);
    if (m.a === 1 && m.r >= r) n++;
    // The prior: only cameras with no drift/regression alert, baselines learned under the newest epoch.
    else if (m.a !== 1 && m.r >= r && m.p) healthy.push(m);
  }
  const p = summarizePrior(healthy);
  return {
    v: version,
    n,
    a,
    b: Number.isFinite(b) ? b : 0,
    r,
    t,
    ...(Number.isFinite(w) ? { w } : {}),
    ...(p ? { p } : {}),
  };
}

export interface CohortHead {
  /** Summary per shard index. */
  shards: Record<string, ShardSummary>;
  /** Episodes opened so far (the current one when open). */
  ep: number;
  open: boolean;
  /** The open episode's trigger was published (so its resolution will be). */
  published?: boolean;
  /** The open episode's action and when it opened (event ms). */
  action?: ActionType;
  openedAt?: number;
  /** Reset epoch (event ms) set by a model-scope RetrainingCompleted / ModelDeployed. */
  epoch: number;
  inFlight?: { triggerId: string; since: number };
  cooldown: Partial<Record<ActionType, number>>;
  /** Cohort triggers decided by a committed head write and not yet known to be published (the outbox). */
  outbox: Trigger[];
  /** The open episode's first affected time (event ms): where its span starts. */
  from?: number;
  /** The newest closed episodes' spans of event time, `[episode, from, to]` (EPISODE_SPANS of them). */
  spans?: [number, number, number][];
  /**
   * Watermark wanted (event ms): a lone camera waits until every active member has reported past this
   * time; a member whose newest event passes it sends its record once (CameraState.cw).
   */
  wait?: number;
  /** The cameras waiting on the watermark, `[cameraId, until]` (judged as soon as it passes `until`). */
  waiting?: [string, number][];
}

/** Cameras a head lists as waiting on the watermark, at most. */
export const MAX_WAITING = 20;

/** Closed episodes whose span a late camera's affected time is checked against. */
export const EPISODE_SPANS = 4;

export const emptyHead = (): CohortHead => ({ shards: {}, ep: 0, open: false, epoch: 0, cooldown: {}, outbox: [] });

export interface CohortCounts {
  affected: number;
  active: number;
  share: number;
  /** Newest event time the cohort has seen (ms): the cohort's clock. */
  at: number;
}

/** Affected and active cameras from the shard summaries: stale shards and pre-reset records do not count. */
export function cohortCounts(head: CohortHead): CohortCounts {
  const summaries = Object.values(head.shards);
  const newest = Math.max(0, ...summaries.map((s) => s.b));
  let affected = 0,
    active = 0,
    at = 0;
  for (const s of summaries) {
    at = Math.max(at, s.t);
    if (s.b < newest - 1) continue;
    active += s.a;
    if (s.r >= head.epoch) affected += s.n;
  }
  return { affected, active, share: active > 0 ? affected / active : 0, at };
}

/** The cohort prior per metric, from the shards `cohortCounts` counts (active, made under the head's epoch). */
export function cohortPriorOf(head: CohortHead): Partial<Record<MetricKind, CohortPrior>> {
  const summaries = Object.values(head.shards);
  const newest = Math.max(0, ...summaries.map((s) => s.b));
  return cohortPriors(summaries.filter((s) => s.b >= newest - 1 && s.r >= head.epoch));
}

/**
 * The cohort's low watermark: the oldest newest-event time among its active members (those that reported
 * in the cohort's newest activity bucket or the one before; idle cameras are left out, so one dead camera
 * does not stall it). Every active member's events up to it have been applied, so its record shows its
 * state at that time or later.
 */
export function cohortWatermark(members: readonly AffectedMember[], exclude?: string): number {
  const newest = Math.max(0, ...members.filter((m) => !m.rec.x).map((m) => m.rec.b));
  let watermark = Infinity;
  for (const m of members)
    if (m.cameraId !== exclude && isActive(m.rec, newest)) watermark = Math.min(watermark, m.rec.l);
  return watermark;
}

/**
 * The watermark from the shard summaries (no shard read): the lowest of the fresh shards' `w`. Lower than
 * or equal to the members' (a shard's active members are counted against its own newest bucket), so
 * reaching a time here is a cheap hint to check the members themselves.
 */
export function summaryWatermark(head: CohortHead): number {
  const summaries = Object.values(head.shards);
  const newest = Math.max(0, ...summaries.map((s) => s.b));
  let watermark = Infinity;
  for (const s of summaries) if (s.b >= newest - 1) watermark = Math.min(watermark, s.w ?? 0);
  return watermark;
}

export type CohortMove = 'open' | 'close' | null;

/** Whether the cohort's episode opens or closes now (hysteresis on the share). */
export function decideCohort(head: CohortHead, policy: CohortPolicy, counts = cohortCounts(head)): CohortMove {
  if (!head.open && counts.affected >= policy.minCameras && counts.share >= policy.minShare) return 'open';
  if (head.open && counts.share < policy.minShare - policy.hysteresis) return 'close';
  return null;
}

export function cohortEpisodeId(c: CohortKey, episode: number): string {
  return uuidv5(`cohort-episode|${c.modelVersion}|${c.modality}|${episode}`, ID_NAMESPACE);
}

export function cohortTriggerId(c: CohortKey, episode: number, detailType: string): string {
  return uuidv5(`cohort-trigger|${cohortEpisodeId(c, episode)}|${detailType}`, ID_NAMESPACE);
}

export function anomalyTriggerId(cameraEpisodeId: string): string {
  return uuidv5(`trigger|${cameraEpisodeId}|CameraAnomalyDetected`, ID_NAMESPACE);
}

export interface AffectedMember {
  cameraId: string;
  rec: MemberRecord;
}

/** The affected members that count for the head's epoch, from the whole cohort's members. */
export function affectedMembers(members: readonly AffectedMember[], head: CohortHead): AffectedMember[] {
  const newest = Math.max(0, ...members.filter((m) => !m.rec.x).map((m) => m.rec.b));
  return members
    .filter((m) => m.rec.a === 1 && m.rec.r >= head.epoch && isActive(m.rec, newest))
    .sort((x, y) => x.cameraId.localeCompare(y.cameraId));
}

const ACTION_RANK: Record<ActionType, number> = {
  SlaBreached: 0,
  HyperparameterTuningRequested: 1,
  RetrainingRequested: 2,
};

/**
 * Opens the cohort's next episode: mutates `head` and returns the trigger to publish (null when the
 * cohort's cooldown or in-flight retrain holds it back). Drift on any affected camera asks for a retrain;
 * only accuracy drops ask for tuning (the policy's own escalation already chose each camera's action).
 */
export function openCohortEpisode(
  head: CohortHead,
  cohort: CohortKey,
  affected: readonly AffectedMember[],
  counts: CohortCounts,
  policy: Policy,
): { trigger: Trigger | null; suppressed?: 'retrain-in-flight' | 'cooldown' } {
  const action = affected
    .map((m) => m.rec.act ?? 'RetrainingRequested')
    .reduce<ActionType>(
      (best, a) => (ACTION_RANK[a] > ACTION_RANK[best] ? a : best),
      'HyperparameterTuningRequested' as ActionType,
    );
  const at = counts.at;
  head.ep += 1;
  head.open = true;
  head.action = action;
  head.openedAt = at;
  const first = Math.min(...affected.map((m) => m.rec.f ?? m.rec.l));
  head.from = Number.isFinite(first) ? Math.min(first, at) : at;
  let suppressed: 'retrain-in-flight' | 'cooldown' | undefined;
  if (action === 'RetrainingRequested' && head.inFlight) {
    if (at < head.inFlight.since + policy.inFlightTimeoutSeconds * 1000) suppressed = 'retrain-in-flight';
    else delete head.inFlight;
  }
  if (!suppressed && (head.cooldown[action] ?? -Infinity) > at) suppressed = 'cooldown';
  if (suppressed) {
    head.published = false;
    return { trigger: null, suppressed };
  }
  head.published = true;
  const trigger = cohortTrigger(cohort, head.ep, action, affected, counts, policy);
  if (policy.cooldownSeconds > 0) head.cooldown[action] = at + policy.cooldownSeconds * 1000;
  if (action === 'RetrainingRequested') head.inFlight = { triggerId: trigger.detail.triggerId, since: at };
  return { trigger };
}

/** Closes the open episode; returns its model-scope AlertResolved when its trigger was published. */
export function closeCohortEpisode(
  head: CohortHead,
  cohort: CohortKey,
  counts: CohortCounts,
  policy: Policy,
  resolvedBy?: 'RetrainingCompleted' | 'ModelDeployed',
  at = counts.at,
): Trigger | null {
  if (!head.open) return null;
  const wasPublished = head.published;
  const action = head.action;
  const openedAt = head.openedAt ?? at;
  head.spans = [...(head.spans ?? []), [head.ep, head.from ?? openedAt, at] as [number, number, number]].slice(
    -EPISODE_SPANS,
  );
  head.open = false;
  delete head.published;
  delete head.action;
  delete head.openedAt;
  delete head.from;
  if (!wasPublished) return null;
  const episode = cohortEpisodeId(cohort, head.ep);
  return {
    detailType: 'AlertResolved',
    detail: {
      schemaVersion: TRIGGER_SCHEMA_VERSION,
      triggerId: cohortTriggerId(cohort, head.ep, 'AlertResolved'),
      episodeId: episode,
      scope: 'model',
      modelVersion: cohort.modelVersion,
      modality: cohort.modality,
      policyId: policy.id,
      activeCameras: counts.active,
      affectedCameraCount: counts.affected,
      share: round(counts.share),
      threshold: policy.cohort.minShare,
      firstEventAt: isoTime(openedAt),
      lastEventAt: isoTime(at),
      firedAt: isoTime(openedAt),
      ...(action ? { resolvedAction: action } : {}),
      ...(resolvedBy ? { resolvedBy } : {}),
    },
  };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function cohortTrigger(
  cohort: CohortKey,
  episode: number,
  action: ActionType,
  affected: readonly AffectedMember[],
  counts: CohortCounts,
  policy: Policy,
): Trigger {
  const cap = policy.cohort.maxListedCameras;
  const detectors = [...new Set(affected.flatMap((m) => m.rec.d ?? []))].sort();
  const first = Math.min(...affected.map((m) => m.rec.f ?? m.rec.l));
  const last = Math.max(...affected.map((m) => m.rec.l));
  return {
    detailType: action,
    detail: {
      schemaVersion: TRIGGER_SCHEMA_VERSION,
      triggerId: cohortTriggerId(cohort, episode, action),
      episodeId: cohortEpisodeId(cohort, episode),
      scope: 'model',
      modelVersion: cohort.modelVersion,
      modality: cohort.modality,
      policyId: policy.id,
      detectors,
      affectedCameras: affected.slice(0, cap).map((m) => m.cameraId),
      affectedCameraCount: affected.length,
      affectedCamerasTruncated: affected.length > cap,
      activeCameras: counts.active,
      share: round(affected.length / Math.max(1, counts.active)),
      threshold: policy.cohort.minShare,
      minCameras: policy.cohort.minCameras,
      firstEventAt: isoTime(Number.isFinite(first) ? first : counts.at),
      lastEventAt: isoTime(Number.isFinite(last) ? last : counts.at),
    },
  };
}

// ---- lone camera -------------------------------------------------------------------------------

export interface PeerStats {
  median: number;
  mad: number;
  robustZ: number;
  peers: number;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Robust z of `x` among `values`: 0.6745·(x − median)/MAD, the MAD floored at `minMad`. */
export function robustZ(x: number, values: readonly number[], minMad: number): PeerStats {
  const med = median(values);
  const mad = Math.max(minMad, median(values.map((v) => Math.abs(v - med))));
  return { median: med, mad, robustZ: (0.6745 * (x - med)) / mad, peers: values.length };
}

export type LoneVerdict =
  | { kind: 'anomaly'; trigger: Trigger }
  /**
   * Not yet: the delay has not passed, the camera is behind its cohort (a backlog), or the cohort's
   * watermark has not reached `until` (the confirmation time).
   */
  | { kind: 'wait'; until?: number }
  /** Decided against (part of a model episode, or not an outlier): never asked again for this episode. */
  | { kind: 'dismiss'; why: string };

/**
 * The lone-camera test for one affected camera. The camera must have been affected for
 * `confirmSeconds` of event time and be active (not a backlog behind its cohort); the cohort's watermark
 * (every active peer) must have passed that point, so the peers' records show them at that time or later;
 * the cohort must not be open or over its share, the camera's affected time must not fall in a recent
 * model episode's span, and its statistic must sit more than `outlierZ` robust z from its healthy peers'
 * (a fleet-wide change moves their median too).
 */
export function judgeLoneCamera(
  camera: AffectedMember,
  members: readonly AffectedMember[],
  head: CohortHead,
  cohort: CohortKey,
  policy: Policy,
): LoneVerdict {
  const c = policy.cohort;
  const rec = camera.rec;
  if (rec.a !== 1 || rec.f === undefined || rec.k === undefined) return { kind: 'dismiss', why: 'not affected' };
  if (head.open) return { kind: 'dismiss', why: 'cohort episode open' };
  const confirmAt = rec.f + c.confirmSeconds * 1000;
  if (rec.l < confirmAt) return { kind: 'wait' };
  const newest = Math.max(0, ...members.filter((m) => !m.rec.x).map((m) => m.rec.b));
  // A backlog: compared with its peers once it has caught up (its own newer records).
  if (!isActive(rec, newest)) return { kind: 'wait' };
  // The camera drifted while its model did: part of that model episode, not an anomaly.
  const span = head.spans?.find(([, from, to]) => rec.f! >= from - c.confirmSeconds * 1000 && rec.f! <= to);
  if (span) return { kind: 'dismiss', why: `part of model episode ${span[0]}` };
  const active = members.filter((m) => m.cameraId !== camera.cameraId && isActive(m.rec, newest));
  const healthy = active.filter((m) => m.rec.a !== 1 || m.rec.r < head.epoch);
  if (active.length < c.minPeers) return { kind: 'dismiss', why: `${active.length} active peers < ${c.minPeers}` };
  if (cohortWatermark(members, camera.cameraId) < confirmAt) return { kind: 'wait', until: confirmAt };
  if (healthy.length < c.minPeers) return { kind: 'dismiss', why: `${healthy.length} healthy peers < ${c.minPeers}` };
  const affectedCount = active.length - healthy.length + 1;
  if (affectedCount / (active.length + 1) >= c.minShare) return { kind: 'dismiss', why: 'cohort share reached' };
  // The detector whose statistic is most unlike the peers' decides.
  let best: { detector: string; value: number; stats: PeerStats } | null = null;
  for (const detector of rec.d ?? []) {
    const value = rec.s?.[detector];
    if (value === undefined) continue;
    const peerValues = healthy.map((m) => m.rec.s?.[detector]).filter((v): v is number => v !== undefined);
    if (peerValues.length < c.minPeers) continue;
    const stats = robustZ(value, peerValues, c.minMad);
    if (!best || Math.abs(stats.robustZ) > Math.abs(best.stats.robustZ)) best = { detector, value, stats };
  }
  if (!best) return { kind: 'dismiss', why: 'no peer statistics' };
  if (Math.abs(best.stats.robustZ) <= c.outlierZ)
    return { kind: 'dismiss', why: `robust z ${best.stats.robustZ.toFixed(2)} within ${c.outlierZ}` };
  const spec = policy.detectors.find((d) => d.id === best.detector);
  return {
    kind: 'anomaly',
    trigger: {
      detailType: 'CameraAnomalyDetected',
      detail: {
        schemaVersion: TRIGGER_SCHEMA_VERSION,
        triggerId: anomalyTriggerId(rec.k),
        episodeId: rec.k,
        scope: 'camera',
        cameraId: camera.cameraId,
        modality: cohort.modality,
        modelVersion: cohort.modelVersion,
        policyId: policy.id,
        metric: spec?.metric ?? 'DriftScore',
        detector: best.detector,
        detectorKind: spec?.kind ?? 'unknown',
        detectors: rec.d ?? [],
        statistic: best.value,
        threshold: c.outlierZ,
        sampleCount: healthy.length,
        peerMedian: best.stats.median,
        peerMad: best.stats.mad,
        robustZ: round(best.stats.robustZ),
        peerCount: healthy.length,
        activeCameras: active.length + 1,
        confirmSeconds: c.confirmSeconds,
        firstEventAt: isoTime(rec.f),
        lastEventAt: isoTime(rec.l),
      },
    },
  };
}
