// The whole-history backtest as it was before the streaming engine (lib/replay): every event in memory,
// every camera's history cut in slices, slices in event-time order across the fleet, cohort signals after
// each slice. Kept as the oracle the engine's equality tests compare with (test/unit/replay-engine.test.ts).
import { applyCohortSignals, emptyCohortOutcome } from '../../lib/app/cohort-signals.js';
import { InMemoryCohortStore } from '../../lib/adapters/cohort-memory.js';
import { applyEvents, emptyState, type CameraState, type CohortContext } from '../../lib/core/camera-state.js';
import { AFFECTED_REFRESH_MS, cohortPriorOf, type CohortSignal } from '../../lib/core/cohort.js';
import type { MetricEvent } from '../../lib/core/metric-event.js';
import { triggerSubject, type Trigger } from '../../lib/core/trigger.js';
import type { PolicyFor } from '../../lib/replay/engine.js';

export interface ReferenceResult {
  triggers: Trigger[];
  totals: { events: number; applied: number; duplicates: number; late: number; tooLate: number; suppressed: number };
  states: Map<string, CameraState>;
}

export async function referenceBacktest(
  events: readonly MetricEvent[],
  policyFor: PolicyFor,
  opts: { cohorts?: boolean; nowMs?: number } = {},
): Promise<ReferenceResult> {
  const byCamera = new Map<string, MetricEvent[]>();
  for (const e of events) {
    const list = byCamera.get(e.camera_id) ?? [];
    list.push(e);
    byCamera.set(e.camera_id, list);
  }
  const slices = new Map<string, Map<number, MetricEvent[]>>();
  for (const [cameraId, list] of byCamera) {
    list.sort((a, b) => a.ts - b.ts);
    const bySlice = new Map<number, MetricEvent[]>();
    for (const e of list) {
      const k = Math.floor(e.ts / AFFECTED_REFRESH_MS);
      const s = bySlice.get(k) ?? [];
      s.push(e);
      bySlice.set(k, s);
    }
    slices.set(cameraId, bySlice);
  }
  const totals = { events: events.length, applied: 0, duplicates: 0, late: 0, tooLate: 0, suppressed: 0 };
  const triggers: Trigger[] = [];
  const pending: CohortSignal[] = [];
  const cohorts = new InMemoryCohortStore();
  const withCohorts = opts.cohorts !== false;
  const context: CohortContext | undefined = withCohorts
    ? {
        epochOf: () => undefined,
        priorOf: (modelVersion, modality, metric) => {
          const p = cohortPriorOf(cohorts.headOf({ modelVersion, modality }))[metric];
          return p && { mean: p.mean, sigma: p.sigma, n: p.n };
        },
      }
    : undefined;
  const states = new Map<string, CameraState>([...slices.keys()].map((id) => [id, emptyState()]));
  const order = [...new Set([...slices.values()].flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
  const published: Trigger[] = [];
  const outcome = emptyCohortOutcome();
  for (const k of order) {
    for (const [cameraId, bySlice] of slices) {
      const list = bySlice.get(k);
      if (!list) continue;
      const state = states.get(cameraId)!;
      const r = applyEvents(state, list, (modality) => policyFor(cameraId, modality), context);
      triggers.push(...r.triggers);
      totals.applied += r.stats.applied;
      totals.duplicates += r.stats.duplicates;
      totals.late += r.stats.late;
      totals.tooLate += r.stats.tooLate;
      for (const n of Object.values(r.stats.suppressed)) totals.suppressed += n ?? 0;
      if (state.signals) pending.push(...state.signals);
      delete state.signals;
    }
    const signals = pending.splice(0);
    if (!withCohorts) continue;
    signals.sort((a, b) => a.rec.l - b.rec.l || a.cameraId.localeCompare(b.cameraId) || a.rec.q - b.rec.q);
    await applyCohortSignals(
      signals,
      { cohorts, publisher: { publish: async (ts) => void published.push(...ts) }, policyFor },
      opts.nowMs ?? Date.now(),
      outcome,
    );
  }
  totals.suppressed += outcome.suppressed;
  const seen = new Set(triggers.map((t) => t.detail.triggerId));
  for (const t of published)
    if (!seen.has(t.detail.triggerId)) {
      seen.add(t.detail.triggerId);
      triggers.push(t);
    }
  triggers.sort(
    (x, y) =>
      x.detail.lastEventAt.localeCompare(y.detail.lastEventAt) ||
      triggerSubject(x.detail).localeCompare(triggerSubject(y.detail)) ||
      String(x.detail.detector ?? '').localeCompare(String(y.detail.detector ?? '')),
  );
  return { triggers, totals, states };
}
