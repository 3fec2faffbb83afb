// One camera's monitoring state and the pure step that applies a batch of its events.
// The handler loads this, calls applyEvents, and writes it back with one conditional write.
import { METRICS, MODALITIES, type MetricEvent, type MetricKind, type Modality } from './metric-event.js';
import { DETECTORS, windowSizes, type Policy } from './policy.js';
import { idTag, insertEntry, type WindowEntry } from './stream-window.js';
import { episodeId, isoTime, triggerId, TRIGGER_SCHEMA_VERSION, type Trigger } from './trigger.js';

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
}

export interface CameraState {
  /** Stream entries by `${modality}.${metric}`, oldest first. */
  streams: Record<string, WindowEntry[]>;
  /** Detector state by alert key `${detectorId}@${modality}`. */
  det: Record<string, unknown>;
  alerts: Record<string, AlertState>;
  /** Last model_version seen, by modality. */
  mv: Partial<Record<Modality, string>>;
  /** Triggers decided by a committed write and not yet known to be published (the outbox). */
  outbox: Trigger[];
}

export interface ApplyStats {
  applied: number;
  late: number;
  duplicates: number;
  tooLate: number;
  detectorErrors: { detector: string; message: string }[];
}

export const emptyState = (): CameraState => ({ streams: {}, det: {}, alerts: {}, mv: {}, outbox: [] });

export const streamKey = (modality: Modality, metric: MetricKind) => `${modality}.${metric}`;
export const alertKey = (detectorId: string, modality: Modality) => `${detectorId}@${modality}`;

export function parseStreamKey(key: string): { modality: Modality; metric: MetricKind } {
  const [modality, metric] = key.split('.') as [Modality, MetricKind];
  if (!MODALITIES.includes(modality) || !METRICS.includes(metric)) throw new Error(`bad stream key ${key}`);
  return { modality, metric };
}

const byTime = (a: MetricEvent & { tag: number }, b: MetricEvent & { tag: number }) => a.ts - b.ts || a.tag - b.tag;

/**
 * Applies one camera's events to its state, in event-time order, and returns the triggers decided.
 * Mutates and returns `state`. Deterministic: same state + same events + same policy → same result.
 */
export function applyEvents(state: CameraState, events: readonly MetricEvent[], policy: Policy): { state: CameraState; triggers: Trigger[]; stats: ApplyStats } {
  const stats: ApplyStats = { applied: 0, late: 0, duplicates: 0, tooLate: 0, detectorErrors: [] };
  const triggers: Trigger[] = [];
  const sizes = windowSizes(policy);
  const tagged = events.map((e) => ({ ...e, tag: idTag(e.id) })).sort(byTime);

  for (const event of tagged) {
    const key = streamKey(event.modality, event.metric);
    const entries = (state.streams[key] ??= []);
    const capacity = Math.max(DEDUP_DEPTH, sizes[event.metric] ?? 0);
    // Stored as float32 so that encode/decode is lossless and results never depend on batch splits.
    const outcome = insertEntry(entries, { ts: event.ts, tag: event.tag, value: Math.fround(event.value) }, capacity);
    if (outcome === 'duplicate') { stats.duplicates++; continue; }
    if (outcome === 'too-late') { stats.tooLate++; continue; }
    stats.applied++;
    if (outcome === 'late') stats.late++;
    if (event.model_version !== undefined && outcome === 'newest') state.mv[event.modality] = event.model_version;

    for (const spec of policy.detectors) {
      if (spec.metric !== event.metric) continue;
      const akey = alertKey(spec.id, event.modality);
      const alert = (state.alerts[akey] ??= { f: false, e: 0 });
      try {
        const r = DETECTORS[spec.kind].update(state.det[akey], { event, outcome, window: entries, firing: alert.f }, spec.config);
        if (r.state === null || r.state === undefined) delete state.det[akey];
        else state.det[akey] = r.state;
        const ev = r.evaluation;
        if (!ev) continue;
        if (!alert.f && ev.breach) {
          alert.f = true;
          alert.e += 1;
          alert.at = event.ts;
          const epi = episodeId(event.camera_id, event.modality, spec.id, alert.e);
          const details = ev.details ?? {};
          const { firstEventMs, lastEventMs, ...rest } = details as { firstEventMs?: number; lastEventMs?: number };
          triggers.push({
            detailType: spec.action,
            detail: {
              schemaVersion: TRIGGER_SCHEMA_VERSION,
              triggerId: triggerId(epi, spec.action),
              episodeId: epi,
              cameraId: event.camera_id,
              modality: event.modality,
              metric: event.metric,
              detector: spec.id,
              detectorKind: spec.kind,
              policyId: policy.id,
              statistic: ev.statistic,
              threshold: ev.threshold,
              sampleCount: ev.n,
              firstEventAt: isoTime(firstEventMs ?? event.ts),
              lastEventAt: isoTime(lastEventMs ?? event.ts),
              ...(state.mv[event.modality] !== undefined ? { modelVersion: state.mv[event.modality] } : {}),
              ...rest,
            },
          });
        } else if (alert.f && ev.clear) {
          alert.f = false;
          delete alert.at;
        }
      } catch (err) {
        // One failing detector never blocks the others (the original's error isolation).
        stats.detectorErrors.push({ detector: spec.id, message: (err as Error).message });
      }
    }
  }
  return { state, triggers, stats };
}
