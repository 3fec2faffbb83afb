// The ingest use case with in-memory adapters (camera states, cohorts, bus): a fleet's deliveries in
// arrival order, ten messages per batch as the event-source mapping sends them. Fast enough for seed sweeps
// of fleet decisions (test/unit/fleet-watermarks.test.ts) and the bench's watermark delay.
import { InMemoryCohortStore } from '../adapters/cohort-memory.js';
import { CohortEpochCache } from '../adapters/cohort-store.js';
import { cohortSignalApplier } from '../app/cohort-signals.js';
import { ingestBatch, type IngestDeps, type IngestRecord } from '../app/ingest-batch.js';
import type { Policy } from '../core/policy.js';
import type { Trigger } from '../core/trigger.js';
import { MemoryStateStore } from './memory-state-store.js';

export interface InMemoryFleet {
  deps: IngestDeps;
  store: MemoryStateStore;
  cohorts: InMemoryCohortStore;
  /** Distinct triggers published, in publication order (consumers dedupe by triggerId). */
  triggers: Trigger[];
  totals: { events: number; applied: number; duplicates: number; late: number; tooLate: number };
  /** Delivers messages in this order, `batchSize` per ingest batch. */
  deliver(records: readonly IngestRecord[], batchSize?: number): Promise<void>;
}

export function inMemoryFleet(policy: Policy): InMemoryFleet {
  const store = new MemoryStateStore();
  const cohorts = new InMemoryCohortStore();
  const seen = new Set<string>();
  const triggers: Trigger[] = [];
  const publisher = {
    publish: async (ts: readonly Trigger[]) => {
      for (const t of ts) if (!seen.has(t.detail.triggerId)) seen.add(t.detail.triggerId) && triggers.push(t);
    },
  };
  // Heads re-read every batch (a deployed container caches them 30 s).
  const cache = new CohortEpochCache(cohorts, 0);
  const deps: IngestDeps = {
    store,
    publisher,
    deadLetters: { send: async () => new Set<string>() },
    policy: () => policy,
    cohortSignals: cohortSignalApplier({
      cohorts,
      publisher,
      policy: () => policy,
      onHead: (c, h) => cache.remember(c, h),
    }),
    cohortEpochs: cache,
  };
  const totals = { events: 0, applied: 0, duplicates: 0, late: 0, tooLate: 0 };
  return {
    deps,
    store,
    cohorts,
    triggers,
    totals,
    async deliver(records, batchSize = 10) {
      for (let i = 0; i < records.length; i += batchSize) {
        const r = await ingestBatch(records.slice(i, i + batchSize), deps);
        if (r.failedMessageIds.length > 0) throw new Error(`batch failed: ${JSON.stringify(r.cameraErrors)}`);
        totals.events += r.events;
        totals.applied += r.applied;
        totals.duplicates += r.duplicates;
        totals.late += r.late;
        totals.tooLate += r.tooLate;
      }
    },
  };
}
