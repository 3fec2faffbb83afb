// The bounded chaos run on a local moto server (`npm run chaos` is its CLI). A seeded fleet sends
// metric events (with producer duplicates and some bad input) to the ingest queue; the local
// event-source mapping drives the real ingest handler, whose own SDK clients get random faults
// (DynamoDB throttling, 5xx, lost responses and conflicts; PutEvents partial failures, 5xx and lost
// responses; dead-letter throttling; Firehose throttling and 5xx on the history; crashes after the
// state write). Afterwards it checks the
// contract from the outside: every valid event sent is in its camera's window exactly once (lost
// must be 0); once the outbox sweep has run as the deployed schedule would, every episode the states
// record as published has its triggers on the bus and no suppressed one has any (read through the
// catch-all tap rule; lib/core/episode-audit.ts); every bad part is in the dead-letter queue; every
// applied event is in the metric history (moto's S3 after the local delivery) once after dedup. Then it
// measures what the guarantees cost in DynamoDB writes, fault-free (write-cost.ts). Stops all it started.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { BatchResult } from '../app/ingest-batch.js';
import { sweepOutboxes } from '../app/outbox-sweep.js';
import { CameraStateStore } from '../adapters/state-store.js';
import { TriggerPublisher } from '../adapters/trigger-publisher.js';
import type { CameraState } from '../core/camera-state.js';
import { auditEpisodes, type EpisodeAudit } from '../core/episode-audit.js';
import { idTag } from '../core/stream-window.js';
import { driftPolicy, parsePolicy } from '../core/policy.js';
import { parseBody } from '../core/metric-event.js';
import { DEAD_LETTER_ATTRIBUTES, HISTORY, OUTBOX_SWEEP } from '../resources.js';
import { crashable, injectFaults, seededRandom } from '../local/faults.js';
import { startMoto, type MotoServer } from '../local/moto-server.js';
import { createLocalStack, functionEnv, localClientConfig, type LocalStack } from '../local/local-stack.js';
import { LocalEventSourceMapping } from '../local/event-source-mapping.js';
import { drainQueue, queueDepth } from '../local/queues.js';
import { S3Client } from '@aws-sdk/client-s3';
import { readHistory } from '../history/reader.js';
import { deliverLocalHistory } from '../local/history-delivery.js';
import { CHAOS_BASE_MS, chaosFaultRules, chaosFleet, chaosMessages, groupByCamera } from './chaos-fleet.js';
import { measureWriteCost, type WriteCost } from './write-cost.js';

export interface ChaosOptions {
  seed: number;
  cameras: number;
  /** Chance of a fault per AWS call of the handler. */
  faultRate: number;
  /** Measure the fault-free write cost afterwards (default true). */
  writeCost?: boolean;
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
  /** Messages SQS moved to the dead-letter queue after maxReceiveCount receives (parked intact). */
  messagesParked: number;
  /** Episodes whose trigger was published, and suppressed ones (by cooldown, silence, retrain in flight). */
  episodesPublished: number;
  episodesSuppressed: number;
  /** Distinct triggerIds the published episodes call for (firing, and AlertResolved once closed). */
  triggersExpected: number;
  uniqueTriggers: number;
  triggersMissing: number;
  triggersUnexpected: number;
  duplicateTriggerDeliveries: number;
  rejected: number;
}

export interface ChaosResult {
  /** What bench/chaos.json holds. */
  summary: ChaosSummary;
  extra: Record<string, number | Record<string, number>>;
  /** Each contract check and whether it held. */
  checks: Record<string, boolean>;
  /** The triggers on the bus against the episodes the states record; findings name each triggerId. */
  audit: EpisodeAudit;
  /** Absent when not asked for (ChaosOptions.writeCost false). */
  writeCost?: WriteCost;
}

