// The ingest story: an SQS batch of metric messages → validated events → per-camera state
// (one conditional write per camera per batch) → triggers on the bus; bad parts to dead-letter.
// Knows nothing of Lambda or SQS event shapes beyond { messageId, body }.
import { applyEvents, type ApplyStats, type CameraState } from '../core/camera-state.js';
import { parseBody, type MetricEvent } from '../core/metric-event.js';
import type { Policy } from '../core/policy.js';
import type { Trigger } from '../core/trigger.js';
import type { DeadLetter, DeadLetterQueue } from '../adapters/dead-letter.js';
import type { CameraStateStore } from '../adapters/state-store.js';
import type { TriggerPublisher } from '../adapters/trigger-publisher.js';
import { backoffMs, sleep } from '../adapters/retry.js';

export interface IngestRecord { messageId: string; body: string }

export interface IngestDeps {
  store: CameraStateStore;
  publisher: TriggerPublisher;
  deadLetters: DeadLetterQueue;
  policy: () => Policy | Promise<Policy>;
  now?: () => number;
  /** Conditional-write attempts per camera before the camera's records are failed for redelivery. */
  maxWriteAttempts?: number;
  /** Cameras processed at once. */
  concurrency?: number;
  /** Test hook: runs after a camera's state write and before its publish (crash injection). */
  afterStateWrite?: (cameraId: string) => void | Promise<void>;
}

export interface BatchResult {
  failedMessageIds: string[];
  events: number;
  applied: number;
  late: number;
  duplicates: number;
  tooLate: number;
  rejected: number;
  writes: number;
  conflicts: number;
  triggers: Trigger[];
  cameraErrors: { cameraId: string; error: string }[];
  detectorErrors: ApplyStats['detectorErrors'];
}

export class StateConflictError extends Error {
  constructor(cameraId: string, attempts: number) {
    super(`state of camera ${cameraId} kept changing under us: ${attempts} conditional writes conflicted`);
    this.name = 'StateConflictError';
  }
}

/**
 * Observers of every batch result in this process. The handler returns only the failed records;
 * the local chaos run tallies applied / duplicate counts here without reaching into the handler.
 */
export const batchResultObservers = new Set<(result: BatchResult) => void>();

const clone = (s: CameraState): CameraState => structuredClone(s);

export async function ingestBatch(records: readonly IngestRecord[], deps: IngestDeps): Promise<BatchResult> {
  const now = deps.now ?? Date.now;
  const nowMs = now();
  const result: BatchResult = {
    failedMessageIds: [], events: 0, applied: 0, late: 0, duplicates: 0, tooLate: 0, rejected: 0,
    writes: 0, conflicts: 0, triggers: [], cameraErrors: [], detectorErrors: [],
  };
  const failed = new Set<string>();

  // 1. Parse; bad parts go to dead-letter on first receive, with their reason.
  const byCamera = new Map<string, { events: MetricEvent[]; messageIds: Set<string> }>();
  const letters: DeadLetter[] = [];
  for (const rec of records) {
    const parsed = parseBody(rec.body, nowMs);
    for (const rejection of parsed.rejections) letters.push({ sourceMessageId: rec.messageId, rejection });
    for (const e of parsed.events) {
      let g = byCamera.get(e.camera_id);
      if (!g) byCamera.set(e.camera_id, (g = { events: [], messageIds: new Set() }));
      g.events.push(e);
      g.messageIds.add(rec.messageId);
    }
    result.events += parsed.events.length;
  }
  result.rejected = letters.length;
  if (letters.length > 0) for (const id of await deps.deadLetters.send(letters, nowMs)) failed.add(id);

  // 2. Per camera: load, apply, conditional write, publish. Cameras run concurrently.
  const policy = await deps.policy();
  const cameras = [...byCamera.entries()];
  const limit = Math.max(1, deps.concurrency ?? 16);
  let next = 0;
  const worker = async () => {
    while (next < cameras.length) {
      const [cameraId, group] = cameras[next++]!;
      try {
        await processCamera(cameraId, group.events, policy, deps, nowMs, result);
      } catch (err) {
        result.cameraErrors.push({ cameraId, error: `${(err as Error).name}: ${(err as Error).message}` });
        for (const id of group.messageIds) failed.add(id);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, cameras.length) }, worker));
  result.failedMessageIds = [...failed];
  for (const observe of batchResultObservers) observe(result);
  return result;
}

async function processCamera(cameraId: string, events: MetricEvent[], policy: Policy, deps: IngestDeps, nowMs: number, result: BatchResult) {
  const maxAttempts = deps.maxWriteAttempts ?? 5;
  let current = await deps.store.load(cameraId);
  for (let attempt = 1; ; attempt++) {
    const working = clone(current.state);
    const pending = working.outbox;
    const { state, triggers, stats } = applyEvents(working, events, policy);
    state.outbox = [...pending, ...triggers];
    let version = current.version;
    if (stats.applied > 0 || triggers.length > 0) {
      const saved = await deps.store.save(cameraId, state, current.version, nowMs);
      result.writes++;
      if (!saved.ok) {
        result.conflicts++;
        if (attempt >= maxAttempts) throw new StateConflictError(cameraId, attempt);
        current = saved.current;
        await sleep(backoffMs(attempt));
        continue;
      }
      version = saved.version;
    }
    result.applied += stats.applied;
    result.late += stats.late;
    result.duplicates += stats.duplicates;
    result.tooLate += stats.tooLate;
    result.detectorErrors.push(...stats.detectorErrors);
    if (state.outbox.length === 0) return;

    // 3. The outbox: triggers are committed with the state, then published, then cleared.
    await deps.afterStateWrite?.(cameraId);
    await deps.publisher.publish(state.outbox);
    result.triggers.push(...triggers);
    state.outbox = [];
    // Clearing is best effort: if another writer got in first, it republishes the same triggerIds.
    const cleared = await deps.store.save(cameraId, state, version, nowMs);
    result.writes++;
    if (!cleared.ok) result.conflicts++;
    return;
  }
}
