// The ingest story: an SQS batch of metric messages → validated events → per-camera state
// (one conditional write per camera per batch) → triggers on the bus; bad parts to dead-letter.
// Knows nothing of Lambda or SQS event shapes beyond { messageId, body, receiveCount }.
import {
  applyEvents,
  registrationsAgain,
  type ApplyStats,
  type CohortContext,
  type PolicySource,
  type SuppressionReason,
} from '../core/camera-state.js';
import type { CohortKey } from '../core/cohort.js';
import { parseBody, type MetricEvent } from '../core/metric-event.js';
import type { Modality } from '../core/metric-event.js';
import type { Trigger } from '../core/trigger.js';
import { StateConflictError, updateCamera, type CameraUpdateDeps } from './camera-update.js';
import { emptyCohortOutcome, mergeCohortOutcome, type CohortOutcome } from './cohort-signals.js';
import type { Clock, DeadLetter, DeadLetterSink, HistoryRecorder, HistoryWrite, PolicyProvider } from './ports.js';

export interface IngestRecord {
  messageId: string;
  body: string;
  /** Deliveries of the message so far (SQS ApproximateReceiveCount; 1 when absent). */
  receiveCount?: number;
}

export interface IngestDeps extends CameraUpdateDeps {
  deadLetters: DeadLetterSink;
  /** Called once per batch: a fixed policy, or a lookup over scoped policies. */
  policy: PolicyProvider;
  now?: Clock;
  /** Cameras processed at once. */
  concurrency?: number;
  /** Cohort reset epochs (the model-scope closed loop); loaded for the batch's cohorts before applying. */
  cohortEpochs?: CohortContext & { load(cohorts: Iterable<CohortKey>): Promise<void> };
  /** The metric history: every event of a camera whose write committed, after the writes. */
  history?: HistoryRecorder;
}

export interface BatchResult {
  failedMessageIds: string[];
  events: number;
  applied: number;
  late: number;
  duplicates: number;
  tooLate: number;
  suppressed: Partial<Record<SuppressionReason, number>>;
  rejected: number;
  writes: number;
  conflicts: number;
  triggers: Trigger[];
  cameraErrors: { cameraId: string; error: string }[];
  detectorErrors: ApplyStats['detectorErrors'];
  /** Cohort member records applied, stale ones, cohort triggers published. */
  cohort?: CohortOutcome;
  /** The history write of the batch's accepted events (absent without a history). */
  history?: HistoryWrite;
}

export { StateConflictError };

/** Cameras processed at once when `IngestDeps.concurrency` is not set. */
export const DEFAULT_CAMERA_CONCURRENCY = 16;