async function faultedRun(
  opts: ChaosOptions,
  stack: LocalStack,
  clients: { sqs: SQSClient; ddb: DynamoDBClient; eventBridge: EventBridgeClient },
) {
  const { sqs, ddb } = clients;
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
    injectFaults(fn.clients.firehose, rules.firehose, faultRandom),
  ];
  const tally = { applied: 0, duplicates: 0, tooLate: 0, writes: 0, conflicts: 0, historyDropped: 0 };
  const onBatchResult = (r: BatchResult) => {
    tally.applied += r.applied;
    tally.duplicates += r.duplicates;
    tally.tooLate += r.tooLate;
    tally.writes += r.writes;
    tally.conflicts += r.conflicts;
    tally.historyDropped += r.history?.dropped ?? 0;
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

    // The outbox sweep, as the deployed schedule runs it (fault-free, past its grace period): it
    // publishes triggers a committed write decided and no invocation published (a message parked by
    // SQS, or a clearing write that conflicted).
    const store = new CameraStateStore(ddb, stack.tableName);
    const swept = await sweepOutboxes(
      { store, publisher: new TriggerPublisher(clients.eventBridge, stack.eventBusName) },
      {
        nowMs: Date.now() + OUTBOX_SWEEP.graceSeconds * 1000 + 1,
        graceMs: OUTBOX_SWEEP.graceSeconds * 1000,
        maxCameras: 1000,
      },
    );

    // lost: valid events sent that are not in their camera's window (each stream holds all it was sent).
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
    // Triggers: every episode the states record as published has its triggers on the bus, and no
    // suppressed one has any; duplicates carry the same triggerId.
    const bus = (await drainQueue(sqs, stack.tapQueueUrl)).map((m) => {
      const event = JSON.parse(m.Body!) as { 'detail-type': string; detail: { triggerId: string; episodeId: string } };
      return { ...event.detail, detailType: event['detail-type'] };
    });
    const deliveries = new Map<string, number>();
    for (const t of bus) deliveries.set(t.triggerId, (deliveries.get(t.triggerId) ?? 0) + 1);
    const audit = auditEpisodes(states, bus, (detector) => policy.detectors.find((d) => d.id === detector)!.action);
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
    const sentBodies = new Set(order);
    const history = await historyCheck(stack, appliedIds, parkedIds, new Set(events.map((e) => e.id)));

    const sent = events.length;
    const totalDeliveries = [...deliveries.values()].reduce((a, b) => a + b, 0);
    const summary: ChaosSummary = {
      sent,
      applied,
      duplicatesIgnored: tally.duplicates,
      lost: sent - applied - parked,
      messagesParked: redriven.length,
      episodesPublished: audit.episodes.published,
      episodesSuppressed: Object.values(audit.episodes.suppressed).reduce((a, b) => a + (b ?? 0), 0),
      triggersExpected: audit.expected,
      uniqueTriggers: deliveries.size,
      triggersMissing: audit.missing.length,
      triggersUnexpected: audit.unexpected.length,
      duplicateTriggerDeliveries: totalDeliveries - deliveries.size,
      rejected: rejectedParts.size,
    };
    const faultsInjected: Record<string, number> = {};
    for (const inj of injectors) Object.assign(faultsInjected, inj.counters.injected);
    const checks = {
      'every valid event applied or parked in the dead-letter queue (lost = 0)': summary.lost === 0,
      'no event counted twice': doubled === 0,
      'every published episode has its triggers on the bus, no suppressed one has any':
        audit.missing.length === 0 && audit.unexpected.length === 0 && audit.episodes.unrecorded === 0,
      'every outbox empty after the outbox sweep': outboxLeft === 0 && swept.failed.length === 0,
      'every bad part dead-lettered with its reason': rejectedParts.size === badSent,
      // Parking is the redrive path working (a message failed maxReceiveCount times), not a loss.
      'every message parked by SQS redrive is intact (a body that was sent)': redriven.every((m) =>
        sentBodies.has(m.Body ?? ''),
      ),
      // The metric history: every applied event in S3 exactly once after dedup by id, and nothing else.
      '0 events missing from the history (every applied event stored, once after dedup)':
        history.missing === 0 && history.unknown === 0,
    };
    return {
      summary,
      audit,
      extra: {
        episodesSuppressedBy: audit.episodes.suppressed as Record<string, number>,
        outboxTriggersSwept: swept.published,
        messagesSent: order.length,
        badPartsSent: badSent,
        parkedBySqsRedrive: parked,
        outboxLeft,
        handlerApplied: tally.applied,
        tooLate: tally.tooLate,
        stateWrites: tally.writes,
        conflicts: tally.conflicts,
        historyStored: history.stored,
        historyMissing: history.missing,
        historyAwaitingRedrive: history.awaitingRedrive,
        historyStoredTwice: history.storedTwice,
        historyDroppedCounted: tally.historyDropped,
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
    fn.clients.firehose.destroy();
  }
}

/**
 * Delivers what moto's Firehose received (the local stand-in for Firehose's delivery), reads the whole
 * history back and compares it with the applied events: missing ones, ids never sent, and events stored
 * more than once (a redelivered message records its events again: dedup by id removes them). An event
 * applied by a receive that then failed, of a message SQS finally parked, was never accepted: the
 * history gets it when the message is redriven (counted apart, not missing).
 */
async function historyCheck(stack: LocalStack, applied: Set<string>, parked: Set<string>, sentIds: Set<string>) {
  const s3 = new S3Client({ ...localClientConfig(stack.endpoint), forcePathStyle: true });
  try {
    await deliverLocalHistory(s3, stack.historyBucket!);
    const ids: string[] = [];
    for await (const batch of readHistory({ s3, bucket: stack.historyBucket!, prefix: HISTORY.eventsPrefix }))
      for (const e of batch) ids.push(e.id);
    const stored = new Set(ids);
    const absent = [...applied].filter((id) => !stored.has(id));
    return {
      stored: stored.size,
      missing: absent.filter((id) => !parked.has(id)).length,
      awaitingRedrive: absent.filter((id) => parked.has(id)).length,
      unknown: [...stored].filter((id) => !sentIds.has(id)).length,
      storedTwice: ids.length - stored.size,
    };
  } finally {
    s3.destroy();
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
    const clients = { sqs: new SQSClient(cfg), ddb: new DynamoDBClient(cfg), eventBridge: new EventBridgeClient(cfg) };
    let run: Awaited<ReturnType<typeof faultedRun>>;
    try {
      run = await faultedRun(opts, stack, clients);
    } finally {
      for (const c of Object.values(clients)) c.destroy();
    }
    if (opts.writeCost === false) return run;
    return { ...run, writeCost: await measureWriteCost(stack, THRESHOLD) };
  } finally {
    await moto?.stop();
  }
}
