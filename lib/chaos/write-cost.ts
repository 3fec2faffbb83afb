// What the delivery guarantees cost in DynamoDB, fault-free: PutItem calls per batch for new,
// redelivered and trigger-deciding batches, and the item bytes the dedup memory adds.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ingestBatch, type IngestRecord } from '../app/ingest-batch.js';
import { CameraStateStore, cameraItem } from '../adapters/state-store.js';
import { TriggerPublisher } from '../adapters/trigger-publisher.js';
import { DeadLetterQueue } from '../adapters/dead-letter.js';
import { itemSizeBytes } from '../adapters/item-size.js';
import { DEDUP_DEPTH, emptyState, type CameraState } from '../core/camera-state.js';
import { DEFAULT_POLICY, driftPolicy, windowSizes } from '../core/policy.js';
import { METRICS, MODALITIES } from '../core/metric-event.js';
import { injectFaults } from '../local/faults.js';
import { localClientConfig, type LocalStack } from '../local/local-stack.js';
import { CHAOS_BASE_MS } from './chaos-fleet.js';

export interface WriteCost {
  putItemPerBatch: {
    newEvents: number;
    redelivered: number;
    halfDuplicate: number;
    decidesTrigger: number;
    whileFiring: number;
  };
  itemBytes: {
    oneModality: { withDedupMemory: number; windowsOnly: number };
    allModalities: { withDedupMemory: number; windowsOnly: number };
  };
  perEventIdempotencyRecordsWouldAdd: number;
}

/** Fault-free: DynamoDB writes per batch for new events, redelivered events and batches that decide a trigger. */
export async function measureWriteCost(stack: LocalStack, threshold: number): Promise<WriteCost> {
  const cfg = localClientConfig(stack.endpoint);
  const ddb = new DynamoDBClient(cfg);
  const eb = new EventBridgeClient(cfg);
  const sqs = new SQSClient(cfg);
  const counter = injectFaults(ddb, []);
  const policy = driftPolicy(10, threshold);
  const deps = {
    store: new CameraStateStore(ddb, stack.tableName),
    publisher: new TriggerPublisher(eb, stack.eventBusName),
    deadLetters: new DeadLetterQueue(sqs, stack.deadLetterQueueUrl),
    policy: () => policy,
  };
  let n = 0;
  const batch = (cam: string, values: number[], t0: number): IngestRecord[] => [
    {
      messageId: `wc-${n++}`,
      body: JSON.stringify(
        values.map((value, k) => ({
          id: `00000000-0000-4000-a000-${(n * 100 + k).toString(16).padStart(12, '0')}`,
          timestamp: new Date(CHAOS_BASE_MS + (t0 + k) * 1000).toISOString(),
          camera_id: cam,
          modality: 'Rgb',
          metric: 'DriftScore',
          value,
        })),
      ),
    },
  ];
  const puts = async (records: IngestRecord[]) => {
    const before = counter.counters.succeeded.PutItem ?? 0;
    await ingestBatch(records, deps);
    return (counter.counters.succeeded.PutItem ?? 0) - before;
  };
  try {
    const fresh = batch('wc-cam', Array(10).fill(0.1), 0);
    const newEvents = await puts(fresh);
    const redelivered = await puts(fresh);
    const halfDuplicate = await puts([...fresh, ...batch('wc-cam', Array(10).fill(0.1), 10)]);
    const decidesTrigger = await puts(batch('wc-cam', Array(10).fill(0.95), 20));
    const whileFiring = await puts(batch('wc-cam', Array(10).fill(0.95), 30));
    return {
      putItemPerBatch: { newEvents, redelivered, halfDuplicate, decidesTrigger, whileFiring },
      itemBytes: {
        oneModality: { withDedupMemory: itemBytes(['Rgb'], true), windowsOnly: itemBytes(['Rgb'], false) },
        allModalities: { withDedupMemory: itemBytes(MODALITIES, true), windowsOnly: itemBytes(MODALITIES, false) },
      },
      perEventIdempotencyRecordsWouldAdd: 10,
    };
  } finally {
    ddb.destroy();
    eb.destroy();
    sqs.destroy();
  }
}

/**
 * Item size: what the dedup memory adds under the fleet default policy. Streams a window detector
 * reads hold max(DEDUP_DEPTH, window) entries with values; others DEDUP_DEPTH keys only. Without
 * dedup memory they would hold the window only (and other streams nothing).
 */
function itemBytes(modalities: readonly string[], dedup: boolean): number {
  const windows = windowSizes(DEFAULT_POLICY);
  const state: CameraState = {
    ...emptyState(),
    alerts: { 'drift-window-mean@Rgb': { f: false, e: 3 } },
    mv: { Rgb: 'model-v12' },
  };
  for (const m of modalities)
    for (const metric of METRICS) {
      const w = windows[metric] ?? 0;
      const len = dedup ? Math.max(DEDUP_DEPTH, w) : w;
      if (len > 0)
        state.streams[`${m}.${metric}`] = Array.from({ length: len }, (_, k) => ({
          ts: CHAOS_BASE_MS + k * 1000,
          tag: k,
          value: w > 0 ? 0.5 : NaN,
        }));
    }
  return itemSizeBytes(cameraItem('cam-0001', state, 12345, CHAOS_BASE_MS));
}
