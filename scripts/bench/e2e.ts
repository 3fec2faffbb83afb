// (5) End to end through the local stack: producers send packed messages to the moto ingest queue,
// the local event-source mapping (several pollers) drives the real handler (functions/ingest.ts),
// state lands in DynamoDB. Events lost = events sent − events in messages the handler acknowledged;
// every camera's stored state is then checked against what was sent (newest time, full windows).
// Run as its own process (`tsx scripts/bench/e2e.ts --events N`) so its peak RSS is its own.
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { DEDUP_DEPTH, parseStreamKey } from '../../lib/core/camera-state.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { createLocalStack, functionEnv, localClientConfig } from '../../lib/local/local-stack.js';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { startMoto } from '../../lib/local/moto-server.js';
import { queueDepth } from '../../lib/local/queues.js';
import { DEFAULT_POLICY, windowSizes } from '../../lib/core/policy.js';
import { INGEST } from '../../lib/resources.js';
import { Fleet, type Message } from './workload.js';

export interface E2eOptions {
  events: number;
  eventsPerMessage: number;
  cameras: number;
  pollers: number;
  timeoutMs: number;
}
export interface E2eResult {
  e2eEvents: number;
  e2eEventsLost: number;
  e2eEventsPerSec: number;
  seconds: number;
  messages: number;
  invocations: number;
  failedRecords: number;
  deadLettered: number;
  stateMismatches: number;
  peakRssMb: number;
  timedOut: boolean;
}

const SQS_BATCH_BYTES = 256 * 1024;

export async function runE2e(o: E2eOptions): Promise<E2eResult> {
  const moto = await startMoto();
  const cfg = localClientConfig(moto.endpoint);
  const sqs = new SQSClient(cfg),
    ddb = new DynamoDBClient(cfg);
  let mapping: LocalEventSourceMapping | undefined;
  try {
    const stack = await createLocalStack(moto.endpoint, { stage: 'bench-e2e', visibilityTimeoutSeconds: 300 });
    Object.assign(process.env, functionEnv(stack));
    const { handler } = await import('../../functions/ingest.js');

    const messages = Math.ceil(o.events / o.eventsPerMessage);
    const fleet = new Fleet({
      cameras: o.cameras,
      eventsPerMessage: o.eventsPerMessage,
      messagesPerBatch: o.cameras,
      batches: Math.ceil(messages / o.cameras),
      prefix: 'e2e',
      seed: 21,
    });
    const eventsOf = new Map<string, number>();
    let acknowledged = 0,
      sent = 0;
    const counted = async (event: SQSEvent) => {
      const r = await handler(event);
      const failed = new Set(r.batchItemFailures.map((f) => f.itemIdentifier));
      for (const rec of event.Records) {
        if (failed.has(rec.messageId) || !eventsOf.has(rec.messageId)) continue;
        acknowledged += eventsOf.get(rec.messageId)!;
        eventsOf.delete(rec.messageId); // a redelivered message counts once
      }
      return r;
    };
    mapping = new LocalEventSourceMapping(sqs, counted, {
      queueUrl: stack.ingestQueueUrl,
      batchSize: INGEST.batchSize,
      maxBatchingWindowMs: 500,
      pollers: o.pollers,
      waitTimeSeconds: 1,
    }).start();

    const t0 = performance.now();
    // Producers: messages generated lazily, grouped into SendMessageBatch calls under 256 KB.
    function* groups(): Generator<Message[]> {
      let group: Message[] = [],
        bytes = 0;
      for (let made = 0; made < messages; made++) {
        const m = fleet.message(
          made % o.cameras,
          Math.min(o.eventsPerMessage, o.events - made * o.eventsPerMessage),
          made / messages,
        );
        const size = Buffer.byteLength(m.body);
        if (group.length === 10 || (group.length > 0 && bytes + size > SQS_BATCH_BYTES)) {
          yield group;
          group = [];
          bytes = 0;
        }
        group.push(m);
        bytes += size;
      }
      if (group.length > 0) yield group;
    }
    const source = groups();
    const producer = async () => {
      for (let g = source.next(); !g.done; g = source.next()) {
        const group = g.value;
        const r = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: stack.ingestQueueUrl,
            Entries: group.map((m, i) => ({ Id: String(i), MessageBody: m.body })),
          }),
        );
        if ((r.Failed ?? []).length > 0) throw new Error(`send failed: ${JSON.stringify(r.Failed)}`);
        for (const s of r.Successful ?? []) {
          const m = group[Number(s.Id)]!;
          eventsOf.set(s.MessageId!, m.events);
          sent += m.events;
        }
      }
    };
    await Promise.all(Array.from({ length: 3 }, producer));

    const deadline = Date.now() + o.timeoutMs;
    while (acknowledged < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const seconds = (performance.now() - t0) / 1000;
    const timedOut = acknowledged < sent;
    await mapping.stop();

    const deadLettered = await queueDepth(sqs, stack.deadLetterQueueUrl);

    // State check: each camera's newest stored time is its last event sent, and every window is full.
    let stateMismatches = 0;
    const sizes = windowSizes(DEFAULT_POLICY); // the handler's fallback policy: no policy is stored
    const cameras = Array.from({ length: Math.min(o.cameras, messages) }, (_, i) => fleet.cameraId(i));
    const store = new CameraStateStore(ddb, stack.tableName);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < cameras.length) {
          const id = cameras[next++]!;
          const { state } = await store.load(id);
          const clock = fleet.clockOf(id)!;
          const streams = Object.entries(state.streams);
          const newest = Math.max(...streams.map(([, es]) => es[es.length - 1]?.ts ?? -Infinity));
          const expectedLength = (key: string) =>
            Math.min(Math.ceil(clock.n / 5), Math.max(DEDUP_DEPTH, sizes[parseStreamKey(key).metric] ?? 0));
          const ok =
            newest === clock.t &&
            streams.length === Math.min(5, clock.n) &&
            streams.every(([k, es]) => es.length === expectedLength(k));
          if (!ok) stateMismatches++;
        }
      }),
    );
    return {
      e2eEvents: sent,
      e2eEventsLost: sent - acknowledged,
      e2eEventsPerSec: acknowledged / seconds,
      seconds,
      messages,
      invocations: mapping.counters.invocations,
      failedRecords: mapping.counters.failedRecords,
      deadLettered,
      stateMismatches,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      timedOut,
    };
  } finally {
    await mapping?.stop();
    sqs.destroy();
    ddb.destroy();
    await moto.stop();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const result = await runE2e({
    events: arg('events', 1_000_000),
    eventsPerMessage: arg('per-message', 250),
    cameras: arg('cameras', 1000),
    pollers: arg('pollers', 4),
    timeoutMs: arg('timeout-s', 600) * 1000,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
