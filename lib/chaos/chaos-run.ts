// The bounded chaos run on a local moto server (`npm run chaos` is its CLI). A seeded fleet sends
// metric events (with producer duplicates and some bad input) to the ingest queue; the local
// event-source mapping drives the real ingest handler, whose own SDK clients get random faults
// (DynamoDB throttling, 5xx, lost responses and conflicts; PutEvents partial failures, 5xx and lost
// responses; dead-letter throttling; crashes after the state write). Afterwards it checks the
// contract from the outside: every valid event sent is in its camera's window exactly once (lost
// must be 0), every episode in the state has its trigger on the bus (read through the catch-all tap
// rule), every bad part is in the dead-letter queue. Then it measures what the guarantees cost in
// DynamoDB writes, fault-free (write-cost.ts). Stops all it started.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { BatchResult } from '../app/ingest-batch.js';
import { CameraStateStore } from '../adapters/state-store.js';
import type { CameraState } from '../core/camera-state.js';
import { idTag } from '../core/stream-window.js';
import { episodeId, triggerId } from '../core/trigger.js';
import { driftPolicy, parsePolicy } from '../core/policy.js';
import { parseBody } from '../core/metric-event.js';
import { DEAD_LETTER_ATTRIBUTES } from '../resources.js';
import { crashable, injectFaults, seededRandom } from '../local/faults.js';
import { startMoto, type MotoServer } from '../local/moto-server.js';
import { createLocalStack, functionEnv, localClientConfig, type LocalStack } from '../local/local-stack.js';
import { LocalEventSourceMapping } from '../local/event-source-mapping.js';
import { drainQueue, queueDepth } from '../local/queues.js';
import { CHAOS_BASE_MS, chaosFaultRules, chaosFleet, chaosMessages, groupByCamera } from './chaos-fleet.js';
import { measureWriteCost, type WriteCost } from './write-cost.js';

export interface ChaosOptions {
  seed: number;
  cameras: number;
  /** Chance of a fault per AWS call of the handler. */
  faultRate: number;
}

export const CHAOS_DEFAULTS: ChaosOptions = { seed: 1, cameras: 40, faultRate: 0.05 };

const WINDOW = 3;
const THRESHOLD = 0.7;
const DEADLINE_MS = 180_000;

export interface ChaosSummary {
  sent: number;
  applied: number;
  duplicatesIgnored: number;
  lost: number;
  uniqueTriggers: number;
  duplicateTriggerDeliveries: number;
  rejected: number;
}

export interface ChaosResult {
  /** What bench/chaos.json holds. */
  summary: ChaosSummary;
  extra: Record<string, number | Record<string, number>>;
  /** Each contract check and whether it held. */
  checks: Record<string, boolean>;
  writeCost: WriteCost;
}