export async function ingestBatch(records: readonly IngestRecord[], deps: IngestDeps): Promise<BatchResult> {
  const now = deps.now ?? Date.now;
  const nowMs = now();
  const result: BatchResult = {
    failedMessageIds: [],
    events: 0,
    applied: 0,
    late: 0,
    duplicates: 0,
    tooLate: 0,
    suppressed: {},
    rejected: 0,
    writes: 0,
    conflicts: 0,
    triggers: [],
    cameraErrors: [],
    detectorErrors: [],
    cohort: emptyCohortOutcome(),
  };
  const failed = new Set<string>();

  // 1. Parse; bad parts go to dead-letter on first receive, with their reason.
  const byCamera = new Map<string, CameraGroup>();
  const letters: DeadLetter[] = [];
  for (const rec of records) {
    const parsed = parseBody(rec.body, nowMs);
    for (const rejection of parsed.rejections) letters.push({ sourceMessageId: rec.messageId, rejection });
    // A message is mostly one camera's (producers pack per camera), and mostly the batch's only one for
    // it: such a message's arrays become the group's as they are (no copy grown push by push).
    const evs = parsed.events;
    if (evs.length > 0 && !byCamera.has(evs[0]!.camera_id) && oneCamera(evs)) {
      const g: CameraGroup = { events: evs, tags: parsed.tags, messageIds: new Set([rec.messageId]) };
      if ((rec.receiveCount ?? 1) > 1) g.again = true;
      byCamera.set(evs[0]!.camera_id, g);
      result.events += evs.length;
      continue;
    }
    // Otherwise look the group up on a change of camera only.
    let camera: string | undefined;
    let g: CameraGroup | undefined;
    for (let i = 0; i < parsed.events.length; i++) {
      const e = parsed.events[i]!;
      if (e.camera_id !== camera || !g) {
        camera = e.camera_id;
        g = byCamera.get(camera);
        if (!g) byCamera.set(camera, (g = { events: [], tags: [], messageIds: new Set() }));
        g.messageIds.add(rec.messageId);
        if ((rec.receiveCount ?? 1) > 1) g.again = true;
      }
      g.events.push(e);
      g.tags.push(parsed.tags[i]!);
    }
    result.events += parsed.events.length;
  }
  result.rejected = letters.length;
  if (letters.length > 0) for (const id of await deps.deadLetters.send(letters, nowMs)) failed.add(id);

  // 2. Per camera: load, apply, conditional write, publish. Cameras run concurrently.
  const policy = await deps.policy();
  if (deps.cohortEpochs) {
    const cohorts = new Map<string, CohortKey>();
    for (const { events } of byCamera.values())
      for (const e of events)
        if (e.model_version !== undefined)
          cohorts.set(`${e.modality}#${e.model_version}`, { modelVersion: e.model_version, modality: e.modality });
    await deps.cohortEpochs.load(cohorts.values());
  }
  const cameras = [...byCamera.entries()];
  const limit = Math.max(1, deps.concurrency ?? DEFAULT_CAMERA_CONCURRENCY);
  let next = 0;
  const accepted: MetricEvent[] = [];
  const worker = async () => {
    while (next < cameras.length) {
      const [cameraId, group] = cameras[next++]!;
      try {
        const source: PolicySource = typeof policy === 'function' ? (m: Modality) => policy(cameraId, m) : policy;
        await processCamera(cameraId, group, source, deps, nowMs, result);
        if (deps.history) accepted.push(...group.events);
      } catch (err) {
        result.cameraErrors.push({ cameraId, error: `${(err as Error).name}: ${(err as Error).message}` });
        for (const id of group.messageIds) failed.add(id);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, cameras.length) }, worker));
  // After the state writes and never failing the batch: failed cameras' events come back with their records.
  if (deps.history && accepted.length > 0) result.history = await deps.history.record(accepted);
  result.failedMessageIds = [...failed];
  return result;
}

function oneCamera(events: readonly MetricEvent[]): boolean {
  const camera = events[0]!.camera_id;
  for (let i = 1; i < events.length; i++) if (events[i]!.camera_id !== camera) return false;
  return true;
}

/** One camera's events of the batch, their id tags (parseBody's) and the messages they came in;
 * `again`: one of its messages was delivered before. */
interface CameraGroup {
  events: MetricEvent[];
  tags: number[];
  messageIds: Set<string>;
  again?: boolean;
}

async function processCamera(
  cameraId: string,
  { events, tags, again }: CameraGroup,
  policy: PolicySource,
  deps: IngestDeps,
  nowMs: number,
  result: BatchResult,
) {
  const out = await updateCamera(
    cameraId,
    (state) => {
      const r = applyEvents(state, events, policy, deps.cohortEpochs, tags);
      // Messages back after a failure (redelivered; or, all duplicates, a producer's retry or a
      // dead-letter redrive): the plain registration they made may not have reached the cohort.
      if (deps.cohortSignals && (again || (r.stats.applied === 0 && r.stats.duplicates > 0))) {
        const records = registrationsAgain(state, cameraId, modalitiesOf(events), policy);
        if (records.length > 0) (state.signals ??= []).push(...records);
      }
      return { changed: r.stats.applied > 0, triggers: r.triggers, result: r.stats };
    },
    deps,
    nowMs,
  );
  const stats = out.result;
  result.writes += out.writes;
  result.conflicts += out.conflicts;
  result.applied += stats.applied;
  result.late += stats.late;
  result.duplicates += stats.duplicates;
  result.tooLate += stats.tooLate;
  for (const [k, n] of Object.entries(stats.suppressed))
    result.suppressed[k as SuppressionReason] = (result.suppressed[k as SuppressionReason] ?? 0) + n;
  result.detectorErrors.push(...stats.detectorErrors);
  result.triggers.push(...out.triggers);
  if (out.cohort) mergeCohortOutcome((result.cohort ??= emptyCohortOutcome()), out.cohort);
}

function* modalitiesOf(events: readonly MetricEvent[]): Generator<Modality> {
  for (const e of events) yield e.modality;
}
