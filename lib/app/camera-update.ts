// The one way camera state changes: load → mutate (pure) → conditional write carrying the new
// triggers in the outbox → publish → clear the outbox. Shared by ingest and the model lifecycle.
// A camera's plain cohort registrations are applied after the write without being stored in it.
import type { CameraState } from '../core/camera-state.js';
import type { Trigger } from '../core/trigger.js';
import { backoffMs, sleep } from '../core/retry.js';
import type { StateStore, TriggerSink } from './ports.js';
import type { CohortSignal } from '../core/cohort.js';
import type { CohortOutcome } from './cohort-signals.js';

/** Applies a camera's committed member records to their cohorts (lib/app/cohort-signals.ts). */
export type CohortSignalApplier = (signals: readonly CohortSignal[], nowMs: number) => Promise<CohortOutcome>;

export interface CameraUpdateDeps {
  store: StateStore;
  publisher: TriggerSink;
  /** Conditional-write attempts before giving up (the caller fails the records for redelivery). */
  maxWriteAttempts?: number;
  /**
   * Applies cohort member records from the outbox after the state write. Without it (a deployment with
   * no fleet decisions) records are not kept.
   */
  cohortSignals?: CohortSignalApplier;
}

export interface Mutation<R> {
  /** Whether the state changed and must be written. */
  changed: boolean;
  triggers: Trigger[];
  result: R;
}

export interface UpdateOutcome<R> {
  result: R;
  /** Triggers decided by this update (now published). */
  triggers: Trigger[];
  /** Every trigger published, older outbox entries included. */
  published: Trigger[];
  writes: number;
  conflicts: number;
  /** What applying the camera's cohort signals did (when it had any). */
  cohort?: CohortOutcome;
}

export class StateConflictError extends Error {
  constructor(cameraId: string, attempts: number) {
    super(`state of camera ${cameraId} kept changing under us: ${attempts} conditional writes conflicted`);
    this.name = 'StateConflictError';
  }
}

/**
 * Applies `mutate` to the camera's current state until a conditional write succeeds (bounded).
 * `mutate` gets a freshly decoded state on every attempt and must depend on nothing else.
 * Triggers are committed with the state (the outbox), so a crash before publishing is repaired by
 * the next update of the camera (or the outbox sweep).
 */
export async function updateCamera<R>(
  cameraId: string,
  mutate: (state: CameraState) => Mutation<R>,
  deps: CameraUpdateDeps,
  nowMs: number,
): Promise<UpdateOutcome<R>> {
  const maxAttempts = deps.maxWriteAttempts ?? 5;
  let writes = 0,
    conflicts = 0;
  let current = await deps.store.load(cameraId);
  for (let attempt = 1; ; attempt++) {
    // Each attempt works on a freshly decoded state (a conflict returns the current item), so no copy.
    const state = current.state;
    const pending = state.outbox;
    // What the stored item holds for after the write: a left-over outbox is published and cleared.
    let stored = pending.length > 0 || (state.signals?.length ?? 0) > 0;
    const m = mutate(state);
    // Without a cohort applier nothing would read the records: keep them out of the item.
    if (!deps.cohortSignals) delete state.signals;
    state.outbox = [...pending, ...m.triggers];
    const signals = state.signals ?? [];
    // A plain registration is not stored: made from the committed state, it is made again from it when
    // the camera's messages come back (ingest-batch.ts), so it needs neither the pending-outbox index
    // entry nor a clearing write. Every other record rides in the outbox (docs/fleet-decisions.md).
    const outboxSignals = signals.length > 0 ? signals.filter((s) => !s.reg) : signals;
    if (outboxSignals.length > 0) state.signals = outboxSignals;
    else delete state.signals;
    let version = current.version;
    if (m.changed || m.triggers.length > 0) {
      const saved = await deps.store.save(cameraId, state, current.version, nowMs);
      writes++;
      if (!saved.ok) {
        conflicts++;
        if (attempt >= maxAttempts) throw new StateConflictError(cameraId, attempt);
        current = saved.current;
        await sleep(backoffMs(attempt));
        continue;
      }
      version = saved.version;
      stored = state.outbox.length > 0 || outboxSignals.length > 0;
    }
    const published = state.outbox;
    let cohort: CohortOutcome | undefined;
    if (published.length > 0) await deps.publisher.publish(published);
    if (signals.length > 0 && deps.cohortSignals) cohort = await deps.cohortSignals(signals, nowMs);
    if (stored) {
      state.outbox = [];
      delete state.signals;
      // Clearing is best effort: if another writer got in first, it republishes the same triggerIds.
      const cleared = await deps.store.save(cameraId, state, version, nowMs);
      writes++;
      if (!cleared.ok) conflicts++;
    }
    return { result: m.result, triggers: m.triggers, published, writes, conflicts, ...(cohort ? { cohort } : {}) };
  }
}
