// (1) The ingest use case in one process: parse + validate + group + apply + state encode/decode,
// through ingestBatch itself with an in-memory store that keeps the encoded item (so every batch
// pays decode and encode as on DynamoDB). Floor: JSON.parse of the very same bodies.
import { randomUUID } from 'node:crypto';
import { ingestBatch, type IngestDeps, type IngestRecord } from '../../lib/app/ingest-batch.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import type { Trigger } from '../../lib/core/trigger.js';
import { MemoryStateStore } from '../../lib/local/memory-state-store.js';
import { Fleet, WORKLOAD_NOW_MS, type FleetOptions } from './workload.js';

/** In-memory ports: the store keeps each camera's state encoded, as the table does. */
function memoryDeps() {
  const store = new MemoryStateStore();
  const published: Trigger[] = [];
  const deps: IngestDeps = {
    store,
    publisher: {
      publish: async (t) => {
        published.push(...t);
      },
    },
    deadLetters: { send: async () => new Set<string>() },
    policy: () => DEFAULT_POLICY,
    now: () => WORKLOAD_NOW_MS,
  };
  return { deps, store, published };
}

export interface InProcessResult {
  events: number;
  handlerEventsPerSec: number;
  floorEventsPerSec: number;
  writesPerCameraBatch: number;
  triggers: number;
}

const toRecords = (batch: { body: string }[]): IngestRecord[] =>
  batch.map((m) => ({ messageId: randomUUID(), body: m.body }));

/**
 * Best of `rounds` timed passes for the handler path and for the floor, interleaved so that load
 * from other processes on the machine hits both alike.
 */
export async function benchInProcess(opts: FleetOptions, rounds = 3): Promise<InProcessResult> {
  const batches = [...new Fleet(opts).batches()].map(toRecords);
  const events = batches.length * opts.messagesPerBatch * opts.eventsPerMessage;
  const cameraBatches = batches.length * Math.min(opts.messagesPerBatch, opts.cameras);

  // Warm-up so the JIT has seen the path; every timed pass then starts from empty state.
  const warm = memoryDeps();
  for (const b of batches.slice(0, 3)) await ingestBatch(b, warm.deps);

  let bestHandlerNs = Infinity,
    bestFloorNs = Infinity,
    writes = 0,
    triggers = 0,
    sink = 0;
  for (let round = 0; round < rounds; round++) {
    const { deps, store, published } = memoryDeps();
    let applied = 0;
    const t0 = process.hrtime.bigint();
    for (const b of batches) applied += (await ingestBatch(b, deps)).applied;
    bestHandlerNs = Math.min(bestHandlerNs, Number(process.hrtime.bigint() - t0));
    if (applied !== events) throw new Error(`in-process run applied ${applied} of ${events} events`);
    writes = store.writes;
    triggers = published.length;

    const t1 = process.hrtime.bigint();
    for (const b of batches) for (const r of b) sink += (JSON.parse(r.body) as unknown[]).length;
    bestFloorNs = Math.min(bestFloorNs, Number(process.hrtime.bigint() - t1));
  }
  if (sink !== events * rounds) throw new Error('floor parsed a different number of events');

  return {
    events,
    handlerEventsPerSec: events / (bestHandlerNs / 1e9),
    floorEventsPerSec: events / (bestFloorNs / 1e9),
    writesPerCameraBatch: writes / cameraBatches,
    triggers,
  };
}