async function faultedRun(opts: ChaosOptions, stack: LocalStack, sqs: SQSClient, ddb: DynamoDBClient) {
  const rand = seededRandom(opts.seed);
  // The original drift detector; every episode published (no cooldown, retrain-in-flight hold of 1 ms).
  const policy = parsePolicy({ ...driftPolicy(WINDOW, THRESHOLD), inFlightTimeoutSeconds: 0.001 });
  Object.assign(process.env, functionEnv(stack), { DEFAULT_POLICY: JSON.stringify(policy) });
  const fn = await import('../../functions/ingest.js');
  const faultRandom = seededRandom(opts.seed ^ 0xc4a05);
  const rules = chaosFaultRules(opts.faultRate);
  const injectors = [
    injectFaults(fn.clients.dynamodb, rules.dynamodb, faultRandom),
    injectFaults(fn.clients.eventBridge, rules.eventBridge, faultRandom),
    injectFaults(fn.clients.sqs, rules.sqs, faultRandom),
  ];
  const tally = { applied: 0, duplicates: 0, tooLate: 0, writes: 0, conflicts: 0 };
  const onBatchResult = (r: BatchResult) => {
    tally.applied += r.applied;
    tally.duplicates += r.duplicates;
    tally.tooLate += r.tooLate;
    tally.writes += r.writes;
    tally.conflicts += r.conflicts;
  };
  const mapping = new LocalEventSourceMapping(sqs, crashable(fn.createIngestHandler({ onBatchResult })), {
    queueUrl: stack.ingestQueueUrl,
    batchSize: 10,
    maxBatchingWindowMs: 100,
    pollers: 4,
    waitTimeSeconds: 1,
  });

  try {
    const events = chaosFleet(opts.seed, opts.cameras, rand);
    const { bodies: order, badParts: badSent } = chaosMessages(events, rand);
    const byCamera = groupByCamera(events);

    mapping.start();
    for (let i = 0; i < order.length; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.ingestQueueUrl,
          Entries: order.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })),
        }),
      );
    }
    const started = Date.now();
    // Settled: the ingest queue is empty for two consecutive looks.
    let empty = 0;
    while (empty < 2) {
      if (Date.now() - started > DEADLINE_MS)
        throw new Error(`chaos run did not settle within ${DEADLINE_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
      empty = (await queueDepth(sqs, stack.ingestQueueUrl)) === 0 ? empty + 1 : 0;
    }
    await mapping.stop();

    // lost: valid events sent that are not in their camera's window (each stream holds all it was sent).
    const store = new CameraStateStore(ddb, stack.tableName);
    const states = new Map<string, CameraState>();
    for (const cam of byCamera.keys()) states.set(cam, (await store.load(cam)).state);
    let applied = 0,
      doubled = 0;
    for (const e of events) {
      const entries = states.get(e.camera)?.streams[e.stream] ?? [];
      const hits = entries.filter((x) => x.ts === e.ts && x.tag === idTag(e.id)).length;
      if (hits >= 1) applied++;
      if (hits > 1) doubled++;
    }
    // Triggers: every episode in the state must be on the bus; duplicates carry the same triggerId.
    const tap = await drainQueue(sqs, stack.tapQueueUrl);
    const deliveries = new Map<string, number>();
    for (const m of tap) {
      const id = JSON.parse(m.Body!).detail.triggerId as string;
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    }
    const expectedTriggers = new Set<string>();
    for (const [cam, state] of states) {
      for (const [key, alert] of Object.entries(state.alerts)) {
        const [detector, modality] = key.split('@') as [string, 'Rgb'];
        for (let e = 1; e <= alert.e; e++) {
          const episode = episodeId(cam, modality, detector, e);
          expectedTriggers.add(triggerId(episode, 'RetrainingRequested'));
          // Every episode but a still firing last one has resolved.
          if (e < alert.e || !alert.f) expectedTriggers.add(triggerId(episode, 'AlertResolved'));
        }
      }
    }
    const missingTriggers = [...expectedTriggers].filter((id) => !deliveries.has(id)).length;
    const unexpectedTriggers = [...deliveries.keys()].filter((id) => !expectedTriggers.has(id)).length;
    const outboxLeft = [...states.values()].reduce((n, s) => n + s.outbox.length, 0);
    // Dead letters: ours carry a reason; a redelivered message may dead-letter its bad part again.
    const letters = await drainQueue(sqs, stack.deadLetterQueueUrl);
    const reasoned = letters.filter((m) => m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]);
    const rejectedParts = new Set(
      reasoned.map(
        (m) =>
          `${m.MessageAttributes![DEAD_LETTER_ATTRIBUTES.sourceMessageId]!.StringValue}#${m.MessageAttributes![DEAD_LETTER_ATTRIBUTES.index]?.StringValue ?? ''}`,
      ),
    );
    // Messages SQS itself moved after maxReceiveCount failed receives: parked intact, not lost
    // (redriving them is harmless, applying an event twice has no effect).
    const redriven = letters.filter((m) => !m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]);
    const parkedIds = new Set(
      redriven.flatMap((m) => parseBody(m.Body ?? '', CHAOS_BASE_MS + 86_400_000).events.map((e) => e.id)),
    );
    const appliedIds = new Set(
      events
        .filter((e) =>
          (states.get(e.camera)?.streams[e.stream] ?? []).some((x) => x.ts === e.ts && x.tag === idTag(e.id)),
        )
        .map((e) => e.id),
    );
    const parked = events.filter((e) => !appliedIds.has(e.id) && parkedIds.has(e.id)).length;

    const sent = events.length;
    const totalDeliveries = [...deliveries.values()].reduce((a, b) => a + b, 0);
    const summary: ChaosSummary = {
      sent,
      applied,
      duplicatesIgnored: tally.duplicates,
      lost: sent - applied - parked,
      uniqueTriggers: deliveries.size,
      duplicateTriggerDeliveries: totalDeliveries - deliveries.size,
      rejected: rejectedParts.size,
    };
    const faultsInjected: Record<string, number> = {};
    for (const inj of injectors) Object.assign(faultsInjected, inj.counters.injected);
    const checks = {
      'every valid event applied or parked in the dead-letter queue (lost = 0)': summary.lost === 0,
      'no event counted twice': doubled === 0,
      'every episode has its trigger on the bus': missingTriggers === 0 && unexpectedTriggers === 0,
      // An outbox is flushed by the next invocation for its camera; a parked message may leave one.
      'every outbox empty (or its camera has a parked message)': outboxLeft === 0 || redriven.length > 0,
      'every bad part dead-lettered with its reason': rejectedParts.size === badSent,
      'no message parked by SQS redrive (expected at the default fault rate)':
        redriven.length === 0 || opts.faultRate > 0.05,
    };
    return {
      summary,
      extra: {
        messagesSent: order.length,
        badPartsSent: badSent,
        parkedBySqsRedrive: parked,
        messagesParked: redriven.length,
        outboxLeft,
        handlerApplied: tally.applied,
        tooLate: tally.tooLate,
        stateWrites: tally.writes,
        conflicts: tally.conflicts,
        ...mapping.counters,
        faultsInjected,
      },
      checks,
    };
  } finally {
    await mapping.stop();
    for (const inj of injectors) inj.remove();
    fn.clients.dynamodb.destroy();
    fn.clients.eventBridge.destroy();
    fn.clients.sqs.destroy();
  }
}

/**
 * Starts moto, runs the faulted run and the write-cost measurement, stops moto. One run per process:
 * the ingest handler module reads its environment once. `onStarted` hears the endpoint once moto is up.
 */
export async function runChaos(
  opts: ChaosOptions = CHAOS_DEFAULTS,
  onStarted?: (endpoint: string) => void,
): Promise<ChaosResult> {
  let moto: MotoServer | undefined;
  try {
    moto = await startMoto();
    const stack = await createLocalStack(moto.endpoint, { stage: 'chaos', visibilityTimeoutSeconds: 1 });
    onStarted?.(moto.endpoint);
    const cfg = localClientConfig(moto.endpoint);
    const sqs = new SQSClient(cfg),
      ddb = new DynamoDBClient(cfg);
    let run: Awaited<ReturnType<typeof faultedRun>>;
    try {
      run = await faultedRun(opts, stack, sqs, ddb);
    } finally {
      sqs.destroy();
      ddb.destroy();
    }
    return { ...run, writeCost: await measureWriteCost(stack, THRESHOLD) };
  } finally {
    await moto?.stop();
  }
}
